//! TLS against a local rustls server with rcgen certificates: untrusted, expired, wrong-name and
//! stalled handshakes, and certificate days measured through a private CA (`ca_file`).

use crate::probe::{assert_healthy_neighbour, check, config, healthy, target, HEALTHY_BODY};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;

const WALL: Duration = Duration::from_secs(10);

/// Reads the client's first TLS record (its ClientHello) whole. A server that closes with
/// unread bytes makes the kernel send a reset instead of a clean close, and which of the two the
/// client sees would then depend on timing.
async fn read_client_hello(tcp: &mut tokio::net::TcpStream) {
    let mut header = [0u8; 5];
    if tcp.read_exact(&mut header).await.is_err() {
        return;
    }
    let mut hello = vec![0u8; usize::from(u16::from_be_bytes([header[3], header[4]]))];
    let _ = tcp.read_exact(&mut hello).await;
}

/// A private CA written to a PEM file the config can point `ca_file` at.
struct Ca {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    dir: tempfile::TempDir,
}

impl Ca {
    fn new() -> Ca {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "health-canary test CA");
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("ca cert");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("ca.pem"), cert.pem()).expect("write ca");
        Ca {
            issuer: rcgen::Issuer::new(params, key),
            dir,
        }
    }

    fn pem_path(&self) -> String {
        self.dir.path().join("ca.pem").display().to_string()
    }

    /// A leaf for `names`, valid until `not_after`, signed by this CA.
    fn leaf(&self, names: &[&str], not_after: (i32, u8, u8)) -> Leaf {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = rcgen::CertificateParams::new(names).expect("params");
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign");
        Leaf { cert, key }
    }
}

struct Leaf {
    cert: rcgen::Certificate,
    key: rcgen::KeyPair,
}

fn self_signed_leaf() -> Leaf {
    let params =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("params");
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("cert");
    Leaf { cert, key }
}

/// Serves HTTPS on 127.0.0.1 with `leaf`, answering every request with [`HEALTHY_BODY`].
async fn serve_tls(leaf: Leaf) -> crate::support::TestServer {
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{HEALTHY_BODY}",
        HEALTHY_BODY.len()
    );
    serve_tls_with(leaf, response).await
}

/// Serves HTTPS on 127.0.0.1 with `leaf`, answering every request with the raw `response`.
async fn serve_tls_with(leaf: Leaf, response: String) -> crate::support::TestServer {
    let response = Arc::new(response);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf.key.serialize_der().into());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![leaf.cert.der().clone()], key)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    crate::support::serve_raw(move |tcp| {
        let acceptor = acceptor.clone();
        let response = response.clone();
        async move {
            let Ok(mut tls) = acceptor.accept(tcp).await else {
                return;
            };
            let mut buf = vec![0u8; 16 * 1024];
            let mut head = Vec::new();
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match tls.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = tls.write_all(response.as_bytes()).await;
            let _ = tls.shutdown().await;
        }
    })
    .await
}

fn https(server: &crate::support::TestServer, host: &str) -> String {
    format!("https://{host}:{}/health", server.addr.port())
}

/// Runs `t` beside a healthy neighbour; returns `(status, reason, target json)`.
async fn run(t: serde_json::Value) -> (String, String, serde_json::Value) {
    let neighbour = healthy().await;
    let c = check(config(vec![t, target("neighbour", &neighbour.url())])).await;
    assert!(c.wall < WALL, "took {:?}", c.wall);
    assert_healthy_neighbour(&c);
    let (status, reason) = c.verdict("tls");
    (status, reason, c.target("tls").clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_certificate_fails_the_handshake() {
    let server = serve_tls(self_signed_leaf()).await;
    let (status, reason, _) = run(target("tls", &https(&server, "localhost"))).await;
    assert_eq!(status, "FAIL");
    assert_eq!(
        reason,
        "TLS handshake failed: self-signed certificate (unknown issuer)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_certificate_fails_the_handshake() {
    let ca = Ca::new();
    let server = serve_tls(ca.leaf(&["localhost"], (2021, 1, 1))).await;
    let mut t = target("tls", &https(&server, "localhost"));
    t["ca_file"] = json!(ca.pem_path());
    let (status, reason, _) = run(t).await;
    assert_eq!(status, "FAIL");
    assert_eq!(reason, "TLS handshake failed: certificate expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_for_another_name_fails_the_handshake() {
    let ca = Ca::new();
    let server = serve_tls(ca.leaf(&["other.example"], (2099, 1, 1))).await;
    let mut t = target("tls", &https(&server, "localhost"));
    t["ca_file"] = json!(ca.pem_path());
    let (status, reason, _) = run(t).await;
    assert_eq!(status, "FAIL");
    assert_eq!(
        reason,
        "TLS handshake failed: certificate is not valid for localhost"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_days_are_measured_through_a_private_ca() {
    // notAfter at midnight UTC 31 days from today is 30 whole days and a fraction away.
    let expiry = (chrono::Utc::now() + chrono::Duration::days(31)).date_naive();
    use chrono::Datelike;
    let ca = Ca::new();
    let server = serve_tls(ca.leaf(
        &["localhost", "127.0.0.1"],
        (expiry.year(), expiry.month() as u8, expiry.day() as u8),
    ))
    .await;
    let mut t = target("tls", &https(&server, "127.0.0.1"));
    t["ca_file"] = json!(ca.pem_path());
    t["conditions"] = json!(["cert_days_remaining > 14"]);
    let (status, reason, t) = run(t).await;
    assert_eq!(status, "PASS", "{t}");
    assert_eq!(reason, "");
    assert_eq!(t["cert_days_remaining"], 30, "{t}");
    assert_eq!(t["conditions"][0]["status"], "PASS", "{t}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_tls_handshake_is_a_connect_timeout() {
    let server = crate::support::serve_raw(|tcp| async move {
        let _held_open = tcp;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let mut t = target("tls", &https(&server, "127.0.0.1"));
    t["timeout_seconds"] = json!(1);
    let (status, reason, _) = run(t).await;
    assert_eq!(status, "FAIL");
    assert_eq!(reason, "connect timed out after 1s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_on_an_https_url_is_named() {
    let server = crate::support::serve_raw(|mut s| async move {
        read_client_hello(&mut s).await;
        let _ = s
            .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .await;
    })
    .await;
    let (status, reason, _) = run(target("tls", &https(&server, "127.0.0.1"))).await;
    assert_eq!(status, "FAIL");
    assert_eq!(reason, "TLS handshake failed: the server did not speak TLS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_from_https_down_to_http_is_not_followed() {
    let (plain, plain_heads) = {
        let heads = Arc::new(std::sync::Mutex::new(0usize));
        let seen = heads.clone();
        let server = crate::support::serve_raw(move |mut s| {
            let seen = seen.clone();
            async move {
                crate::support::read_request_head(&mut s).await;
                *seen.lock().expect("lock") += 1;
                crate::probe::respond(&mut s, 200, "", HEALTHY_BODY.as_bytes()).await;
            }
        })
        .await;
        (server, heads)
    };
    let ca = Ca::new();
    let location = format!("http://localhost:{}/health", plain.addr.port());
    let server = serve_tls_with(
        ca.leaf(&["localhost"], (2099, 1, 1)),
        format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n"),
    )
    .await;
    let mut t = target("tls", &https(&server, "localhost"));
    t["ca_file"] = json!(ca.pem_path());
    t["headers"] = json!({"Authorization": "Bearer s3cret-token"});
    let (status, reason, t) = run(t).await;
    assert_eq!(status, "FAIL", "{t}");
    assert_eq!(reason, "redirect from https to plain http not followed");
    assert_eq!(*plain_heads.lock().expect("lock"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_closing_during_the_handshake_is_named() {
    let server = crate::support::serve_raw(|mut tcp| async move {
        read_client_hello(&mut tcp).await;
        let _ = tcp.shutdown().await;
    })
    .await;
    let (status, reason, _) = run(target("tls", &https(&server, "127.0.0.1"))).await;
    assert_eq!(status, "FAIL");
    assert_eq!(reason, "connection closed during the TLS handshake");
}
