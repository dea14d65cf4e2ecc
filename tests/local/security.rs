//! Security promises of the CLI without AWS: a header secret never reaches any output, plain
//! http to a non-loopback host needs an explicit opt-in, and redirects never carry credentials
//! to another host.

use crate::support::guarded::{guarded_server, random_secret, Seen, FAILING_BODY};
use crate::support::{read_request_head, run_cli};
use tokio::io::AsyncWriteExt;

/// A recording server on a chosen address (any loopback, or 0.0.0.0), stopped when dropped.
pub struct Recorder {
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A server on `bind` that records every request head and answers `status` with `body` and
/// any `extra` headers (`Location: …`).
pub async fn recording_server(
    bind: &str,
    status: u16,
    extra: String,
    body: &'static str,
) -> (Recorder, Seen) {
    let seen: Seen = Seen::default();
    let listener = tokio::net::TcpListener::bind(bind).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let record = seen.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let record = record.clone();
            let extra = extra.clone();
            tokio::spawn(async move {
                let head = read_request_head(&mut stream).await;
                record.lock().unwrap().push(head);
                let response = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (Recorder { addr, task }, seen)
}

/// Runs the CLI off the async runtime (the servers above keep serving meanwhile).
pub async fn cli(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run_cli(&args, &env)
    })
    .await
    .expect("CLI thread")
}

fn write_config(dir: &tempfile::TempDir, json: &serde_json::Value) -> String {
    let path = dir.path().join("canary.json");
    std::fs::write(&path, serde_json::to_vec_pretty(json).unwrap()).unwrap();
    path.to_string_lossy().into_owned()
}

/// An address nothing listens on: a transport failure whose error path must not leak either.
fn closed_address() -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn header_secret_never_appears_in_console_json_logs_or_emf() {
    let secret = random_secret();
    let (guarded, guarded_seen) =
        guarded_server(vec![format!("authorization: bearer {secret}")]).await;
    let closed = closed_address();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        &dir,
        &serde_json::json!({
            "canary": "security-local",
            "targets": [
                {"name": "guarded", "url": guarded.url("/api/health/system"),
                 "headers": {"Authorization": "Bearer ${CANARY_TEST_SECRET}",
                             "X-Api-Key": "${CANARY_TEST_SECRET}"}},
                {"name": "unreachable", "url": format!("http://{closed}/health"),
                 "headers": {"Authorization": "Bearer ${CANARY_TEST_SECRET}"}}
            ]
        }),
    );
    let env = [
        ("CANARY_TEST_SECRET", secret.as_str()),
        ("RUST_LOG", "trace"),
    ];
    let runs: Vec<Vec<&str>> = vec![
        vec!["-vv", "check", "--config", &config],
        vec!["-vv", "check", "--config", &config, "--json"],
        vec!["-vv", "check", "--config", &config, "--emf"],
        vec!["-vv", "check", "--config", &config, "--json", "--emf"],
    ];
    for args in &runs {
        let out = cli(args, &env).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        // The run really happened: the watched service failed (exit 1) and was reported.
        assert_eq!(out.status.code(), Some(1), "{args:?}\n{stdout}\n{stderr}");
        assert!(stdout.contains("market_data"), "{args:?}: {stdout}");
        assert!(
            !stdout.contains(&secret),
            "secret leaked to stdout with {args:?}:\n{stdout}"
        );
        assert!(
            !stderr.contains(&secret),
            "secret leaked to stderr with {args:?}:\n{stderr}"
        );
        assert!(!stderr.is_empty(), "-vv with RUST_LOG=trace logs something");
    }
    // The secret did go over the wire (so its absence above means something).
    let heads = guarded_seen.lock().unwrap().clone();
    assert_eq!(heads.len(), runs.len());
    for head in heads {
        assert!(head.contains(&format!("Bearer {secret}")), "{head}");
        assert!(head.contains(&secret), "{head}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_in_the_url_goes_on_the_wire_and_is_shown_only_as_its_reference() {
    let secret = random_secret();
    let (guarded, guarded_seen) = guarded_server(vec![format!("?sig={secret} http/1.1")]).await;
    let closed = closed_address();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        &dir,
        &serde_json::json!({"canary": "security-url", "targets": [
            {"name": "guarded", "url": guarded.url("/api/health/system?sig=${CANARY_TEST_SECRET}")},
            {"name": "unreachable", "retries": 0,
             "url": format!("http://{closed}/health/${{CANARY_TEST_SECRET}}?sig=${{CANARY_TEST_SECRET}}")}
        ]}),
    );
    let env = [
        ("CANARY_TEST_SECRET", secret.as_str()),
        ("RUST_LOG", "trace"),
    ];
    for extra in [&[][..], &["--json"][..], &["--emf"][..]] {
        let mut args = vec!["-vv", "check", "--config", &config];
        args.extend_from_slice(extra);
        let out = cli(&args, &env).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{extra:?}\n{stdout}\n{stderr}");
        assert!(
            !stdout.contains(&secret),
            "{extra:?}: secret in stdout:\n{stdout}"
        );
        assert!(
            !stderr.contains(&secret),
            "{extra:?}: secret in stderr:\n{stderr}"
        );
        if extra == ["--json"] {
            let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON report");
            assert_eq!(
                report["targets"][0]["url"],
                guarded.url("/api/health/system?sig=${CANARY_TEST_SECRET}")
            );
            assert_eq!(report["targets"][0]["status"], "FAIL");
            let reason = report["targets"][1]["reason"].as_str().unwrap_or_default();
            assert!(reason.contains("connection refused"), "{reason}");
        }
    }
    let heads = guarded_seen.lock().unwrap().clone();
    assert_eq!(heads.len(), 3);
    assert!(heads
        .iter()
        .all(|h| h.contains(&format!("?sig={secret} HTTP/1.1"))));
}

/// An IPv4 address of this machine that is not loopback, if it has one.
fn non_loopback_ipv4() -> Option<std::net::IpAddr> {
    // Connecting a UDP socket sends nothing; it only asks the kernel which source it would use.
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.1:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_http_to_a_non_loopback_host_needs_an_explicit_opt_in() {
    let ip = non_loopback_ipv4().expect("this machine has a non-loopback IPv4 address");
    let (server, seen) =
        recording_server("0.0.0.0:0", 200, String::new(), r#"{"status":"UP"}"#).await;
    let url = format!("http://{ip}:{}/health", server.addr.port());
    let dir = tempfile::tempdir().unwrap();
    let refused = write_config(
        &dir,
        &serde_json::json!({"targets": [{"name": "plain", "url": url}]}),
    );
    let dir2 = tempfile::tempdir().unwrap();
    let opted_in = write_config(
        &dir2,
        &serde_json::json!({"targets": [{"name": "plain", "url": url, "allow_http": true}]}),
    );
    // (args, expected exit code, stderr must contain)
    let cases: Vec<(Vec<String>, i32, Option<String>)> = vec![
        (
            vec!["check".into(), "--url".into(), url.clone()],
            2,
            Some(format!("plain http to '{ip}' is refused")),
        ),
        (
            vec!["check".into(), "--config".into(), refused.clone()],
            2,
            Some("set \"allow_http\": true on the target (--allow-http on the CLI)".into()),
        ),
        (
            vec![
                "check".into(),
                "--url".into(),
                url.clone(),
                "--allow-http".into(),
            ],
            0,
            None,
        ),
        (
            vec![
                "check".into(),
                "--config".into(),
                refused,
                "--allow-http".into(),
            ],
            0,
            None,
        ),
        (vec!["check".into(), "--config".into(), opted_in], 0, None),
    ];
    let mut probed = 0;
    for (args, code, message) in cases {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = cli(&a, &[]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        match message {
            Some(m) => assert!(stderr.contains(&m), "{args:?}: {stderr}"),
            None => probed += 1,
        }
        // Refused runs never touch the network; allowed ones probe exactly once.
        assert_eq!(seen.lock().unwrap().len(), probed, "{args:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn redirects_to_another_host_are_not_followed_and_carry_no_secrets() {
    let secret = random_secret();
    // Where the redirects point: another loopback address, the same address by another name,
    // and another port on the same address. Each records what reached it.
    let (other_ip, other_ip_seen) =
        recording_server("127.0.0.2:0", 200, String::new(), FAILING_BODY).await;
    let (other_port, other_port_seen) =
        recording_server("127.0.0.1:0", 200, String::new(), FAILING_BODY).await;
    let cases = [
        (
            format!("http://127.0.0.2:{}/health", other_ip.addr.port()),
            other_ip_seen.clone(),
            "redirect to another host (127.0.0.2) not followed",
        ),
        (
            format!("http://localhost:{}/health", other_port.addr.port()),
            other_port_seen.clone(),
            "redirect to another host (localhost) not followed",
        ),
    ];
    for (location, seen, reason) in cases {
        let (origin, origin_seen) =
            recording_server("127.0.0.1:0", 302, format!("Location: {location}\r\n"), "").await;
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(
            &dir,
            &serde_json::json!({"canary": "security-redirect", "targets": [{
                "name": "redirected", "retries": 0,
                "url": format!("http://{}/health", origin.addr),
                "headers": {"Authorization": "Bearer ${CANARY_TEST_SECRET}",
                            "X-Api-Key": "${CANARY_TEST_SECRET}"}}]}),
        );
        let out = cli(
            &["check", "--config", &config, "--json"],
            &[("CANARY_TEST_SECRET", &secret)],
        )
        .await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{location}: {stdout}");
        let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON report");
        assert_eq!(report["targets"][0]["status"], "FAIL", "{location}");
        assert!(
            report["targets"][0]["reason"]
                .as_str()
                .unwrap_or_default()
                .contains(reason),
            "{location}: {}",
            report["targets"][0]["reason"]
        );
        assert_eq!(origin_seen.lock().unwrap().len(), 1, "{location}");
        assert!(origin_seen.lock().unwrap()[0].contains(&secret));
        assert!(
            seen.lock().unwrap().is_empty(),
            "{location} was contacted: {:?}",
            seen.lock().unwrap()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn redirect_to_another_port_carries_no_configured_header_secret() {
    // Same host name, another port (another server): the probe follows it as the same host, so
    // every configured header (all of them are secrets) must stay behind, not just Authorization.
    let secret = random_secret();
    let (other_port, other_port_seen) =
        recording_server("127.0.0.1:0", 200, String::new(), FAILING_BODY).await;
    let (origin, origin_seen) = recording_server(
        "127.0.0.1:0",
        302,
        format!(
            "Location: http://127.0.0.1:{}/health\r\n",
            other_port.addr.port()
        ),
        "",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        &dir,
        &serde_json::json!({"canary": "security-redirect", "targets": [{
            "name": "redirected", "retries": 0,
            "url": format!("http://{}/health", origin.addr),
            "headers": {"Authorization": "Bearer ${CANARY_TEST_SECRET}",
                        "X-Api-Key": "${CANARY_TEST_SECRET}"}}]}),
    );
    let out = cli(
        &["check", "--config", &config, "--json"],
        &[("CANARY_TEST_SECRET", &secret)],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains(&secret));
    assert_eq!(origin_seen.lock().unwrap().len(), 1);
    let reached = other_port_seen.lock().unwrap().clone();
    for head in &reached {
        assert!(
            !head.contains(&secret),
            "a header secret followed a redirect to another port:\n{head}"
        );
    }
}
