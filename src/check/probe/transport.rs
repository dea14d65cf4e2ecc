//! Classifying transport failures: reqwest/hyper/rustls/io error chains become a
//! [`ProbeError`] kind, plus the connect-phase marker that tells a connect timeout from a wait
//! for response headers.

use super::error::ProbeError;
use super::redirect::RedirectRefused;
use crate::check::text::printable;
use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

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

/// Why a request got no response.
pub(super) fn transport(err: &reqwest::Error, url: &url::Url) -> ProbeError {
    let host = url.host_str().unwrap_or_default();
    let chain = chain(err);
    if let Some(r) = find::<RedirectRefused>(&chain) {
        return ProbeError::RedirectRefused(r.clone());
    }
    if let Some(t) = find::<rustls::Error>(&chain) {
        return ProbeError::Tls {
            detail: tls_error(t, host),
        };
    }
    // The resolver's error type is private to hyper-util; its text is the only mark it leaves.
    if chain.iter().any(|e| e.to_string().contains("dns error")) {
        return ProbeError::Dns {
            host: printable(host),
        };
    }
    for kind in io_kinds(&chain) {
        use std::io::ErrorKind as K;
        match kind {
            K::ConnectionRefused => return ProbeError::ConnectionRefused,
            K::ConnectionReset => return ProbeError::ConnectionReset,
            K::ConnectionAborted => return ProbeError::ConnectionAborted,
            K::HostUnreachable => {
                return ProbeError::HostUnreachable {
                    host: printable(host),
                }
            }
            K::NetworkUnreachable => return ProbeError::NetworkUnreachable,
            K::UnexpectedEof if err.is_connect() && url.scheme() == "https" => {
                return ProbeError::ClosedDuringTls
            }
            _ => {}
        }
    }
    if let Some(h) = find::<hyper::Error>(&chain) {
        if h.is_parse_too_large() {
            return ProbeError::HeadersTooLarge;
        }
        if h.is_incomplete_message() {
            return ProbeError::ClosedBeforeHeaders;
        }
        if h.is_parse() || h.is_parse_status() {
            return ProbeError::InvalidResponse {
                detail: h.to_string(),
            };
        }
    }
    let detail = printable(&deepest(&chain));
    if err.is_connect() {
        ProbeError::Connect { detail }
    } else {
        ProbeError::Request { detail }
    }
}

/// Why the body could not be read in full after `received` bytes.
pub(super) fn body(err: &reqwest::Error, received: usize) -> ProbeError {
    let chain = chain(err);
    // Checked before `is_decode`: with decompression enabled reqwest calls every body error a
    // decode error, including the connection closing early.
    let closed_io = io_kinds(&chain).iter().any(|k| {
        matches!(
            k,
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof
        )
    });
    let closed_http = find::<hyper::Error>(&chain)
        .is_some_and(|h| h.is_incomplete_message() || h.is_body_write_aborted() || h.is_closed());
    if closed_io || closed_http {
        return ProbeError::ClosedDuringBody { received };
    }
    let detail = printable(&deepest(&chain));
    if err.is_decode() {
        ProbeError::Decompression { received, detail }
    } else {
        ProbeError::BodyRead { received, detail }
    }
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
                format!("certificate is not valid for {}", printable(host))
            }
            C::Revoked => "certificate revoked".to_string(),
            C::BadSignature => "certificate has a bad signature".to_string(),
            other => format!("invalid certificate ({other:?})"),
        },
        rustls::Error::InvalidMessage(_) => "the server did not speak TLS".to_string(),
        rustls::Error::AlertReceived(alert) => format!("the server sent alert {alert:?}"),
        rustls::Error::NoCertificatesPresented => "the server sent no certificate".to_string(),
        other => printable(&other.to_string()),
    }
}
