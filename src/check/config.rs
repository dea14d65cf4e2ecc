//! Configuration: the raw JSON/env shape (serde, unknown keys rejected) is converted once into a
//! validated `Config`. This is the only place defaults live; the CLI and the Lambda share it.

use crate::check::condition::Condition;
use crate::check::formats::Format;
use crate::check::report::Status;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

/// Default canary name when none is configured.
pub const DEFAULT_CANARY: &str = "health-canary";
/// Default CloudWatch namespace.
pub const DEFAULT_NAMESPACE: &str = "HealthCanary";
/// Default per-target timeout.
pub const DEFAULT_TIMEOUT_SECONDS: f64 = 10.0;
/// Longest per-target timeout allowed: a run must fit in a Lambda invocation.
pub const MAX_TIMEOUT_SECONDS: f64 = 120.0;
/// Default body cap.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Largest body cap allowed.
pub const MAX_BODY_BYTES_LIMIT: usize = 16 * 1024 * 1024;

/// Why a configuration was rejected. Every message says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Neither a URL nor a config was given.
    #[error(
        "no targets: give a URL (--url or CANARY_URL) or a config (--config FILE or CANARY_CONFIG)"
    )]
    Missing,
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The path given.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The JSON did not match the schema (unknown key, wrong type, syntax).
    #[error("invalid config {origin}: {message}")]
    Syntax {
        /// Where the JSON came from.
        origin: String,
        /// serde's message, with line and column.
        message: String,
    },
    /// The JSON parsed but values are out of range or inconsistent.
    #[error("invalid config:\n  - {}", .0.join("\n  - "))]
    Invalid(Vec<String>),
}

/// A header value that may hold a secret; it never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
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

/// Alert policy settings.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertConfig {
    /// SNS topic; alerts are off when absent.
    pub topic_arn: Option<String>,
    /// Minutes between REMINDERs while an incident lasts.
    pub reminder_minutes: u32,
    /// Whether WARN notices are sent.
    pub notify_warn: bool,
    /// Consecutive failing runs before the first FAIL alert.
    pub failure_threshold: u32,
    /// The schedule interval, used to read past runs' state back.
    pub interval_minutes: u32,
    /// Troubleshooting hints for alert emails, target name → component name → hint (copied
    /// from each `Target.hints`, so the alert sink needs only this struct).
    pub hints: BTreeMap<String, BTreeMap<String, String>>,
}

/// One validated target.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// Unique name (a CloudWatch dimension).
    pub name: String,
    /// http(s) URL.
    pub url: reqwest::Url,
    /// HTTP method.
    pub method: reqwest::Method,
    /// Headers, env references already resolved; values are secrets.
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

// ---- raw shapes -------------------------------------------------------------------------------

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    canary: Option<String>,
    #[serde(default)]
    targets: Vec<RawTarget>,
    concurrency: Option<usize>,
    #[serde(default)]
    metrics: RawMetrics,
    #[serde(default)]
    alerts: RawAlerts,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    namespace: Option<String>,
    measurements: Option<RawMeasurements>,
    publisher: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(untagged)]
enum RawMeasurements {
    Word(String),
    List(Vec<String>),
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct RawAlerts {
    topic_arn: Option<String>,
    reminder_minutes: Option<u32>,
    notify_warn: Option<bool>,
    failure_threshold: Option<u32>,
    interval_minutes: Option<u32>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    name: Option<String>,
    url: String,
    method: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    timeout_seconds: Option<f64>,
    expected_status: Option<Vec<RawStatus>>,
    format: Option<String>,
    #[serde(default)]
    conditions: Vec<RawCondition>,
    critical: Option<bool>,
    retries: Option<u32>,
    retry_delay_ms: Option<u64>,
    max_body_bytes: Option<usize>,
    allow_http: Option<bool>,
    #[serde(default)]
    hints: BTreeMap<String, String>,
    ca_file: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(untagged)]
enum RawStatus {
    Code(u16),
    Pattern(String),
}

#[derive(Deserialize, Debug)]
#[serde(untagged)]
enum RawCondition {
    Expr(String),
    Full(RawConditionFull),
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct RawConditionFull {
    expr: String,
    #[serde(default)]
    severity: Option<String>,
}

// ---- sources ----------------------------------------------------------------------------------

/// Settings that come from flags or environment variables and override the file.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// Simple mode: a single URL.
    pub url: Option<String>,
    /// Canary name.
    pub canary: Option<String>,
    /// CloudWatch namespace (`CANARY_NAMESPACE`).
    pub namespace: Option<String>,
    /// SNS topic (`CANARY_TOPIC_ARN`).
    pub topic_arn: Option<String>,
    /// `CANARY_REMINDER_MINUTES`.
    pub reminder_minutes: Option<String>,
    /// `CANARY_NOTIFY_WARN`.
    pub notify_warn: Option<String>,
    /// `CANARY_FAILURE_THRESHOLD`.
    pub failure_threshold: Option<String>,
    /// `CANARY_INTERVAL_MINUTES`.
    pub interval_minutes: Option<String>,
    /// `CANARY_MEASUREMENTS`: `all`, `none`, or a comma-separated list.
    pub measurements: Option<String>,
    /// `CANARY_PUBLISHER`: `api` or `emf`.
    pub publisher: Option<String>,
    /// `--allow-http`: plain http allowed for every target.
    pub allow_http: bool,
}

impl Overrides {
    /// Reads the `CANARY_*` environment variables (empty values count as unset, as SAM passes them).
    pub fn from_env() -> Overrides {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        Overrides {
            url: var("CANARY_URL"),
            canary: var("CANARY_NAME"),
            namespace: var("CANARY_NAMESPACE"),
            topic_arn: var("CANARY_TOPIC_ARN"),
            reminder_minutes: var("CANARY_REMINDER_MINUTES"),
            notify_warn: var("CANARY_NOTIFY_WARN"),
            failure_threshold: var("CANARY_FAILURE_THRESHOLD"),
            interval_minutes: var("CANARY_INTERVAL_MINUTES"),
            measurements: var("CANARY_MEASUREMENTS"),
            publisher: var("CANARY_PUBLISHER"),
            allow_http: false,
        }
    }
}

/// Loads the configuration the way both entry points do: a config file path, else inline JSON
/// (`CANARY_CONFIG`), else simple mode from the URL override. `env` resolves `${VAR}` in headers.
pub fn load(
    file: Option<&str>,
    inline_json: Option<&str>,
    overrides: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let raw = match (file, inline_json) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_string(),
                source,
            })?;
            parse_raw(&text, &format!("file {path}"))?
        }
        (None, Some(json)) if !json.trim().is_empty() => parse_raw(json, "in CANARY_CONFIG")?,
        _ => RawConfig::default(),
    };
    validate(raw, overrides, env)
}

fn parse_raw(text: &str, origin: &str) -> Result<RawConfig, ConfigError> {
    serde_json::from_str(text).map_err(|e| ConfigError::Syntax {
        origin: origin.to_string(),
        message: e.to_string(),
    })
}

fn validate(
    mut raw: RawConfig,
    ov: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let mut errors = Vec::new();
    if let Some(url) = &ov.url {
        if raw.targets.is_empty() {
            raw.targets.push(RawTarget {
                url: url.clone(),
                ..RawTarget::default()
            });
        } else {
            errors.push("give either a URL or a config with targets, not both".to_string());
        }
    }
    if raw.targets.is_empty() {
        return Err(ConfigError::Missing);
    }

    let canary = ov
        .canary
        .clone()
        .or(raw.canary)
        .unwrap_or_else(|| DEFAULT_CANARY.to_string());
    if canary.trim().is_empty() || canary.len() > 255 {
        errors.push("canary: the name must be 1 to 255 characters".into());
    }

    let concurrency = raw.concurrency.unwrap_or(32);
    if !(1..=256).contains(&concurrency) {
        errors.push(format!(
            "concurrency: {concurrency} is out of range, use 1 to 256"
        ));
    }

    let mut seen = HashSet::new();
    let mut targets = Vec::new();
    for (i, t) in raw.targets.into_iter().enumerate() {
        match validate_target(i, t, ov.allow_http, env) {
            Ok(t) => {
                if !seen.insert(t.name.clone()) {
                    errors.push(format!(
                        "targets[{i}]: duplicate target name '{}': names must be unique (they are metric dimensions)",
                        t.name
                    ));
                }
                targets.push(t);
            }
            Err(mut es) => errors.append(&mut es),
        }
    }

    let metrics = validate_metrics(raw.metrics, ov, &mut errors);
    let mut alerts = validate_alerts(raw.alerts, ov, &mut errors);
    alerts.hints = targets
        .iter()
        .filter(|t| !t.hints.is_empty())
        .map(|t| (t.name.clone(), t.hints.clone()))
        .collect();

    if errors.is_empty() {
        Ok(Config {
            canary,
            targets,
            concurrency,
            metrics,
            alerts,
        })
    } else {
        Err(ConfigError::Invalid(errors))
    }
}

fn validate_target(
    i: usize,
    t: RawTarget,
    allow_http_everywhere: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Target, Vec<String>> {
    let mut errors = Vec::new();
    let at = |field: &str| format!("targets[{i}].{field}");

    let url = match reqwest::Url::parse(t.url.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Some(u),
        Ok(u) => {
            errors.push(format!(
                "{}: '{}' must be an http:// or https:// URL with a host (got scheme '{}')",
                at("url"),
                t.url,
                u.scheme()
            ));
            None
        }
        Err(e) => {
            errors.push(format!("{}: '{}' is not a URL: {e}", at("url"), t.url));
            None
        }
    };
    let allow_http = allow_http_everywhere || t.allow_http.unwrap_or(false);
    if let Some(u) = &url {
        if u.scheme() == "http" && !allow_http && !is_loopback(u) {
            errors.push(format!(
                "{}: plain http to '{}' is refused: use https, or set \"allow_http\": true on the target (--allow-http on the CLI)",
                at("url"),
                u.host_str().unwrap_or_default()
            ));
        }
        if !u.username().is_empty() || u.password().is_some() {
            errors.push(format!(
                "{}: credentials in the URL would leak into reports and metrics: put them in a header that references an environment variable",
                at("url")
            ));
        }
    }

    let name = match t.name {
        Some(n) => n,
        None => url
            .as_ref()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| format!("target-{i}")),
    };
    if name.trim().is_empty() || name.len() > 255 {
        errors.push(format!(
            "{}: the name must be 1 to 255 characters",
            at("name")
        ));
    }

    let method = match t
        .method
        .as_deref()
        .unwrap_or("GET")
        .to_ascii_uppercase()
        .as_str()
    {
        "GET" => reqwest::Method::GET,
        "HEAD" => reqwest::Method::HEAD,
        "POST" => reqwest::Method::POST,
        other => {
            errors.push(format!(
                "{}: '{other}' is not supported, use GET, HEAD or POST",
                at("method")
            ));
            reqwest::Method::GET
        }
    };

    let mut headers = Vec::new();
    for (k, v) in t.headers {
        if reqwest::header::HeaderName::from_bytes(k.as_bytes()).is_err() {
            errors.push(format!(
                "{}: '{k}' is not a valid header name",
                at("headers")
            ));
            continue;
        }
        match interpolate(&v, env) {
            Ok(value) if reqwest::header::HeaderValue::from_str(&value).is_ok() => {
                headers.push((k, Secret(value)))
            }
            // The resolved value may be a secret, so it is never quoted.
            Ok(_) => errors.push(format!(
                "{}: the value of '{k}' is not a valid header value (control characters?)",
                at("headers")
            )),
            Err(var) => errors.push(format!(
                "{}: the value of '{k}' references ${{{var}}}, which is not set in the environment",
                at("headers")
            )),
        }
    }

    let timeout_s = t.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS);
    if !(timeout_s.is_finite() && timeout_s > 0.0 && timeout_s <= MAX_TIMEOUT_SECONDS) {
        errors.push(format!(
            "{}: {timeout_s} is out of range, use more than 0 and at most {MAX_TIMEOUT_SECONDS} seconds",
            at("timeout_seconds")
        ));
    }

    let mut expected_statuses = Vec::new();
    for s in t.expected_status.unwrap_or_default() {
        match parse_status_range(&s) {
            Some(r) => expected_statuses.push(r),
            None => errors.push(format!(
                "{}: {s:?} is not an HTTP status: use a code 100-599 or a class like \"2xx\"",
                at("expected_status")
            )),
        }
    }
    if expected_statuses.is_empty() {
        expected_statuses.push(StatusRange {
            low: 200,
            high: 299,
        });
    }

    let format = match t.format.as_deref() {
        None | Some("auto") => None,
        Some(name) => match Format::from_name(name) {
            Some(f) => Some(f),
            None => {
                let names: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
                errors.push(format!(
                    "{}: '{name}' is not a format, use auto or one of {}",
                    at("format"),
                    names.join(", ")
                ));
                None
            }
        },
    };

    let mut conditions = Vec::new();
    for (j, c) in t.conditions.into_iter().enumerate() {
        let (expr, severity) = match c {
            RawCondition::Expr(e) => (e, None),
            RawCondition::Full(f) => (f.expr, f.severity),
        };
        let severity = match severity.as_deref().map(str::to_ascii_uppercase).as_deref() {
            None | Some("FAIL") => Status::Fail,
            Some("WARN") => Status::Warn,
            Some(other) => {
                errors.push(format!(
                    "{}: severity '{other}' must be FAIL or WARN",
                    at(&format!("conditions[{j}]"))
                ));
                Status::Fail
            }
        };
        match Condition::parse(&expr, severity) {
            Ok(c) => conditions.push(c),
            Err(e) => errors.push(format!("{}: {e}", at(&format!("conditions[{j}]")))),
        }
    }

    let retries = t.retries.unwrap_or(1);
    if retries > 3 {
        errors.push(format!(
            "{}: {retries} is out of range, use 0 to 3",
            at("retries")
        ));
    }
    let retry_delay_ms = t.retry_delay_ms.unwrap_or(2000);
    if retry_delay_ms > 30_000 {
        errors.push(format!(
            "{}: {retry_delay_ms} is out of range, use 0 to 30000",
            at("retry_delay_ms")
        ));
    }
    let max_body_bytes = t.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES);
    if !(1..=MAX_BODY_BYTES_LIMIT).contains(&max_body_bytes) {
        errors.push(format!(
            "{}: {max_body_bytes} is out of range, use 1 to {MAX_BODY_BYTES_LIMIT}",
            at("max_body_bytes")
        ));
    }

    let ca_file = t.ca_file.map(std::path::PathBuf::from);
    if let Some(path) = &ca_file {
        match std::fs::read(path) {
            Ok(pem) => match reqwest::Certificate::from_pem_bundle(&pem) {
                Ok(certs) if !certs.is_empty() => {}
                _ => errors.push(format!(
                    "{}: '{}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                    at("ca_file"),
                    path.display()
                )),
            },
            Err(e) => errors.push(format!(
                "{}: cannot read '{}': {e}",
                at("ca_file"),
                path.display()
            )),
        }
    }

    match (url, errors.is_empty()) {
        (Some(url), true) => Ok(Target {
            name,
            url,
            method,
            headers,
            timeout: Duration::from_secs_f64(timeout_s),
            expected_statuses,
            format,
            conditions,
            critical: t.critical.unwrap_or(true),
            retries,
            retry_delay: Duration::from_millis(retry_delay_ms),
            max_body_bytes,
            allow_http,
            hints: t.hints,
            ca_file,
        }),
        _ => Err(errors),
    }
}

fn validate_metrics(raw: RawMetrics, ov: &Overrides, errors: &mut Vec<String>) -> MetricsConfig {
    let namespace = ov
        .namespace
        .clone()
        .or(raw.namespace)
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string());
    if namespace.is_empty()
        || namespace.len() > 255
        || namespace.starts_with("AWS/")
        || !namespace
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_/#:".contains(c))
    {
        errors.push(format!(
            "metrics.namespace: '{namespace}' is not a valid CloudWatch namespace (1-255 of A-Z a-z 0-9 . - _ / # :, not starting with AWS/)"
        ));
    }
    let measurements = match (&ov.measurements, raw.measurements) {
        (Some(s), _) => parse_measurements_word(s),
        (None, Some(RawMeasurements::Word(w))) => parse_measurements_word(&w),
        (None, Some(RawMeasurements::List(l))) => Measurements::Only(l),
        (None, None) => Measurements::All,
    };
    let publisher = match ov
        .publisher
        .clone()
        .or(raw.publisher)
        .unwrap_or_else(|| "api".into())
        .to_ascii_lowercase()
        .as_str()
    {
        "api" => Publisher::Api,
        "emf" => Publisher::Emf,
        other => {
            errors.push(format!("metrics.publisher: '{other}' must be api or emf"));
            Publisher::Api
        }
    };
    MetricsConfig {
        namespace,
        measurements,
        publisher,
    }
}

fn parse_measurements_word(s: &str) -> Measurements {
    match s.trim().to_ascii_lowercase().as_str() {
        "all" => Measurements::All,
        "none" | "" => Measurements::None,
        _ => Measurements::Only(
            s.split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect(),
        ),
    }
}

fn validate_alerts(raw: RawAlerts, ov: &Overrides, errors: &mut Vec<String>) -> AlertConfig {
    let mut number = |name: &str,
                      env: &Option<String>,
                      file: Option<u32>,
                      default: u32,
                      range: std::ops::RangeInclusive<u32>| {
        let value = match env {
            Some(s) => match s.trim().parse::<u32>() {
                Ok(v) => v,
                Err(_) => {
                    errors.push(format!("alerts.{name}: '{s}' is not a whole number"));
                    default
                }
            },
            None => file.unwrap_or(default),
        };
        if !range.contains(&value) {
            errors.push(format!(
                "alerts.{name}: {value} is out of range, use {} to {}",
                range.start(),
                range.end()
            ));
        }
        value
    };
    let reminder_minutes = number(
        "reminder_minutes",
        &ov.reminder_minutes,
        raw.reminder_minutes,
        60,
        0..=10_080,
    );
    let failure_threshold = number(
        "failure_threshold",
        &ov.failure_threshold,
        raw.failure_threshold,
        1,
        1..=100,
    );
    let interval_minutes = number(
        "interval_minutes",
        &ov.interval_minutes,
        raw.interval_minutes,
        5,
        1..=1440,
    );
    let notify_warn = match ov
        .notify_warn
        .as_deref()
        .map(|s| s.trim().to_ascii_lowercase())
    {
        Some(s) if ["true", "1", "yes"].contains(&s.as_str()) => true,
        Some(s) if ["false", "0", "no"].contains(&s.as_str()) => false,
        Some(s) => {
            errors.push(format!("alerts.notify_warn: '{s}' must be true or false"));
            false
        }
        None => raw.notify_warn.unwrap_or(false),
    };
    let topic_arn = ov.topic_arn.clone().or(raw.topic_arn);
    if let Some(arn) = &topic_arn {
        if !arn.starts_with("arn:") {
            errors.push(format!("alerts.topic_arn: '{arn}' is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"));
        }
    }
    AlertConfig {
        topic_arn,
        reminder_minutes,
        notify_warn,
        failure_threshold,
        interval_minutes,
        hints: BTreeMap::new(),
    }
}

/// Replaces `${VAR}` with the variable's value; `Err(VAR)` names the first unset one.
fn interpolate(template: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let var = &after[..end];
        out.push_str(&env(var).ok_or_else(|| var.to_string())?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn parse_status_range(s: &RawStatus) -> Option<StatusRange> {
    match s {
        RawStatus::Code(c) if (100..=599).contains(c) => Some(StatusRange { low: *c, high: *c }),
        RawStatus::Code(_) => None,
        RawStatus::Pattern(p) => {
            let p = p.trim().to_ascii_lowercase();
            if let Some(class) = p.strip_suffix("xx") {
                let d: u16 = class.parse().ok().filter(|d| (1..=5).contains(d))?;
                Some(StatusRange {
                    low: d * 100,
                    high: d * 100 + 99,
                })
            } else {
                let c: u16 = p.parse().ok().filter(|c| (100..=599).contains(c))?;
                Some(StatusRange { low: c, high: c })
            }
        }
    }
}

/// Whether the URL's host is loopback (plain http is always allowed there: local tests, sidecars).
pub fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn load_json(json: &str) -> Result<Config, ConfigError> {
        load(None, Some(json), &Overrides::default(), &no_env)
    }

    fn errors_of(json: &str) -> String {
        load_json(json).unwrap_err().to_string()
    }

    #[test]
    fn simple_mode_needs_only_a_url() {
        let ov = Overrides {
            url: Some("https://example.com/api/health/system".into()),
            ..Overrides::default()
        };
        let c = load(None, None, &ov, &no_env).unwrap();
        assert_eq!(c.canary, DEFAULT_CANARY);
        assert_eq!(c.targets.len(), 1);
        let t = &c.targets[0];
        assert_eq!(t.name, "example.com");
        assert_eq!(t.timeout, Duration::from_secs(10));
        assert_eq!(t.retries, 1);
        assert!(t.critical);
        assert_eq!(
            t.expected_statuses,
            vec![StatusRange {
                low: 200,
                high: 299
            }]
        );
        assert_eq!(c.metrics.namespace, "HealthCanary");
        assert_eq!(c.alerts.reminder_minutes, 60);
        assert_eq!(c.alerts.failure_threshold, 1);
        assert!(!c.alerts.notify_warn);
    }

    #[test]
    fn nothing_given_says_how_to_give_targets() {
        let e = load(None, None, &Overrides::default(), &no_env).unwrap_err();
        assert!(e.to_string().contains("--url or CANARY_URL"));
    }

    #[test]
    fn full_mode_reads_every_field() {
        let env = |k: &str| (k == "TOKEN").then(|| "s3cret".to_string());
        let c = load(
            None,
            Some(
                r#"{"canary":"prod","concurrency":4,
                "targets":[{"name":"system","url":"https://x.example/h","method":"get",
                  "headers":{"Authorization":"Bearer ${TOKEN}"},"timeout_seconds":2.5,
                  "expected_status":[200,"3xx"],"format":"component_map",
                  "conditions":["market_data.max_age_minutes < 30",{"expr":"trade_system.open_orders <= 50","severity":"warn"}],
                  "critical":false,"retries":0,"hints":{"market_data":"restart the updater"}}],
                "metrics":{"namespace":"Ops/Canary","measurements":["stale_symbols"],"publisher":"emf"},
                "alerts":{"reminder_minutes":30,"notify_warn":true,"failure_threshold":2}}"#,
            ),
            &Overrides::default(),
            &env,
        )
        .unwrap();
        let t = &c.targets[0];
        assert_eq!(t.headers[0].1.expose(), "Bearer s3cret");
        assert_eq!(format!("{:?}", t.headers[0].1), "Secret(***)");
        assert_eq!(t.format, Some(Format::ComponentMap));
        assert_eq!(t.conditions.len(), 2);
        assert_eq!(t.conditions[1].severity, Status::Warn);
        assert!(!t.critical);
        assert_eq!(
            t.expected_statuses[1],
            StatusRange {
                low: 300,
                high: 399
            }
        );
        assert_eq!(
            c.metrics.measurements,
            Measurements::Only(vec!["stale_symbols".into()])
        );
        assert_eq!(c.metrics.publisher, Publisher::Emf);
        assert_eq!(c.alerts.failure_threshold, 2);
    }

    #[test]
    fn each_invalid_value_is_named_with_what_to_fix() {
        let cases = [
            (
                r#"{"targets":[{"url":"https://a/","timout_seconds":3}]}"#,
                "unknown field `timout_seconds`",
            ),
            (
                r#"{"targets":[{"name":"a","url":"https://a/"},{"name":"a","url":"https://b/"}]}"#,
                "duplicate target name 'a'",
            ),
            (
                r#"{"targets":[{"url":"ftp://a/"}]}"#,
                "must be an http:// or https:// URL",
            ),
            (r#"{"targets":[{"url":"not a url"}]}"#, "is not a URL"),
            (
                r#"{"targets":[{"url":"https://a/","timeout_seconds":0}]}"#,
                "timeout_seconds: 0 is out of range",
            ),
            (
                r#"{"targets":[{"url":"https://a/","timeout_seconds":600}]}"#,
                "timeout_seconds: 600 is out of range",
            ),
            (
                r#"{"targets":[{"url":"https://a/","expected_status":[99]}]}"#,
                "is not an HTTP status",
            ),
            (
                r#"{"targets":[{"url":"https://a/","format":"yaml"}]}"#,
                "'yaml' is not a format",
            ),
            (
                r#"{"targets":[{"url":"https://a/","conditions":["x <"]}]}"#,
                "conditions[0]",
            ),
            (
                r#"{"targets":[{"url":"https://a/","headers":{"X":"${NOPE}"}}]}"#,
                "references ${NOPE}, which is not set",
            ),
            (
                r#"{"targets":[{"url":"http://example.com/"}]}"#,
                "plain http to 'example.com' is refused",
            ),
            (
                r#"{"targets":[{"url":"https://u:p@a/"}]}"#,
                "credentials in the URL",
            ),
            (
                r#"{"targets":[{"url":"https://a/","retries":9}]}"#,
                "retries: 9 is out of range",
            ),
            (
                r#"{"targets":[{"url":"https://a/"}],"concurrency":0}"#,
                "concurrency: 0 is out of range",
            ),
            (
                r#"{"targets":[{"url":"https://a/"}],"metrics":{"namespace":"AWS/Lambda"}}"#,
                "not a valid CloudWatch namespace",
            ),
            (
                r#"{"targets":[{"url":"https://a/"}],"alerts":{"failure_threshold":0}}"#,
                "failure_threshold: 0 is out of range",
            ),
            (
                r#"{"targets":[{"url":"https://a/"}],"alerts":{"topic_arn":"my-topic"}}"#,
                "is not an SNS topic ARN",
            ),
            (
                r#"{"targets":[{"url":"https://a/","method":"DELETE"}]}"#,
                "'DELETE' is not supported",
            ),
            (
                r#"{"targets":[{"url":"https://a/","ca_file":"/nonexistent/ca.pem"}]}"#,
                "targets[0].ca_file: cannot read '/nonexistent/ca.pem'",
            ),
            (
                r#"{"targets":[{"url":"https://a/","ca_file":"Cargo.toml"}]}"#,
                "holds no PEM certificate",
            ),
            (r#"{"targets":"#, "invalid config in CANARY_CONFIG"),
        ];
        for (json, want) in cases {
            let e = errors_of(json);
            assert!(e.contains(want), "{json}\n=> {e}");
        }
    }

    #[test]
    fn all_errors_are_reported_together() {
        let e = errors_of(r#"{"targets":[{"url":"ftp://a/","retries":9}],"concurrency":0}"#);
        assert!(
            e.contains("ftp://") && e.contains("retries") && e.contains("concurrency"),
            "{e}"
        );
    }

    #[test]
    fn plain_http_is_allowed_to_loopback_or_when_opted_in() {
        assert!(load_json(r#"{"targets":[{"url":"http://127.0.0.1:8080/h"}]}"#).is_ok());
        assert!(load_json(r#"{"targets":[{"url":"http://localhost/h"}]}"#).is_ok());
        assert!(load_json(r#"{"targets":[{"url":"http://[::1]/h"}]}"#).is_ok());
        assert!(
            load_json(r#"{"targets":[{"url":"http://example.com/","allow_http":true}]}"#).is_ok()
        );
        let ov = Overrides {
            url: Some("http://example.com/".into()),
            allow_http: true,
            ..Overrides::default()
        };
        assert!(load(None, None, &ov, &no_env).is_ok());
    }

    #[test]
    fn env_overrides_beat_the_file() {
        let ov = Overrides {
            namespace: Some("Other".into()),
            reminder_minutes: Some("15".into()),
            notify_warn: Some("true".into()),
            measurements: Some("none".into()),
            topic_arn: Some("arn:aws:sns:us-east-1:000000000000:t".into()),
            ..Overrides::default()
        };
        let c = load(
            None,
            Some(r#"{"targets":[{"url":"https://a/"}],"alerts":{"reminder_minutes":60}}"#),
            &ov,
            &no_env,
        )
        .unwrap();
        assert_eq!(c.metrics.namespace, "Other");
        assert_eq!(c.alerts.reminder_minutes, 15);
        assert!(c.alerts.notify_warn);
        assert_eq!(c.metrics.measurements, Measurements::None);
        assert!(c.alerts.topic_arn.is_some());
        let bad = Overrides {
            reminder_minutes: Some("soon".into()),
            ..Overrides::default()
        };
        let e = load(
            None,
            Some(r#"{"targets":[{"url":"https://a/"}]}"#),
            &bad,
            &no_env,
        )
        .unwrap_err();
        assert!(e.to_string().contains("'soon' is not a whole number"));
    }

    #[test]
    fn url_and_config_targets_together_is_an_error() {
        let ov = Overrides {
            url: Some("https://a/".into()),
            ..Overrides::default()
        };
        let e = load(
            None,
            Some(r#"{"targets":[{"url":"https://b/"}]}"#),
            &ov,
            &no_env,
        )
        .unwrap_err();
        assert!(e.to_string().contains("not both"));
    }

    #[test]
    fn missing_file_names_the_path() {
        let e = load(
            Some("/nonexistent/canary.json"),
            None,
            &Overrides::default(),
            &no_env,
        )
        .unwrap_err();
        assert!(e
            .to_string()
            .contains("cannot read config file /nonexistent/canary.json"));
    }
}
