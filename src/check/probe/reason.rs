//! Readable reasons for transport failures (`connection refused`, `DNS lookup failed for x`,
//! `TLS handshake failed: certificate expired`), and the connect-phase marker that tells a
//! connect timeout from a wait for response headers.

use super::redirect::RedirectRefused;
use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

tokio::task_local! {
    static PHASE: Arc<AtomicU8>;
}

const IDLE: u8 = 0;
const CONNECTING: u8 = 1;
const CONNECTED: u8 = 2;

/// Where one request got to: set by [`MarkConnectLayer`] while the request future is polled
/// inside [`Phase::scope`]. A request served from the pool never enters `CONNECTING`.
pub(super) struct Phase(Arc<AtomicU8>);

impl Phase {
    pub(super) fn new() -> Phase {
        Phase(Arc::new(AtomicU8::new(IDLE)))
    }

    /// Runs `fut` with this phase visible to the connector.
    pub(super) async fn scope<F: Future>(&self, fut: F) -> F::Output {
        PHASE.scope(self.0.clone(), fut).await
    }

    /// Whether a connection (DNS, TCP, TLS) was being established and had not finished.
    pub(super) fn connecting(&self) -> bool {
        self.0.load(Ordering::Relaxed) == CONNECTING
    }
}

fn mark(phase: u8) {
    // Outside a probe's scope (a connect finishing in the background) there is nobody to tell.
    let _ = PHASE.try_with(|p| p.store(phase, Ordering::Relaxed));
}

/// A connector layer recording when connection establishment starts and ends.
#[derive(Clone, Copy, Debug)]
pub(super) struct MarkConnectLayer;

impl<S> tower_layer::Layer<S> for MarkConnectLayer {
    type Service = MarkConnect<S>;
    fn layer(&self, inner: S) -> MarkConnect<S> {
        MarkConnect(inner)
    }
}

/// The service [`MarkConnectLayer`] wraps the connector in.
#[derive(Clone, Debug)]
pub(super) struct MarkConnect<S>(S);

impl<S, R> tower_service::Service<R> for MarkConnect<S>
where
    S: tower_service::Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> Self::Future {
        mark(CONNECTING);
        let fut = self.0.call(req);
        Box::pin(async move {
            let result = fut.await;
            mark(CONNECTED);
            result
        })
    }
}

/// `10s`, `2.5s`, `250ms`.
pub(super) fn describe_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        let s = format!("{:.1}", d.as_secs_f64());
        format!("{}s", s.trim_end_matches(".0"))
    }
}

/// `1 MiB`, `64 KiB`, `1000 bytes`: exact, as a cap is configured.
pub(super) fn describe_bytes(n: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * 1024;
    match n {
        1 => "1 byte".to_string(),
        n if n >= MIB && n % MIB == 0 => format!("{} MiB", n / MIB),
        n if n >= KIB && n % KIB == 0 => format!("{} KiB", n / KIB),
        n => format!("{n} bytes"),
    }
}

/// Every error in the chain, looking inside `io::Error`s too (their `source` skips the payload).
fn chain<'a>(err: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut out = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        out.push(e);
        next = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => e.source(),
        };
    }
    out
}

/// The kinds of every `io::Error` in the chain, outermost first (an outer one is often `Other`).
fn io_kinds(chain: &[&(dyn StdError + 'static)]) -> Vec<std::io::ErrorKind> {
    chain
        .iter()
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind)
        .collect()
}

fn find<'a, T: StdError + 'static>(chain: &[&'a (dyn StdError + 'static)]) -> Option<&'a T> {
    chain.iter().find_map(|e| e.downcast_ref::<T>())
}

/// The innermost cause's text. reqwest's own errors are skipped: their text carries the full
/// URL, whose query may hold a token.
fn deepest(chain: &[&(dyn StdError + 'static)]) -> String {
    chain
        .iter()
        .rev()
        .find(|e| e.downcast_ref::<reqwest::Error>().is_none())
        .map(|e| e.to_string())
        .unwrap_or_else(|| "no detail".to_string())
}

/// Why a request got no response. Never quotes the URL (its query may carry a token).
pub(super) fn transport(err: &reqwest::Error, url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    let chain = chain(err);
    if let Some(r) = find::<RedirectRefused>(&chain) {
        return r.to_string();
    }
    if let Some(t) = find::<rustls::Error>(&chain) {
        return format!("TLS handshake failed: {}", tls_error(t, host));
    }
    let text: Vec<String> = chain.iter().map(|e| e.to_string()).collect();
    if text.iter().any(|t| t.contains("dns error")) {
        return format!(
            "DNS lookup failed for {}",
            crate::check::text::printable(host)
        );
    }
    for kind in io_kinds(&chain) {
        use std::io::ErrorKind as K;
        match kind {
            K::ConnectionRefused => return "connection refused".to_string(),
            K::ConnectionReset => return "connection reset by the server".to_string(),
            K::ConnectionAborted => return "connection aborted".to_string(),
            K::HostUnreachable => {
                return format!("host {} unreachable", crate::check::text::printable(host))
            }
            K::NetworkUnreachable => return "network unreachable".to_string(),
            K::UnexpectedEof if err.is_connect() && url.scheme() == "https" => {
                return "connection closed during the TLS handshake".to_string()
            }
            _ => {}
        }
    }
    if let Some(h) = find::<hyper::Error>(&chain) {
        if h.is_parse_too_large() {
            return "response headers too large (or too many headers)".to_string();
        }
        if h.is_incomplete_message() {
            return "connection closed before the response headers arrived".to_string();
        }
        if h.is_parse() || h.is_parse_status() {
            return format!("invalid HTTP response: {h}");
        }
    }
    let detail = crate::check::text::printable(&deepest(&chain));
    if err.is_connect() {
        format!("connection failed: {detail}")
    } else {
        format!("request failed: {detail}")
    }
}

/// Why the body could not be read in full after `received` bytes.
pub(super) fn body(err: &reqwest::Error, received: usize) -> String {
    let chain = chain(err);
    let got = describe_bytes(received);
    // Checked before `is_decode`: with decompression enabled reqwest calls every body error a
    // decode error, including the connection closing early.
    if io_kinds(&chain).iter().any(|k| {
        matches!(
            k,
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof
        )
    }) {
        return format!("connection closed before the body ended ({got} received)");
    }
    if let Some(h) = find::<hyper::Error>(&chain) {
        if h.is_incomplete_message() || h.is_body_write_aborted() || h.is_closed() {
            return format!("connection closed before the body ended ({got} received)");
        }
    }
    if err.is_decode() {
        return format!(
            "body could not be decompressed ({got} received): {}",
            crate::check::text::printable(&deepest(&chain))
        );
    }
    format!(
        "body read failed ({got} received): {}",
        crate::check::text::printable(&deepest(&chain))
    )
}

fn tls_error(err: &rustls::Error, host: &str) -> String {
    use rustls::CertificateError as C;
    match err {
        rustls::Error::InvalidCertificate(c) => match c {
            C::Expired | C::ExpiredContext { .. } => "certificate expired".to_string(),
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "certificate not valid yet".to_string()
            }
            C::UnknownIssuer => "self-signed certificate (unknown issuer)".to_string(),
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                format!(
                    "certificate is not valid for {}",
                    crate::check::text::printable(host)
                )
            }
            C::Revoked => "certificate revoked".to_string(),
            C::BadSignature => "certificate has a bad signature".to_string(),
            other => format!("invalid certificate ({other:?})"),
        },
        rustls::Error::InvalidMessage(_) => "the server did not speak TLS".to_string(),
        rustls::Error::AlertReceived(alert) => format!("the server sent alert {alert:?}"),
        rustls::Error::NoCertificatesPresented => "the server sent no certificate".to_string(),
        other => crate::check::text::printable(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        for (d, want) in [
            (Duration::from_secs(10), "10s"),
            (Duration::from_millis(2500), "2.5s"),
            (Duration::from_millis(250), "250ms"),
            (Duration::from_secs(120), "120s"),
        ] {
            assert_eq!(describe_duration(d), want);
        }
    }

    #[test]
    fn byte_counts_are_exact() {
        for (n, want) in [
            (1024 * 1024, "1 MiB"),
            (16 * 1024 * 1024, "16 MiB"),
            (64 * 1024, "64 KiB"),
            (1000, "1000 bytes"),
            (1, "1 byte"),
            (0, "0 bytes"),
        ] {
            assert_eq!(describe_bytes(n), want);
        }
    }
}
