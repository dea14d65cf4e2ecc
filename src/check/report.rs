//! The result of one canary run: the single input of every sink (console, metrics, alerts).

use crate::check::text::single_line;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A judged health status. Ordered so that `max` is "the worst of".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// Healthy.
    Pass,
    /// Degraded, or something the canary could not classify.
    Warn,
    /// Broken: this is what pages people.
    Fail,
}

impl Status {
    /// The worse of two statuses.
    pub fn worst(self, other: Status) -> Status {
        self.max(other)
    }

    /// The worst of many statuses; `Pass` when there are none.
    pub fn worst_of(statuses: impl IntoIterator<Item = Status>) -> Status {
        statuses.into_iter().max().unwrap_or(Status::Pass)
    }

    /// The value published to CloudWatch: 0 PASS, 1 WARN, 2 FAIL.
    pub fn metric_value(self) -> f64 {
        match self {
            Status::Pass => 0.0,
            Status::Warn => 1.0,
            Status::Fail => 2.0,
        }
    }

    /// The upper-case word used in reports, subjects and metrics docs.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        }
    }

    /// The symbol shown in the console table.
    pub fn symbol(self) -> &'static str {
        match self {
            Status::Pass => "✅",
            Status::Warn => "⚠️",
            Status::Fail => "❌",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value a component reports about itself (`stale_symbols`, `is_running`, …).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// A finite number.
    Number(f64),
    /// A flag; published as 1 or 0.
    Bool(bool),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Number(n) => write!(f, "{n}"),
            Value::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl Value {
    /// The number CloudWatch receives for this value.
    pub fn as_f64(&self) -> f64 {
        match self {
            Value::Number(n) => *n,
            Value::Bool(b) => f64::from(u8::from(*b)),
        }
    }
}

/// One named measurement of a component, as the service reported it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// The field name as the service spells it (`max_age_minutes`).
    pub name: String,
    /// The reported value.
    pub value: Value,
    /// The unit, when the format carries one (`ms`, `percent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// `max_age_minutes=0.21`, the unit appended (`latency=12.5ms`); control characters from the
/// service are replaced so the text stays on one line.
impl std::fmt::Display for Measurement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = self.unit.as_deref().map(single_line).unwrap_or_default();
        write!(f, "{}={}{unit}", single_line(&self.name), self.value)
    }
}

/// Measurements as the console and the alert email show them, space-separated:
/// `fresh_symbols=33 stale_symbols=0 max_age_minutes=0.21`.
pub fn measurements_text(measurements: &[Measurement]) -> String {
    measurements
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// One component of a target (`market_data`, `redis`, `db`), judged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComponentResult {
    /// The component name as the service spells it.
    pub name: String,
    /// The judged status.
    pub status: Status,
    /// Why it is not PASS (or what the service said about it); `null` in JSON when PASS.
    #[serde(default)]
    pub reason: Option<String>,
    /// Numbers and flags the component reported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub measurements: Vec<Measurement>,
}

/// One evaluated condition of a target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConditionResult {
    /// The expression as configured (`market_data.max_age_minutes < 30`).
    pub expression: String,
    /// PASS when the condition holds, else its configured severity.
    pub status: Status,
    /// The value the left-hand side resolved to, when it resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<serde_json::Value>,
    /// Why it did not hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The judged result of probing one target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetResult {
    /// The configured target name.
    pub name: String,
    /// The URL probed (never carries secrets: those live in headers).
    pub url: String,
    /// Whether this target's FAIL fails the canary (a non-critical FAIL counts as WARN overall).
    pub critical: bool,
    /// The judged status: worst of transport, HTTP status, declared status, components, conditions.
    pub status: Status,
    /// Why the target is not PASS, at target level (transport error, HTTP status, body problem).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The final HTTP status code, when a response arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Whether that status is one the target expects (`expected_status`), when a response
    /// arrived; the `TargetUp` metric reads it, so no sink needs the configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status_expected: Option<bool>,
    /// Milliseconds from request start to the end of the body, for the last attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// How many attempts were made (1, or more when the confirmation retry ran).
    pub attempts: u32,
    /// Whole days until the server certificate expires (https only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_days_remaining: Option<i64>,
    /// The format the body was read as (`component_map`, `ietf`, `http`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The overall status word the service declared about itself, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_status: Option<String>,
    /// Every component the body described.
    #[serde(default)]
    pub components: Vec<ComponentResult>,
    /// Every configured condition, evaluated.
    #[serde(default)]
    pub conditions: Vec<ConditionResult>,
}

impl TargetResult {
    /// What this target contributes to the canary's overall status.
    pub fn overall_contribution(&self) -> Status {
        if !self.critical && self.status == Status::Fail {
            Status::Warn
        } else {
            self.status
        }
    }

    /// What the probe found, in one line, each part only when known and attempts only when the
    /// confirmation retry ran: `HTTP 200 · 31 ms · 2 attempts · cert 45 days · component_map`.
    /// The console's target line and the alert email both show it.
    pub fn facts(&self) -> String {
        let mut facts = Vec::new();
        if let Some(code) = self.http_status {
            facts.push(format!("HTTP {code}"));
        }
        if let Some(ms) = self.latency_ms {
            facts.push(format!("{ms} ms"));
        }
        if self.attempts > 1 {
            facts.push(format!("{} attempts", self.attempts));
        }
        if let Some(days) = self.cert_days_remaining {
            let unit = if days == 1 { "day" } else { "days" };
            facts.push(format!("cert {days} {unit}"));
        }
        if let Some(format) = &self.format {
            facts.push(single_line(format));
        }
        facts.join(" · ")
    }
}

/// The result of one canary run over all its targets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The canary's name (a CloudWatch dimension).
    pub canary: String,
    /// When the run started, UTC.
    pub checked_at: DateTime<Utc>,
    /// The worst target contribution: FAIL if any critical FAIL, else WARN if any WARN, else PASS.
    pub status: Status,
    /// Every target, in configuration order.
    pub targets: Vec<TargetResult>,
}

impl Report {
    /// Builds a report, deriving the overall status from the targets.
    pub fn new(canary: String, checked_at: DateTime<Utc>, targets: Vec<TargetResult>) -> Report {
        let status = Status::worst_of(targets.iter().map(TargetResult::overall_contribution));
        Report {
            canary,
            checked_at,
            status,
            targets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_orders_fail_over_warn_over_pass() {
        assert_eq!(Status::Pass.worst(Status::Warn), Status::Warn);
        assert_eq!(Status::Fail.worst(Status::Warn), Status::Fail);
        assert_eq!(Status::worst_of([]), Status::Pass);
        assert_eq!(Status::worst_of([Status::Warn, Status::Pass]), Status::Warn);
    }

    #[test]
    fn statuses_serialize_as_upper_case_words() {
        assert_eq!(serde_json::to_string(&Status::Warn).unwrap(), "\"WARN\"");
        assert_eq!(
            serde_json::from_str::<Status>("\"FAIL\"").unwrap(),
            Status::Fail
        );
    }

    #[test]
    fn non_critical_failure_counts_as_warn_overall() {
        let mut t = TargetResult {
            name: "a".into(),
            url: "http://127.0.0.1/".into(),
            critical: false,
            status: Status::Fail,
            reason: None,
            http_status: None,
            http_status_expected: None,
            latency_ms: None,
            attempts: 1,
            cert_days_remaining: None,
            format: None,
            declared_status: None,
            components: vec![],
            conditions: vec![],
        };
        let r = Report::new("c".into(), Utc::now(), vec![t.clone()]);
        assert_eq!(r.status, Status::Warn);
        t.critical = true;
        let r = Report::new("c".into(), Utc::now(), vec![t]);
        assert_eq!(r.status, Status::Fail);
    }

    #[test]
    fn measurements_print_numbers_flags_and_units_on_one_line() {
        let m = |name: &str, value: Value, unit: Option<&str>| Measurement {
            name: name.into(),
            value,
            unit: unit.map(str::to_string),
        };
        assert_eq!(
            measurements_text(&[
                m("open_orders", Value::Number(22.0), None),
                m("enabled", Value::Bool(true), None),
                m("latency", Value::Number(12.5), Some("ms")),
                m("bad\nname", Value::Number(0.21), Some("\u{1b}[31m")),
            ]),
            "open_orders=22 enabled=true latency=12.5ms bad name=0.21 [31m"
        );
        assert_eq!(measurements_text(&[]), "");
    }
}
