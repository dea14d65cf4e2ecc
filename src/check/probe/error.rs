//! Why a probe got no response or no complete body: one kind per failure a caller may act on,
//! whether it is worth a confirmation retry, and the reason text the report shows.

use super::redirect::RedirectRefused;
use std::time::Duration;

/// A probe failure. `Display` is the reason the report carries (`connection refused`,
/// `timed out after 10s waiting for response headers`); it never quotes the URL, whose query may
/// carry a token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// The target's `ca_file` could not be read.
    #[error("cannot read ca_file {path}: {detail}")]
    CaFileUnreadable {
        /// The configured path.
        path: String,
        /// The I/O error.
        detail: String,
    },
    /// The target's `ca_file` holds no usable PEM certificates.
    #[error("ca_file {path} is not PEM: {detail}")]
    CaFileNotPem {
        /// The configured path.
        path: String,
        /// What the PEM reader said.
        detail: String,
    },
    /// No HTTP client could be built around the target's `ca_file`.
    #[error("cannot build an HTTP client trusting {path}: {detail}")]
    CaClient {
        /// The configured path.
        path: String,
        /// What the client builder said.
        detail: String,
    },
    /// The host name did not resolve.
    #[error("DNS lookup failed for {host}")]
    Dns {
        /// The host, printable.
        host: String,
    },
    /// Nothing listens on the port.
    #[error("connection refused")]
    ConnectionRefused,
    /// The server reset the connection before a response.
    #[error("connection reset by the server")]
    ConnectionReset,
    /// The connection was aborted locally.
    #[error("connection aborted")]
    ConnectionAborted,
    /// No route to the host.
    #[error("host {host} unreachable")]
    HostUnreachable {
        /// The host, printable.
        host: String,
    },
    /// No route to the host's network.
    #[error("network unreachable")]
    NetworkUnreachable,
    /// Connecting (DNS, TCP, TLS) did not finish within the target's timeout.
    #[error("connect timed out after {}", describe_duration(*.limit))]
    ConnectTimeout {
        /// The target's timeout.
        limit: Duration,
    },
    /// Connected, but the response headers did not arrive within the timeout.
    #[error("timed out after {} waiting for response headers", describe_duration(*.limit))]
    HeaderTimeout {
        /// The target's timeout.
        limit: Duration,
    },
    /// The body did not end within the timeout.
    #[error(
        "timed out after {} reading the body ({} received)",
        describe_duration(*.limit),
        describe_bytes(*.received)
    )]
    BodyTimeout {
        /// The target's timeout.
        limit: Duration,
        /// Bytes read before the deadline.
        received: usize,
    },
    /// The TLS handshake failed (certificate expired, unknown issuer, wrong name, …).
    #[error("TLS handshake failed: {detail}")]
    Tls {
        /// What was wrong, in words (`certificate expired`).
        detail: String,
    },
    /// The server closed the connection during the TLS handshake.
    #[error("connection closed during the TLS handshake")]
    ClosedDuringTls,
    /// The server closed the connection before the response headers.
    #[error("connection closed before the response headers arrived")]
    ClosedBeforeHeaders,
    /// The server closed the connection before the body ended.
    #[error("connection closed before the body ended ({} received)", describe_bytes(*.received))]
    ClosedDuringBody {
        /// Bytes read before the connection closed.
        received: usize,
    },
    /// The response headers were larger than the client accepts.
    #[error("response headers too large (or too many headers)")]
    HeadersTooLarge,
    /// The server did not speak HTTP.
    #[error("invalid HTTP response: {detail}")]
    InvalidResponse {
        /// The parser's complaint.
        detail: String,
    },
    /// The body was larger than the target's cap (after decompression).
    #[error("body exceeds {}", describe_bytes(*.cap))]
    BodyTooLarge {
        /// The cap in bytes.
        cap: usize,
    },
    /// The `Content-Encoding` did not decode.
    #[error(
        "body could not be decompressed ({} received): {detail}",
        describe_bytes(*.received)
    )]
    Decompression {
        /// Bytes read before the failure.
        received: usize,
        /// The decoder's complaint, printable.
        detail: String,
    },
    /// The body could not be read for another reason.
    #[error("body read failed ({} received): {detail}", describe_bytes(*.received))]
    BodyRead {
        /// Bytes read before the failure.
        received: usize,
        /// The innermost cause, printable.
        detail: String,
    },
    /// A redirect the policy refuses (another host or port, a downgrade, a loop, too many).
    #[error(transparent)]
    RedirectRefused(#[from] RedirectRefused),
    /// Connecting failed for a reason not named above.
    #[error("connection failed: {detail}")]
    Connect {
        /// The innermost cause, printable.
        detail: String,
    },
    /// The request failed for a reason not named above.
    #[error("request failed: {detail}")]
    Request {
        /// The innermost cause, printable.
        detail: String,
    },
    /// The run's probing time ran out before this probe finished (the invocation's deadline
    /// keeps the rest for publishing metrics and alerts).
    #[error(
        "not finished within the run's probing time of {} (the function's deadline keeps the rest for metrics and alerts)",
        describe_duration(*.budget)
    )]
    OutOfTime {
        /// The probing time the run had.
        budget: Duration,
    },
}

impl ProbeError {
    /// Whether a confirmation retry may see something else: every transport failure (refused,
    /// timeout, TLS, DNS, connection closed, redirect refused, …) is, a body over the cap and a
    /// bad `ca_file` are not, because the next attempt would end the same way.
    pub fn is_transient(&self) -> bool {
        !matches!(
            self,
            ProbeError::BodyTooLarge { .. }
                | ProbeError::CaFileUnreadable { .. }
                | ProbeError::CaFileNotPem { .. }
                | ProbeError::CaClient { .. }
                | ProbeError::OutOfTime { .. }
        )
    }

    /// A stable snake_case name of the kind, for structured logs.
    pub fn kind(&self) -> &'static str {
        match self {
            ProbeError::CaFileUnreadable { .. }
            | ProbeError::CaFileNotPem { .. }
            | ProbeError::CaClient { .. } => "ca_file",
            ProbeError::Dns { .. } => "dns",
            ProbeError::ConnectionRefused => "connection_refused",
            ProbeError::ConnectionReset => "connection_reset",
            ProbeError::ConnectionAborted => "connection_aborted",
            ProbeError::HostUnreachable { .. } | ProbeError::NetworkUnreachable => "unreachable",
            ProbeError::ConnectTimeout { .. } => "connect_timeout",
            ProbeError::HeaderTimeout { .. } => "header_timeout",
            ProbeError::BodyTimeout { .. } => "body_timeout",
            ProbeError::Tls { .. } => "tls",
            ProbeError::ClosedDuringTls
            | ProbeError::ClosedBeforeHeaders
            | ProbeError::ClosedDuringBody { .. } => "closed",
            ProbeError::HeadersTooLarge | ProbeError::InvalidResponse { .. } => "protocol",
            ProbeError::BodyTooLarge { .. } => "body_too_large",
            ProbeError::Decompression { .. } => "decompression",
            ProbeError::BodyRead { .. } => "body_read",
            ProbeError::RedirectRefused(_) => "redirect_refused",
            ProbeError::Connect { .. } => "connect",
            ProbeError::Request { .. } => "request",
            ProbeError::OutOfTime { .. } => "out_of_time",
        }
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

    #[test]
    fn every_kind_reads_as_the_reason_the_report_shows() {
        let s10 = Duration::from_secs(10);
        let cases: Vec<(ProbeError, &str, bool)> = vec![
            (
                ProbeError::Dns {
                    host: "nope.invalid".into(),
                },
                "DNS lookup failed for nope.invalid",
                true,
            ),
            (ProbeError::ConnectionRefused, "connection refused", true),
            (
                ProbeError::ConnectTimeout { limit: s10 },
                "connect timed out after 10s",
                true,
            ),
            (
                ProbeError::HeaderTimeout {
                    limit: Duration::from_millis(2500),
                },
                "timed out after 2.5s waiting for response headers",
                true,
            ),
            (
                ProbeError::BodyTimeout {
                    limit: s10,
                    received: 2048,
                },
                "timed out after 10s reading the body (2 KiB received)",
                true,
            ),
            (
                ProbeError::Tls {
                    detail: "certificate expired".into(),
                },
                "TLS handshake failed: certificate expired",
                true,
            ),
            (
                ProbeError::ClosedDuringBody { received: 1 },
                "connection closed before the body ended (1 byte received)",
                true,
            ),
            (
                ProbeError::BodyTooLarge { cap: 1024 * 1024 },
                "body exceeds 1 MiB",
                false,
            ),
            (
                ProbeError::Decompression {
                    received: 10,
                    detail: "invalid gzip header".into(),
                },
                "body could not be decompressed (10 bytes received): invalid gzip header",
                true,
            ),
            (
                ProbeError::RedirectRefused(RedirectRefused::Downgrade),
                "redirect from https to plain http not followed",
                true,
            ),
            (
                ProbeError::CaFileNotPem {
                    path: "/ca.pem".into(),
                    detail: "no certificates".into(),
                },
                "ca_file /ca.pem is not PEM: no certificates",
                false,
            ),
        ];
        for (error, text, transient) in cases {
            assert_eq!(error.to_string(), text);
            assert_eq!(error.is_transient(), transient, "{text}");
        }
    }
}
