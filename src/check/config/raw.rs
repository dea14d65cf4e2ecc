//! The config file's shape as serde reads it (stage one): every field optional where it has a
//! default, unknown keys rejected so a typo never silently does nothing. No I/O, no checks. In
//! test builds the types also derive a JSON Schema, which the shipped `config/canary.schema.json`
//! is compared with (the `schema` tests).

use serde::Deserialize;
use std::collections::BTreeMap;

/// The whole file (or `CANARY_CONFIG`).
#[derive(Deserialize, Debug, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    /// The JSON Schema the file follows (for editors); ignored.
    #[serde(rename = "$schema")]
    #[allow(dead_code)]
    pub schema: Option<String>,
    pub canary: Option<String>,
    #[serde(default)]
    pub targets: Vec<RawTarget>,
    pub concurrency: Option<usize>,
    #[serde(default)]
    pub metrics: RawMetrics,
    #[serde(default)]
    pub alerts: RawAlerts,
}

/// `metrics`.
#[derive(Deserialize, Debug, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetrics {
    pub namespace: Option<String>,
    pub measurements: Option<RawMeasurements>,
    pub publisher: Option<String>,
}

/// `metrics.measurements`: `"all"`, `"none"`, a comma-separated word, or a list of names.
#[derive(Deserialize, Debug)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(untagged)]
pub(super) enum RawMeasurements {
    Word(String),
    List(Vec<String>),
}

/// `alerts`.
#[derive(Deserialize, Debug, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlerts {
    pub topic_arn: Option<String>,
    pub state_table: Option<String>,
    pub reminder_minutes: Option<u32>,
    pub notify_warn: Option<bool>,
    pub failure_threshold: Option<u32>,
    pub recovery_threshold: Option<u32>,
    pub flapping: Option<RawFlapping>,
    #[serde(default)]
    pub maintenance: Vec<RawWindow>,
}

/// `alerts.flapping`: `false` (off), `true` (defaults), or the numbers.
#[derive(Deserialize, Debug)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(untagged)]
pub(super) enum RawFlapping {
    Switch(bool),
    Tuned(RawFlapSettings),
}

/// `alerts.flapping` as numbers.
#[derive(Deserialize, Debug)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub(super) struct RawFlapSettings {
    pub window_minutes: Option<u32>,
    pub changes: Option<u32>,
}

/// One entry of `alerts.maintenance`: a weekly window.
#[derive(Deserialize, Debug)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub(super) struct RawWindow {
    pub days: Vec<String>,
    pub start: String,
    pub duration_minutes: u32,
    pub time_zone: Option<String>,
    pub target: Option<String>,
}

/// One entry of `targets`.
#[derive(Deserialize, Debug, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub(super) struct RawTarget {
    pub name: Option<String>,
    pub url: String,
    pub method: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub timeout_seconds: Option<f64>,
    pub expected_status: Option<Vec<RawStatus>>,
    pub format: Option<String>,
    #[serde(default)]
    pub conditions: Vec<RawCondition>,
    pub critical: Option<bool>,
    pub retries: Option<u32>,
    pub retry_delay_ms: Option<u64>,
    pub max_body_bytes: Option<usize>,
    pub allow_http: Option<bool>,
    #[serde(default)]
    pub hints: BTreeMap<String, String>,
    pub ca_file: Option<String>,
}

/// One entry of `expected_status`: a code (`200`) or a pattern (`"200"`, `"2xx"`).
#[derive(Deserialize, Debug)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(untagged)]
pub(super) enum RawStatus {
    Code(u16),
    Pattern(String),
}

/// One entry of `conditions`: the expression alone, or with a severity.
#[derive(Deserialize, Debug)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(untagged)]
pub(super) enum RawCondition {
    Expr(String),
    Full(RawConditionFull),
}

/// `{"expr": …, "severity": …}`.
#[derive(Deserialize, Debug)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub(super) struct RawConditionFull {
    pub expr: String,
    #[serde(default)]
    pub severity: Option<String>,
}

impl RawConfig {
    /// Every text that may hold references, target by target: the URL, then each header value.
    pub fn templates(&self) -> impl Iterator<Item = &str> {
        self.targets.iter().flat_map(|t| {
            std::iter::once(t.url.as_str()).chain(t.headers.values().map(String::as_str))
        })
    }
}

/// Parses the JSON text; `Err` is serde's message (with line and column).
pub(super) fn parse(text: &str) -> Result<RawConfig, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}
