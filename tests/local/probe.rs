//! Probing through the built CLI against local servers: the harness the hostile and TLS cases
//! share (config files, wall time and peak RSS of the CLI), plus retries, redirects and headers.

use crate::support::{read_request_head, serve_raw, SampleService, Scenario, TestServer};
use health_canary::check::probe::ProbeError;
use serde_json::{json, Value};
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

/// What one CLI run produced.
pub struct Checked {
    pub exit: i32,
    pub report: Value,
    pub stderr: String,
    pub wall: Duration,
    /// Peak resident set size of the CLI process, in KiB (`ru_maxrss` from `wait4`).
    pub peak_rss_kib: i64,
}

impl Checked {
    /// The target named `name` in the JSON report.
    pub fn target(&self, name: &str) -> &Value {
        self.report["targets"]
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["name"] == name))
            .unwrap_or_else(|| panic!("no target {name} in {}", self.report))
    }

    /// `(status, reason)` of a target.
    pub fn verdict(&self, name: &str) -> (String, String) {
        let t = self.target(name);
        (
            t["status"].as_str().unwrap_or_default().to_string(),
            t["reason"].as_str().unwrap_or_default().to_string(),
        )
    }
}

/// Runs the CLI with `args`, measuring wall time and peak RSS; no `CANARY_*`/`AWS_*` inherited.
pub async fn run_measured(args: Vec<String>) -> Checked {
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(crate::support::canary_bin());
        cmd.args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, _) in std::env::vars() {
            if k.starts_with("CANARY_") || k.starts_with("AWS_") {
                cmd.env_remove(k);
            }
        }
        let start = Instant::now();
        let mut child = cmd.spawn().expect("spawn health-canary");
        let pid = child.id() as libc::pid_t;
        let mut out = child.stdout.take().expect("stdout");
        let mut err = child.stderr.take().expect("stderr");
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        let mut stdout = String::new();
        let _ = out.read_to_string(&mut stdout);
        let mut status: libc::c_int = 0;
        // SAFETY: plain FFI call on our own child's pid with valid out-pointers; std's Child is
        // not waited on afterwards (it is dropped), so the pid is reaped exactly once.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        assert_eq!(rc, pid, "wait4");
        let wall = start.elapsed();
        let stderr = reader.join().unwrap_or_default();
        let exit = if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -1
        };
        let report = serde_json::from_str(&stdout).unwrap_or(Value::Null);
        drop(child);
        Checked {
            exit,
            report,
            stderr,
            wall,
            peak_rss_kib: usage.ru_maxrss,
        }
    })
    .await
    .expect("join")
}

/// Runs `check --config FILE --json` with `config` written to a temporary file.
pub async fn check(config: Value) -> Checked {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("canary.json");
    std::fs::write(&path, config.to_string()).expect("write config");
    let checked = run_measured(vec![
        "check".into(),
        "--config".into(),
        path.display().to_string(),
        "--json".into(),
    ])
    .await;
    drop(dir);
    checked
}

/// A target entry: timeout 2 s, no confirmation retry (each case sets what it tests).
pub fn target(name: &str, url: &str) -> Value {
    json!({"name": name, "url": url, "timeout_seconds": 2, "retries": 0})
}

/// A config of `targets`.
pub fn config(targets: Vec<Value>) -> Value {
    json!({"canary": "probe-tests", "targets": targets})
}

/// A healthy component map body, for the raw servers that misbehave around it.
pub const HEALTHY_BODY: &str =
    r#"{"global_status":"PASS","market_data":{"status":"PASS","fresh_symbols":33}}"#;

/// The sample service, healthy: the neighbour that must stay PASS beside a hostile server.
pub async fn healthy() -> SampleService {
    crate::support::sample_service(Scenario::Healthy).await
}

/// Asserts the healthy neighbour was judged normally.
pub fn assert_healthy_neighbour(c: &Checked) {
    let t = c.target("neighbour");
    assert_eq!(t["status"], "PASS", "{t}");
    assert_eq!(t["http_status"], 200, "{t}");
    assert_eq!(t["components"][0]["name"], "market_data", "{t}");
    assert_eq!(t["components"][0]["status"], "PASS", "{t}");
}

/// Writes a complete response with `Content-Length` and closes.
pub async fn respond(stream: &mut tokio::net::TcpStream, status: u16, extra: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status} X\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body).await;
    let _ = stream.shutdown().await;
}

/// A server answering 503 to the first `failures` requests, then 200 healthy; counts requests.
async fn flaky(failures: usize) -> (TestServer, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let server = serve_raw(move |mut s| {
        let n = seen.fetch_add(1, Ordering::SeqCst);
        async move {
            read_request_head(&mut s).await;
            if n < failures {
                respond(&mut s, 503, "Content-Type: text/plain\r\n", b"busy").await;
            } else {
                respond(
                    &mut s,
                    200,
                    "Content-Type: application/json\r\n",
                    HEALTHY_BODY.as_bytes(),
                )
                .await;
            }
        }
    })
    .await;
    (server, count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirmation_retry_rescues_a_transient_503() {
    let (server, count) = flaky(1).await;
    let mut t = target("flaky", &server.url("/health"));
    t["retries"] = json!(1);
    t["retry_delay_ms"] = json!(200);
    let c = check(config(vec![t])).await;
    let t = c.target("flaky");
    println!("{t:#}");
    assert_eq!(c.exit, 0, "{}", c.report);
    assert_eq!(t["status"], "PASS", "{t}");
    assert_eq!(t["attempts"], 2, "{t}");
    assert_eq!(t["http_status"], 200, "{t}");
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirmation_retry_that_sees_the_503_again_fails() {
    let (server, count) = flaky(usize::MAX).await;
    let mut t = target("down", &server.url("/health"));
    t["retries"] = json!(1);
    t["retry_delay_ms"] = json!(200);
    let c = check(config(vec![t])).await;
    let t = c.target("down");
    assert_eq!(c.exit, 1);
    assert_eq!(t["status"], "FAIL", "{t}");
    assert_eq!(t["attempts"], 2, "{t}");
    assert!(
        t["reason"]
            .as_str()
            .unwrap_or_default()
            .starts_with("HTTP 503 (expected 2xx)"),
        "{t}"
    );
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_zero_makes_exactly_one_attempt() {
    let (server, count) = flaky(1).await;
    let c = check(config(vec![target("once", &server.url("/health"))])).await;
    let t = c.target("once");
    assert_eq!(t["status"], "FAIL", "{t}");
    assert_eq!(t["reason"], "HTTP 503 (expected 2xx)", "{t}");
    assert_eq!(t["attempts"], 1, "{t}");
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_retry_confirms_a_refused_connection_once_more() {
    let port = closed_port().await;
    let url = format!("http://127.0.0.1:{port}/health");
    let c = check(config(vec![
        json!({"name": "gone", "url": url, "retry_delay_ms": 100}),
    ]))
    .await;
    assert_eq!(
        c.verdict("gone"),
        ("FAIL".into(), "connection refused".into())
    );
    assert_eq!(c.target("gone")["attempts"], 2);
}

/// A port nothing listens on (bound, then released).
pub async fn closed_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    port
}

/// Records every request head a server receives, answering with `respond_with`.
async fn recording(
    respond_with: impl Fn(&str) -> (u16, String, Vec<u8>) + Send + Sync + 'static,
) -> (TestServer, Arc<Mutex<Vec<String>>>) {
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    let respond_with = Arc::new(respond_with);
    let server = serve_raw(move |mut s| {
        let seen = seen.clone();
        let respond_with = respond_with.clone();
        async move {
            let head = read_request_head(&mut s).await;
            let (status, extra, body) = respond_with(&head);
            seen.lock().expect("lock").push(head);
            respond(&mut s, status, &extra, &body).await;
        }
    })
    .await;
    (server, heads)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_method_headers_and_user_agent() {
    let (server, heads) = recording(|_| {
        (
            200,
            "Content-Type: application/json\r\n".into(),
            HEALTHY_BODY.into(),
        )
    })
    .await;
    let mut t = target("hdr", &server.url("/health?verbose=1"));
    t["headers"] = json!({"Authorization": "Bearer s3cret-token", "X-Probe": "yes"});
    t["method"] = json!("POST");
    let c = check(config(vec![t])).await;
    assert_eq!(c.verdict("hdr").0, "PASS", "{}", c.report);
    let heads = heads.lock().expect("lock");
    let head = heads[0].to_ascii_lowercase();
    assert!(
        head.starts_with("post /health?verbose=1 http/1.1"),
        "{head}"
    );
    assert!(
        head.contains("authorization: bearer s3cret-token"),
        "{head}"
    );
    assert!(head.contains("x-probe: yes"), "{head}");
    assert!(
        head.contains(&format!(
            "user-agent: health-canary/{}",
            env!("CARGO_PKG_VERSION")
        )),
        "{head}"
    );
    assert!(
        head.contains("accept: application/health+json, application/json;q=0.9, */*;q=0.8"),
        "{head}"
    );
    assert!(!c.stderr.contains("s3cret"), "{}", c.stderr);
    assert!(!c.report.to_string().contains("s3cret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_up_to_five_redirects_on_the_same_host() {
    let (server, heads) = recording(|head| {
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
        match path.strip_prefix("/r/").and_then(|n| n.parse::<u32>().ok()) {
            Some(n) if n < 5 => (302, format!("Location: /r/{}\r\n", n + 1), Vec::new()),
            _ => (
                200,
                "Content-Type: application/json\r\n".into(),
                HEALTHY_BODY.into(),
            ),
        }
    })
    .await;
    let c = check(config(vec![target("hops", &server.url("/r/0"))])).await;
    let t = c.target("hops");
    assert_eq!(t["status"], "PASS", "{t}");
    assert_eq!(t["http_status"], 200, "{t}");
    assert_eq!(heads.lock().expect("lock").len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sixth_redirect_is_too_many() {
    let (server, heads) = recording(|head| {
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
        let n: u32 = path.trim_start_matches("/r/").parse().unwrap_or(0);
        (302, format!("Location: /r/{}\r\n", n + 1), Vec::new())
    })
    .await;
    let c = check(config(vec![target("hops", &server.url("/r/0"))])).await;
    assert_eq!(
        c.verdict("hops"),
        ("FAIL".into(), "too many redirects (more than 5)".into())
    );
    assert_eq!(heads.lock().expect("lock").len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_loop_is_named_as_such() {
    let (server, _) = recording(|head| {
        let to = if head.starts_with("GET /a ") {
            "/b"
        } else {
            "/a"
        };
        (302, format!("Location: {to}\r\n"), Vec::new())
    })
    .await;
    let c = check(config(vec![target("loop", &server.url("/a"))])).await;
    assert_eq!(
        c.verdict("loop"),
        (
            "FAIL".into(),
            "redirect loop (/b redirects back to a URL already visited)".into()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_to_another_host_is_not_followed_and_the_token_stays_home() {
    let (elsewhere, elsewhere_heads) = recording(|_| {
        (
            200,
            "Content-Type: application/json\r\n".into(),
            HEALTHY_BODY.into(),
        )
    })
    .await;
    let location = format!("http://localhost:{}/steal", elsewhere.addr.port());
    let (server, _) =
        recording(move |_| (302, format!("Location: {location}\r\n"), Vec::new())).await;
    let neighbour = healthy().await;
    let mut t = target("redir", &server.url("/health"));
    t["headers"] = json!({"Authorization": "Bearer s3cret-token"});
    let c = check(config(vec![t, target("neighbour", &neighbour.url())])).await;
    println!("{:#}", c.target("redir"));
    assert_eq!(
        c.verdict("redir"),
        (
            "FAIL".into(),
            "redirect to another host (localhost) not followed".into()
        )
    );
    assert!(elsewhere_heads.lock().expect("lock").is_empty());
    assert_healthy_neighbour(&c);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_a_remote_host_is_refused_unless_allowed() {
    let c = run_measured(vec![
        "check".into(),
        "--url".into(),
        "http://canary-test.invalid/health".into(),
        "--json".into(),
    ])
    .await;
    assert_eq!(c.exit, 2);
    assert!(
        c.stderr
            .contains("plain http to 'canary-test.invalid' is refused"),
        "{}",
        c.stderr
    );
    let c = run_measured(vec![
        "check".into(),
        "--url".into(),
        "http://canary-test.invalid/health".into(),
        "--allow-http".into(),
        "--json".into(),
    ])
    .await;
    assert_eq!(c.exit, 1);
    assert_eq!(
        c.verdict("canary-test.invalid"),
        (
            "FAIL".into(),
            "DNS lookup failed for canary-test.invalid".into()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_to_another_port_is_not_followed_and_no_header_travels() {
    let (elsewhere, elsewhere_heads) = recording(|_| {
        (
            200,
            "Content-Type: application/json\r\n".into(),
            HEALTHY_BODY.into(),
        )
    })
    .await;
    let port = elsewhere.addr.port();
    let (server, heads) = recording(move |_| {
        (
            302,
            format!("Location: http://127.0.0.1:{port}/health\r\n"),
            Vec::new(),
        )
    })
    .await;
    let mut t = target("redir", &server.url("/health"));
    t["headers"] = json!({"X-Api-Key": "k3y-s3cret"});
    let c = check(config(vec![t])).await;
    assert_eq!(
        c.verdict("redir"),
        (
            "FAIL".into(),
            format!("redirect to another port (127.0.0.1:{port}) not followed")
        )
    );
    assert!(heads.lock().expect("lock")[0].contains("k3y-s3cret"));
    assert!(elsewhere_heads.lock().expect("lock").is_empty());
}

/// A validated target for `url` from a JSON target entry, as the config loader builds it.
fn load_target(entry: Value) -> health_canary::check::config::Target {
    let json = json!({"targets": [entry]}).to_string();
    let cfg = health_canary::check::config::load(
        None,
        Some(&json),
        &health_canary::check::config::Overrides::default(),
        &|_| None,
    )
    .expect("valid config");
    cfg.targets[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_exactly_at_the_cap_is_read_and_one_byte_more_is_not() {
    let client = health_canary::check::probe::build_client().expect("client");
    for (len, want) in [
        (4096usize, Ok(4096usize)),
        (4097, Err(ProbeError::BodyTooLarge { cap: 4096 })),
    ] {
        let server = crate::support::serve_fixed(200, "text/plain", vec![b'x'; len]).await;
        let mut entry = target("cap", &server.url("/h"));
        entry["max_body_bytes"] = json!(4096);
        let outcome = health_canary::check::probe::probe(&client, &load_target(entry)).await;
        assert_eq!(outcome.attempts, 1);
        assert!(outcome.latency_ms.is_some());
        assert_eq!(outcome.cert_days_remaining, None);
        let response = outcome.result.expect("a response");
        assert_eq!(response.status, 200);
        assert_eq!(response.content_type.as_deref(), Some("text/plain"));
        let got = response.body.as_ref().map(Vec::len).map_err(Clone::clone);
        assert_eq!(got, want, "{len}");
        if let Err(e) = got {
            assert_eq!(e.to_string(), "body exceeds 4 KiB");
            assert!(!e.is_transient(), "a body over the cap is not retried");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_requests_send_head_and_read_no_body() {
    let (server, heads) =
        recording(|_| (200, "Content-Type: text/plain\r\n".into(), Vec::new())).await;
    let mut entry = target("head", &server.url("/"));
    entry["method"] = json!("HEAD");
    let client = health_canary::check::probe::build_client().expect("client");
    let outcome = health_canary::check::probe::probe(&client, &load_target(entry)).await;
    let response = outcome.result.expect("a response");
    assert_eq!(response.status, 200);
    assert_eq!(response.body, Ok(Vec::new()));
    assert!(heads.lock().expect("lock")[0].starts_with("HEAD / HTTP/1.1"));
}
