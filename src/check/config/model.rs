//! The validated configuration (the last stage): types that cannot hold an invalid value, the
//! only shape the rest of the canary sees.

use crate::check::condition::Condition;
use crate::check::formats::Format;
use crate::sinks::alert::settings::Settings as AlertSettings;
use std::collections::BTreeMap;
use std::time::Duration;

/// A header value that may hold a secret; it never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value that must never print.
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// The value, for putting on the wire only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Which component measurements become CloudWatch metrics (each series costs money).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Measurements {
    /// Every numeric or boolean field.
    All,
    /// None: only the status metrics.
    None,
    /// Only fields with these names (as the service spells them).
    Only(Vec<String>),
}

/// How metrics leave the canary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Publisher {
    /// PutMetricData (default).
    Api,
    /// Embedded Metric Format on stdout (CloudWatch Logs turns it into metrics).
    Emf,
}

/// Metric settings.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricsConfig {
    /// CloudWatch namespace.
    pub namespace: String,
    /// Which measurements to publish.
    pub measurements: Measurements,
    /// API or EMF.
    pub publisher: Publisher,
}

/// Alert settings.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertConfig {
    /// SNS topic; alerts are off when absent.
    pub topic_arn: Option<String>,
    /// The DynamoDB table holding alert state, incidents and silences (required with a topic).
    pub state_table: Option<String>,
    /// The engine's policy: thresholds, reminders, flapping, maintenance windows.
    pub engine: AlertSettings,
    /// Troubleshooting hints for alert emails, target name → component name → hint (copied
    /// from each `Target.hints`, so the alert sink needs only this struct).
    pub hints: BTreeMap<String, BTreeMap<String, String>>,
}

/// One validated target. Its `Debug` shows [`Target::shown_url`], never the URL as sent.
#[derive(Clone, PartialEq)]
pub struct Target {
    /// Unique name (a CloudWatch dimension).
    pub name: String,
    /// The http(s) URL as requested: references in its path or query hold their values, so it
    /// may carry a secret. Only the probe reads it; everything that prints uses `shown_url`.
    pub url: reqwest::Url,
    /// The URL as reports, logs and alerts show it: each reference as written (`${ssm:/x}`).
    pub shown_url: String,
    /// HTTP method.
    pub method: reqwest::Method,
    /// Headers, references already resolved; values are secrets.
    pub headers: Vec<(String, Secret)>,
    /// Whole-request timeout (connect, headers, body).
    pub timeout: Duration,
    /// Accepted HTTP statuses.
    pub expected_statuses: Vec<StatusRange>,
    /// Forced format; `None` means auto-detect.
    pub format: Option<Format>,
    /// Conditions to evaluate.
    pub conditions: Vec<Condition>,
    /// Whether a FAIL here fails the canary.
    pub critical: bool,
    /// Confirmation retries after a transport error or 5xx.
    pub retries: u32,
    /// Delay before a confirmation retry.
    pub retry_delay: Duration,
    /// Body cap in bytes (after decompression).
    pub max_body_bytes: usize,
    /// Whether plain http is allowed to a host other than loopback.
    pub allow_http: bool,
    /// Per-component troubleshooting hints shown in alert emails.
    pub hints: BTreeMap<String, String>,
    /// Extra trusted CA certificates (PEM) for a private CA, on top of the system roots.
    pub ca_file: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Every field but `url`, which may hold a resolved secret.
        f.debug_struct("Target")
            .field("name", &self.name)
            .field("shown_url", &self.shown_url)
            .field("method", &self.method)
            .field("headers", &self.headers)
            .field("timeout", &self.timeout)
            .field("expected_statuses", &self.expected_statuses)
            .field("format", &self.format)
            .field("conditions", &self.conditions)
            .field("critical", &self.critical)
            .field("retries", &self.retries)
            .field("retry_delay", &self.retry_delay)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("allow_http", &self.allow_http)
            .field("hints", &self.hints)
            .field("ca_file", &self.ca_file)
            .finish_non_exhaustive()
    }
}

/// An inclusive range of accepted HTTP statuses (`200`, or `2xx` = 200..=299).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusRange {
    /// Lowest accepted.
    pub low: u16,
    /// Highest accepted.
    pub high: u16,
}

impl StatusRange {
    /// Whether `code` is in the range.
    pub fn contains(&self, code: u16) -> bool {
        (self.low..=self.high).contains(&code)
    }
}

/// The validated configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The canary's name (a CloudWatch dimension).
    pub canary: String,
    /// Targets, in order.
    pub targets: Vec<Target>,
    /// How many targets are probed at once.
    pub concurrency: usize,
    /// Metric settings.
    pub metrics: MetricsConfig,
    /// Alert settings.
    pub alerts: AlertConfig,
}
