//! Probing one target over HTTP: timeouts, body cap, confirmation retry, latency, certificate
//! expiry, same-host redirects. A probe never returns an error: a broken service is an outcome
//! that carries the typed [`ProbeError`].

mod client;
mod error;
mod redirect;
mod tls;
mod transport;

use crate::check::config::Target;
use tokio::time::Instant;
use transport::Phase;

pub use error::ProbeError;
pub use redirect::{RedirectRefused, MAX_REDIRECTS};

/// What one probe of a target observed (after any confirmation retries).
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeOutcome {
    /// Attempts made (1 + confirmation retries that ran).
    pub attempts: u32,
    /// Milliseconds from request start to end of body (or failure), for the last attempt.
    pub latency_ms: Option<u64>,
    /// Whole days until the server certificate expires, for https.
    pub cert_days_remaining: Option<i64>,
    /// The response, or why none arrived (`connection refused`, `timed out after 10s`, …).
    pub result: Result<Response, ProbeError>,
}

/// A response that arrived.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The (decompressed) body, or why it could not be read in full (`body exceeds 1 MiB`).
    pub body: Result<Vec<u8>, ProbeError>,
}

pub use client::{build_client, USER_AGENT};

/// Probes one target; never fails, never panics.
pub async fn probe(client: &reqwest::Client, target: &Target) -> ProbeOutcome {
    let private;
    let client = match &target.ca_file {
        None => client,
        Some(path) => match client::with_ca(path) {
            Ok(c) => {
                private = c;
                &private
            }
            Err(error) => return failed(error, None),
        },
    };
    let mut attempts = 0;
    loop {
        attempts += 1;
        let outcome = attempt(client, target).await;
        let confirm = worth_confirming(&outcome);
        tracing::debug!(
            target = %target.name,
            attempt = attempts,
            latency_ms = outcome.latency_ms,
            error_kind = outcome.error().map(ProbeError::kind),
            transient = confirm,
            "probe attempt finished"
        );
        if confirm && attempts <= target.retries {
            tokio::time::sleep(target.retry_delay).await;
            continue;
        }
        return ProbeOutcome {
            attempts,
            ..outcome
        };
    }
}

impl ProbeOutcome {
    /// The failure of this outcome, if any: no response, or a body that was not read in full.
    pub fn error(&self) -> Option<&ProbeError> {
        match &self.result {
            Err(e) => Some(e),
            Ok(response) => response.body.as_ref().err(),
        }
    }
}

/// Whether an attempt's outcome may change on a confirmation retry: a transient failure (see
/// [`ProbeError::is_transient`]) or an HTTP 5xx.
fn worth_confirming(outcome: &ProbeOutcome) -> bool {
    let server_error = outcome.result.as_ref().is_ok_and(|r| r.status >= 500);
    server_error || outcome.error().is_some_and(ProbeError::is_transient)
}

async fn attempt(client: &reqwest::Client, target: &Target) -> ProbeOutcome {
    let start = Instant::now();
    let deadline = start + target.timeout;
    let limit = target.timeout;
    let elapsed_ms = || u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);

    let phase = Phase::new();
    let sent = phase
        .scope(tokio::time::timeout_at(
            deadline,
            request(client, target).send(),
        ))
        .await;
    let mut response = match sent {
        Err(_elapsed) => {
            let error = if phase.connecting() {
                ProbeError::ConnectTimeout { limit }
            } else {
                ProbeError::HeaderTimeout { limit }
            };
            return failed(error, Some(elapsed_ms()));
        }
        Ok(Err(e)) => return failed(transport::transport(&e, &target.url), Some(elapsed_ms())),
        Ok(Ok(r)) => r,
    };

    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let cert_days_remaining = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .and_then(|der| tls::days_until_expiry(der, chrono::Utc::now()));
    let body = read_body(&mut response, deadline, limit, target.max_body_bytes).await;
    ProbeOutcome {
        attempts: 1,
        latency_ms: Some(elapsed_ms()),
        cert_days_remaining,
        result: Ok(Response {
            status,
            content_type,
            body,
        }),
    }
}

/// The request one attempt sends: the target's method, URL and headers (values marked
/// sensitive, so no log of the HTTP stack prints them).
fn request(client: &reqwest::Client, target: &Target) -> reqwest::RequestBuilder {
    let mut request = client
        .request(target.method.clone(), target.url.clone())
        .header(
            reqwest::header::ACCEPT,
            "application/health+json, application/json;q=0.9, */*;q=0.8",
        );
    for (name, value) in &target.headers {
        // Config validation already checked the value; a failure here only skips the header.
        if let Ok(mut v) = reqwest::header::HeaderValue::from_str(value.expose()) {
            v.set_sensitive(true);
            request = request.header(name.as_str(), v);
        }
    }
    request
}

/// Streams the body until it ends, the deadline passes or it would grow past `cap` (counted
/// after decompression, so a compression bomb stops at the cap).
async fn read_body(
    response: &mut reqwest::Response,
    deadline: Instant,
    limit: std::time::Duration,
    cap: usize,
) -> Result<Vec<u8>, ProbeError> {
    let mut body: Vec<u8> = Vec::with_capacity(
        usize::try_from(response.content_length().unwrap_or(0))
            .unwrap_or(cap)
            .min(cap),
    );
    loop {
        match tokio::time::timeout_at(deadline, response.chunk()).await {
            Err(_elapsed) => {
                return Err(ProbeError::BodyTimeout {
                    limit,
                    received: body.len(),
                })
            }
            Ok(Ok(None)) => return Ok(body),
            Ok(Ok(Some(chunk))) => {
                if body.len() + chunk.len() > cap {
                    return Err(ProbeError::BodyTooLarge { cap });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Err(e)) => return Err(transport::body(&e, body.len())),
        }
    }
}

/// An outcome without a response.
/// The outcome of a probe the run's deadline cut short after `budget`.
pub fn out_of_time(budget: std::time::Duration) -> ProbeOutcome {
    failed(ProbeError::OutOfTime { budget }, None)
}

fn failed(error: ProbeError, latency_ms: Option<u64>) -> ProbeOutcome {
    ProbeOutcome {
        attempts: 1,
        latency_ms,
        cert_days_remaining: None,
        result: Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agent_names_the_crate_and_version() {
        assert_eq!(
            USER_AGENT,
            format!("health-canary/{}", env!("CARGO_PKG_VERSION"))
        );
    }

    #[test]
    fn client_builds() {
        assert!(build_client().is_ok());
    }
}
