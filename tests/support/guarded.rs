//! Secrets for leak tests: a fresh random secret per test, and a local service that answers only
//! a request carrying every expected secret (so a test knows the secrets went on the wire) and
//! records each request head.

use super::{read_request_head, serve_raw, TestServer};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;

/// A fresh random secret for one test (so a match can only come from this run).
pub fn random_secret() -> String {
    let a = RandomState::new().hash_one(std::process::id());
    let b = RandomState::new().hash_one(std::time::SystemTime::now());
    format!("hc-secret-{a:016x}{b:016x}")
}

/// Request heads a recording server saw.
pub type Seen = Arc<Mutex<Vec<String>>>;

/// A seed-format body with one failing component (so reasons and alerts have something to say).
pub const FAILING_BODY: &str = r#"{"global_status":"FAIL","market_data":{"status":"FAIL","stale_symbols":3},"telegram":{"status":"PASS","enabled":true}}"#;

/// A server that answers 200 with [`FAILING_BODY`] only when the request head holds every text of
/// `wanted` (compared without case), else 401.
pub async fn guarded_server(wanted: Vec<String>) -> (TestServer, Seen) {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let wanted: Arc<Vec<String>> =
        Arc::new(wanted.iter().map(|w| w.to_ascii_lowercase()).collect());
    let server = serve_raw(move |mut stream| {
        let record = record.clone();
        let wanted = wanted.clone();
        async move {
            let head = read_request_head(&mut stream).await;
            let lower = head.to_ascii_lowercase();
            let authorised = wanted.iter().all(|w| lower.contains(w.as_str()));
            record.lock().unwrap().push(head);
            let (status, body) = if authorised {
                (200, FAILING_BODY)
            } else {
                (401, r#"{"error":"unauthorised"}"#)
            };
            let response = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    })
    .await;
    (server, seen)
}
