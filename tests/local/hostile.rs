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
/// Peak RSS allowed to the CLI for the size, bomb and flood cases (a 1 MiB cap must hold).
const RSS_KIB: i64 = 64 * 1024;

/// Probes `url` as target `hostile` beside a healthy neighbour.
async fn hostile(url: String) -> Checked {
    hostile_with(target("hostile", &url)).await
}

async fn hostile_with(t: serde_json::Value) -> Checked {
    let neighbour = healthy().await;
    let c = check(config(vec![t, target("neighbour", &neighbour.url("/h"))])).await;
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
            target("neighbour", &neighbour.url("/h")),
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
        target("neighbour", &neighbour.url("/h")),
    ]))
    .await;
    assert_healthy_neighbour(&c);
    let t = c.target("informational");
    assert_eq!(t["status"], "PASS", "{t}");
    assert_eq!(t["http_status"], 200, "{t}");
}
