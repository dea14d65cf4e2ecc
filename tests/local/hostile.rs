//! The hostile-endpoint catalogue: servers that refuse, stall, drip, flood, bomb or lie, each run
//! through the CLI beside a healthy neighbour that must stay PASS. Every case asserts status,
//! reason, a bounded wall time and, for the size cases, the CLI's peak RSS.

use crate::probe::{
    assert_healthy_neighbour, check, closed_port, config, healthy, respond, target, Checked,
};
use crate::support::{read_request_head, serve_fixed, serve_raw, TestServer};
use serde_json::json;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Generous bound on a run whose hostile target has a 2 s timeout and no retry.
const WALL: Duration = Duration::from_secs(10);
/// Peak RSS allowed to the CLI for the size, bomb and flood cases (measured: 12-18 MiB).
const RSS_KIB: i64 = 32 * 1024;

/// Probes `url` as target `hostile` beside a healthy neighbour.
async fn hostile(url: String) -> Checked {
    hostile_with(target("hostile", &url)).await
}

async fn hostile_with(t: serde_json::Value) -> Checked {
    let neighbour = healthy().await;
    let c = check(config(vec![t, target("neighbour", &neighbour.url())])).await;
    println!(
        "hostile: {:?} in {:?}, peak RSS {} KiB",
        c.verdict("hostile"),
        c.wall,
        c.peak_rss_kib
    );
    assert!(c.wall < WALL, "took {:?}", c.wall);
    assert_eq!(c.exit, 1, "{}\n{}", c.report, c.stderr);
    assert_healthy_neighbour(&c);
    c
}

fn reason(c: &Checked) -> String {
    let (status, reason) = c.verdict("hostile");
    assert_eq!(status, "FAIL", "{}", c.report);
    reason
}

/// Accepts, reads the request, then runs `then` on the socket.
async fn after_request<F, Fut>(then: F) -> TestServer
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let then = std::sync::Arc::new(then);
    serve_raw(move |mut s| {
        let then = then.clone();
        async move {
            read_request_head(&mut s).await;
            then(s).await;
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused_is_named() {
    let port = closed_port().await;
    let c = hostile(format!("http://127.0.0.1:{port}/health")).await;
    assert_eq!(reason(&c), "connection refused");
    assert_eq!(c.target("hostile")["attempts"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_failure_names_the_host() {
    let c = hostile("https://no-such-host.invalid/health".into()).await;
    assert_eq!(reason(&c), "DNS lookup failed for no-such-host.invalid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_timeout_when_the_accept_backlog_is_full() {
    // A listener that never accepts, with its backlog filled by our own connections: the
    // kernel then drops further SYNs, so the canary's connect hangs until its deadline.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.1:0".parse().expect("addr"))
        .expect("bind");
    let listener = socket.listen(0).expect("listen");
    let addr = listener.local_addr().expect("addr");
    let mut fillers = Vec::new();
    let mut full = false;
    for _ in 0..64 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(s) => fillers.push(s),
            Err(_) => {
                full = true;
                break;
            }
        }
    }
    assert!(
        full,
        "the backlog never filled: cannot provoke a connect timeout here"
    );
    let mut t = target("hostile", &format!("http://{addr}/health"));
    t["timeout_seconds"] = json!(1);
    let c = hostile_with(t).await;
    assert_eq!(reason(&c), "connect timed out after 1s");
    drop(fillers);
    drop(listener);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silence_after_the_request_times_out_waiting_for_headers() {
    let server = after_request(|s| async move {
        let _held_open = s;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let c = hostile(server.url("/health")).await;
    assert_eq!(
        reason(&c),
        "timed out after 2s waiting for response headers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_then_stall_times_out_reading_the_body() {
    let server = after_request(|mut s| async move {
        let _ = s
            .write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n",
            )
            .await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let c = hostile(server.url("/health")).await;
    assert_eq!(
        reason(&c),
        "timed out after 2s reading the body (0 bytes received)"
    );
    assert_eq!(c.target("hostile")["http_status"], 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_body_dripping_a_byte_a_second_times_out() {
    let server = after_request(|mut s| async move {
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
            .await;
        for _ in 0..1000 {
            if s.write_all(b" ").await.is_err() {
                return;
            }
            let _ = s.flush().await;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
    .await;
    let mut t = target("hostile", &server.url("/health"));
    t["timeout_seconds"] = json!(3);
    let c = hostile_with(t).await;
    let r = reason(&c);
    assert!(
        r.starts_with("timed out after 3s reading the body (") && r.ends_with(" received)"),
        "{r}"
    );
    assert!(!r.contains("(0 bytes"), "some bytes dripped in: {r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_body_that_never_ends_times_out() {
    let server = after_request(|mut s| async move {
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            .await;
        loop {
            if s.write_all(b"1\r\n \r\n").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let r = reason(&hostile(server.url("/health")).await);
    assert!(
        r.starts_with("timed out after 2s reading the body ("),
        "{r}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_closed_mid_body_is_named() {
    let server = after_request(|mut s| async move {
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"status\":")
            .await;
        let _ = s.shutdown().await;
    })
    .await;
    assert_eq!(
        reason(&hostile(server.url("/health")).await),
        "connection closed before the body ended (10 bytes received)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_closed_before_any_response_is_named() {
    let server = after_request(|mut s| async move {
        let _ = s.shutdown().await;
    })
    .await;
    assert_eq!(
        reason(&hostile(server.url("/health")).await),
        "connection closed before the response headers arrived"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_instead_of_http_is_an_invalid_response() {
    let server = after_request(|mut s| async move {
        let _ = s.write_all(b"SSH-2.0-OpenSSH_9.6\r\n\r\n").await;
        let _ = s.shutdown().await;
    })
    .await;
    let r = reason(&hostile(server.url("/health")).await);
    assert!(r.starts_with("invalid HTTP response: "), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_50_mib_body_stops_at_the_cap_in_bounded_memory() {
    let server = after_request(|mut s| async move {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            50 * 1024 * 1024
        );
        let _ = s.write_all(head.as_bytes()).await;
        let chunk = vec![b' '; 64 * 1024];
        for _ in 0..800 {
            if s.write_all(&chunk).await.is_err() {
                return;
            }
        }
    })
    .await;
    let c = hostile(server.url("/health")).await;
    assert_eq!(reason(&c), "body exceeds 1 MiB");
    assert!(c.peak_rss_kib < RSS_KIB, "peak RSS {} KiB", c.peak_rss_kib);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_smaller_cap_is_enforced() {
    let server = serve_fixed(200, "application/json", vec![b' '; 5000]).await;
    let mut t = target("hostile", &server.url("/health"));
    t["max_body_bytes"] = json!(4096);
    assert_eq!(reason(&hostile_with(t).await), "body exceeds 4 KiB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzip_bomb_stops_at_the_cap_after_decompression() {
    use std::io::Write;
    // Streams gzip of up to 4 GiB of zeros, compressing as it goes (never holding it).
    let server = after_request(|mut s| async move {
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nConnection: close\r\n\r\n")
            .await;
        let zeros = vec![0u8; 1024 * 1024];
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        for _ in 0..4096 {
            if gz.write_all(&zeros).is_err() {
                return;
            }
            let out = std::mem::take(gz.get_mut());
            if !out.is_empty() && s.write_all(&out).await.is_err() {
                return;
            }
        }
    })
    .await;
    let c = hostile(server.url("/health")).await;
    assert_eq!(reason(&c), "body exceeds 1 MiB");
    assert!(c.peak_rss_kib < RSS_KIB, "peak RSS {} KiB", c.peak_rss_kib);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_gzip_body_is_named() {
    let server = after_request(|mut s| async move {
        respond(
            &mut s,
            200,
            "Content-Type: application/json\r\nContent-Encoding: gzip\r\n",
            b"this is not gzip at all",
        )
        .await;
    })
    .await;
    let r = reason(&hostile(server.url("/health")).await);
    assert!(
        r.starts_with("body could not be decompressed (0 bytes received)"),
        "{r}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_thousands_of_headers_is_refused() {
    let server = after_request(|mut s| async move {
        let mut head = String::from("HTTP/1.1 200 OK\r\n");
        for i in 0..5000 {
            head.push_str(&format!("X-Flood-{i}: {i}\r\n"));
        }
        head.push_str("Content-Length: 2\r\n\r\n{}");
        let _ = s.write_all(head.as_bytes()).await;
        let _ = s.shutdown().await;
    })
    .await;
    let c = hostile(server.url("/health")).await;
    assert_eq!(
        reason(&c),
        "response headers too large (or too many headers)"
    );
    assert!(c.peak_rss_kib < RSS_KIB, "peak RSS {} KiB", c.peak_rss_kib);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_mib_header_is_refused() {
    let server = after_request(|mut s| async move {
        let mut head = String::from("HTTP/1.1 200 OK\r\nX-Huge: ");
        head.push_str(&"a".repeat(1024 * 1024));
        head.push_str("\r\nContent-Length: 2\r\n\r\n{}");
        let _ = s.write_all(head.as_bytes()).await;
        let _ = s.shutdown().await;
    })
    .await;
    let c = hostile(server.url("/health")).await;
    assert_eq!(
        reason(&c),
        "response headers too large (or too many headers)"
    );
    assert!(c.peak_rss_kib < RSS_KIB, "peak RSS {} KiB", c.peak_rss_kib);
}

/// Cases where the response arrives with an unexpected HTTP status: the reason starts with the
/// status line judgement; the body (JSON or HTML) never hides it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_fail_with_the_status_whatever_the_body() {
    let cases: [(u16, &str, &str); 4] = [
        (500, "application/json", r#"{"status":"DOWN"}"#),
        (
            500,
            "text/html",
            "<html><body>Internal Server Error</body></html>",
        ),
        (503, "application/json", r#"{"error":"maintenance"}"#),
        (
            503,
            "text/html",
            "<html><body>Service Unavailable</body></html>",
        ),
    ];
    for (status, ct, body) in cases {
        let server = serve_fixed(status, ct, body).await;
        let c = hostile(server.url("/health")).await;
        let r = reason(&c);
        assert!(
            r.starts_with(&format!("HTTP {status} (expected 2xx)")),
            "{status} {ct}: {r}"
        );
        assert_eq!(c.target("hostile")["http_status"], status);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_modified_and_no_content_are_judged_by_status() {
    for (status, want) in [(304u16, "FAIL"), (204, "PASS")] {
        let server = after_request(move |mut s| async move {
            let head = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n\r\n");
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.shutdown().await;
        })
        .await;
        let neighbour = healthy().await;
        let c = check(config(vec![
            target("hostile", &server.url("/health")),
            target("neighbour", &neighbour.url()),
        ]))
        .await;
        assert!(c.wall < WALL);
        assert_healthy_neighbour(&c);
        let t = c.target("hostile");
        assert_eq!(t["status"], want, "{status}: {t}");
        assert_eq!(t["http_status"], status);
        if status == 304 {
            assert!(
                t["reason"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("HTTP 304 (expected 2xx)"),
                "{t}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn informational_100_continue_is_skipped_for_the_final_response() {
    let server = after_request(|mut s| async move {
        let _ = s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await;
        respond(
            &mut s,
            200,
            "Content-Type: application/json\r\n",
            crate::probe::HEALTHY_BODY.as_bytes(),
        )
        .await;
    })
    .await;
    let neighbour = healthy().await;
    let c = check(config(vec![
        target("informational", &server.url("/health")),
        target("neighbour", &neighbour.url()),
    ]))
    .await;
    assert_healthy_neighbour(&c);
    let t = c.target("informational");
    assert_eq!(t["status"], "PASS", "{t}");
    assert_eq!(t["http_status"], 200, "{t}");
}

/// A hostile body served with 200: content type, bytes, and what the target must come out as.
struct BodyCase {
    name: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
    status: &'static str,
    /// A stable part of the reason (formats owns the wording); `""` means no reason at all.
    reason: &'static str,
}

fn case(
    name: &'static str,
    content_type: &'static str,
    body: impl Into<Vec<u8>>,
    status: &'static str,
    reason: &'static str,
) -> BodyCase {
    BodyCase {
        name,
        content_type,
        body: body.into(),
        status,
        reason,
    }
}

/// Serves every case on its own port and checks them all in one run beside a healthy
/// neighbour: one hostile body must never disturb another target.
async fn check_bodies(cases: &[BodyCase]) -> Checked {
    let mut servers = Vec::new();
    let mut targets = Vec::new();
    for c in cases {
        let server = serve_fixed(200, c.content_type, c.body.clone()).await;
        targets.push(target(c.name, &server.url("/health")));
        servers.push(server);
    }
    let neighbour = healthy().await;
    targets.push(target("neighbour", &neighbour.url()));
    let checked = check(config(targets)).await;
    println!(
        "{} bodies in {:?}, peak RSS {} KiB",
        cases.len(),
        checked.wall,
        checked.peak_rss_kib
    );
    assert!(checked.wall < WALL, "took {:?}", checked.wall);
    assert_healthy_neighbour(&checked);
    for c in cases {
        let (status, reason) = checked.verdict(c.name);
        println!("{}: {status} {reason:?}", c.name);
        assert_eq!(status, c.status, "{}: {reason}", c.name);
        if c.reason.is_empty() {
            assert_eq!(reason, "", "{}", c.name);
        } else {
            assert!(reason.contains(c.reason), "{}: {reason}", c.name);
        }
    }
    checked
}

fn seed(components: &str) -> String {
    format!(r#"{{"global_status":"PASS",{components}}}"#)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_that_break_their_json_promise_fail_with_the_parse_reason() {
    let json = "application/json";
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let cases = [
        case(
            "html-as-json",
            json,
            "<html><body>Welcome</body></html>",
            "FAIL",
            "the body looks like HTML",
        ),
        case(
            "truncated",
            json,
            r#"{"global_status":"PASS","market_data":{"status":"#,
            "FAIL",
            "body is not valid JSON (application/json)",
        ),
        case(
            "empty",
            json,
            "",
            "FAIL",
            "empty body where JSON was declared",
        ),
        case(
            "nested-100k",
            json,
            nested,
            "FAIL",
            "nested deeper than the 128-level limit",
        ),
        case(
            "invalid-utf8",
            json,
            b"{\"global_status\":\"PASS\",\"x\":\"\xff\xfe\"}".to_vec(),
            "FAIL",
            "body is not valid UTF-8 at byte 29",
        ),
        case(
            "nan",
            json,
            seed(r#""market_data":{"status":"PASS","max_age_minutes":NaN}"#),
            "FAIL",
            "NaN and Infinity are not JSON numbers",
        ),
        case(
            "number-overflow",
            json,
            seed(r#""market_data":{"status":"PASS","fresh_symbols":1e400}"#),
            "FAIL",
            "body is not valid JSON",
        ),
    ];
    check_bodies(&cases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_but_readable_bodies_are_judged_on_what_they_say() {
    let json = "application/json";
    let healthy = crate::probe::HEALTHY_BODY;
    let cases = [
        case(
            "unknown-words",
            json,
            r#"{"global_status":"SIDEWAYS","market_data":{"status":"MAYBE"}}"#,
            "WARN",
            "unknown status 'SIDEWAYS'",
        ),
        case(
            "wrong-types",
            json,
            seed(r#""market_data":{"status":42,"fresh_symbols":"many"}"#),
            "FAIL",
            "",
        ),
        case(
            "array-for-object",
            json,
            seed(r#""market_data":[1,2,3],"telegram":{"status":"PASS"}"#),
            "FAIL",
            "",
        ),
        case("top-level-array", json, r#"[{"status":"UP"}]"#, "PASS", ""),
        case("bom", json, format!("\u{FEFF}{healthy}"), "PASS", ""),
        case("text-plain-json", "text/plain", healthy, "PASS", ""),
        case("no-content-type", "", healthy, "PASS", ""),
        case(
            "html-undeclared",
            "text/html",
            "<html>fine</html>",
            "PASS",
            "",
        ),
        case(
            "huge-numbers",
            json,
            seed(
                r#""market_data":{"status":"PASS","fresh_symbols":123456789012345678901234567890,"max_age_minutes":1e308}"#,
            ),
            "PASS",
            "",
        ),
        case(
            "duplicate-keys",
            json,
            r#"{"global_status":"PASS","market_data":{"status":"PASS"},"market_data":{"status":"FAIL"}}"#,
            "FAIL",
            "",
        ),
    ];
    let c = check_bodies(&cases).await;
    let first = |name: &str| c.target(name)["components"][0].clone();
    let wrong = first("wrong-types");
    assert_eq!(wrong["status"], "FAIL", "{wrong}");
    assert_eq!(
        wrong["reason"],
        "status is a number (42), expected a status word"
    );
    let array = first("array-for-object");
    assert_eq!(
        array["reason"],
        "expected an object with a status, found an array"
    );
    assert_eq!(
        c.target("array-for-object")["components"][1]["status"],
        "PASS"
    );
    assert_eq!(first("unknown-words")["reason"], "unknown status 'MAYBE'");
    // serde_json keeps the last of duplicate keys.
    assert_eq!(first("duplicate-keys")["status"], "FAIL");
    assert_eq!(c.target("top-level-array")["format"], "http");
    let huge = &c.target("huge-numbers")["components"][0]["measurements"];
    assert_eq!(huge[0]["name"], "fresh_symbols", "{huge}");
    assert_eq!(huge[0]["value"], 1.2345678901234568e29, "{huge}");
    let bom = c.target("bom");
    assert_eq!(bom["components"][0]["name"], "market_data", "{bom}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn component_names_with_control_characters_huge_lengths_and_emoji_survive() {
    let long = "n".repeat(2048);
    let body = seed(&format!(
        r#""bad\u0007\u001b[31mname":{{"status":"FAIL"}},"{long}":{{"status":"WARN"}},"🚀 rocket":{{"status":"PASS"}}"#
    ));
    let cases = [case("names", "application/json", body, "FAIL", "")];
    let c = check_bodies(&cases).await;
    let components = c.target("names")["components"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    println!(
        "{}",
        serde_json::to_string_pretty(&components).unwrap_or_default()
    );
    assert_eq!(components.len(), 3, "{components:?}");
    assert!(components
        .iter()
        .any(|x| x["name"] == "🚀 rocket" && x["status"] == "PASS"));
    assert!(components.iter().any(|x| x["status"] == "WARN"));
    assert!(components.iter().any(|x| x["status"] == "FAIL"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_components_are_judged_in_bounded_time_and_memory() {
    let components: Vec<String> = (0..5000)
        .map(|i| format!(r#""c{i}":{{"status":"PASS","n":{i}}}"#))
        .collect();
    let mut body = seed(&components.join(","));
    body = body.replace(r#""c4999":{"status":"PASS""#, r#""c4999":{"status":"DOWN""#);
    let cases = [case("many", "application/json", body, "FAIL", "")];
    let c = check_bodies(&cases).await;
    let t = c.target("many");
    assert_eq!(t["components"].as_array().map(Vec::len), Some(5000));
    assert!(c.peak_rss_kib < RSS_KIB, "peak RSS {} KiB", c.peak_rss_kib);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reasons_never_quote_the_url_query() {
    let refused = closed_port().await;
    let garbage = after_request(|mut s| async move {
        let _ = s.write_all(b"\x00\x01garbage\r\n\r\n").await;
        let _ = s.shutdown().await;
    })
    .await;
    let neighbour = healthy().await;
    let query = "?token=Q-SECRET-42";
    let urls = [
        format!("http://127.0.0.1:{refused}/health{query}"),
        format!("https://no-such-host.invalid/health{query}"),
        garbage.url(&format!("/health{query}")),
    ];
    let mut targets: Vec<_> = urls
        .iter()
        .enumerate()
        .map(|(i, u)| target(&format!("t{i}"), u))
        .collect();
    targets.push(target("neighbour", &neighbour.url()));
    let c = check(config(targets)).await;
    assert_healthy_neighbour(&c);
    for i in 0..urls.len() {
        let (status, reason) = c.verdict(&format!("t{i}"));
        assert_eq!(status, "FAIL");
        assert!(
            !reason.is_empty() && !reason.contains("Q-SECRET-42"),
            "{reason}"
        );
    }
    assert!(!c.stderr.contains("Q-SECRET-42"), "{}", c.stderr);
}
