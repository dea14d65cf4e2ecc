//! Validating the config's other sections (raw + overrides → validated): the canary's name,
//! `concurrency`, `metrics` and `alerts` (its maintenance windows in `windows`). An override,
//! when set, wins over the file; the file wins over the defaults.

use super::defaults::{
    CONCURRENCY_RANGE, DEFAULT_CANARY, DEFAULT_CONCURRENCY, DEFAULT_FAILURE_THRESHOLD,
    DEFAULT_FLAP_CHANGES, DEFAULT_FLAP_WINDOW_MINUTES, DEFAULT_NAMESPACE, DEFAULT_NOTIFY_WARN,
    DEFAULT_PUBLISHER, DEFAULT_RECOVERY_THRESHOLD, DEFAULT_REMINDER_MINUTES,
    FAILURE_THRESHOLD_RANGE, FLAP_CHANGES_RANGE, FLAP_WINDOW_MINUTES_RANGE,
    RECOVERY_THRESHOLD_RANGE, REMINDER_MINUTES_RANGE,
};
use super::env::Overrides;
use super::model::{AlertConfig, Measurements, MetricsConfig, Publisher};
use super::problems::Problems;
use super::raw::{RawAlerts, RawFlapping, RawMeasurements, RawMetrics};
use super::windows;
use crate::sinks::alert::settings::{Flapping, Settings as AlertSettings};
use chrono::Duration;
use std::collections::BTreeMap;
use std::ops::RangeInclusive;

/// The canary's name: 1 to 255 characters.
pub(super) fn canary(file: Option<String>, ov: &Overrides, p: &mut Problems) -> String {
    let canary = ov
        .canary
        .clone()
        .or(file)
        .unwrap_or_else(|| DEFAULT_CANARY.to_string());
    p.check_name("canary", &canary);
    canary
}

/// How many targets are probed at once.
pub(super) fn concurrency(file: Option<usize>, p: &mut Problems) -> usize {
    let concurrency = file.unwrap_or(DEFAULT_CONCURRENCY);
    p.check_range("concurrency", &concurrency, &CONCURRENCY_RANGE);
    concurrency
}

/// `metrics`: a namespace CloudWatch accepts, which measurements, which publisher.
pub(super) fn metrics(raw: RawMetrics, ov: &Overrides, p: &mut Problems) -> MetricsConfig {
    let namespace = ov
        .namespace
        .clone()
        .or(raw.namespace)
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string());
    if !is_namespace(&namespace) {
        p.push(
            "metrics.namespace",
            format!("'{namespace}' is not a valid CloudWatch namespace (1-255 of A-Z a-z 0-9 . - _ / # :, not starting with AWS/)"),
        );
    }
    let measurements = match (&ov.measurements, raw.measurements) {
        (Some(s), _) => measurements_word(s),
        (None, Some(RawMeasurements::Word(w))) => measurements_word(&w),
        (None, Some(RawMeasurements::List(l))) => Measurements::Only(l),
        (None, None) => Measurements::All,
    };
    let publisher = match ov
        .publisher
        .clone()
        .or(raw.publisher)
        .unwrap_or_else(|| DEFAULT_PUBLISHER.into())
        .to_ascii_lowercase()
        .as_str()
    {
        "api" => Publisher::Api,
        "emf" => Publisher::Emf,
        other => {
            p.push("metrics.publisher", format!("'{other}' must be api or emf"));
            Publisher::Api
        }
    };
    MetricsConfig {
        namespace,
        measurements,
        publisher,
    }
}

/// Whether CloudWatch accepts `namespace` (and it is not one of AWS's own).
fn is_namespace(namespace: &str) -> bool {
    !namespace.is_empty()
        && namespace.len() <= 255
        && !namespace.starts_with("AWS/")
        && namespace
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_/#:".contains(c))
}

/// `all`, `none` (or nothing), else a comma-separated list of field names.
fn measurements_word(s: &str) -> Measurements {
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

/// `alerts`: the topic and state table, the policy's numbers, flapping, whether WARN notices go
/// out, and the weekly maintenance windows (each naming a configured target, if any). The hints
/// are filled in from the targets afterwards.
pub(super) fn alerts(
    raw: RawAlerts,
    ov: &Overrides,
    targets: &[&str],
    p: &mut Problems,
) -> AlertConfig {
    let reminder_minutes = whole_number(
        p,
        "alerts.reminder_minutes",
        ov.reminder_minutes.as_deref(),
        raw.reminder_minutes,
        DEFAULT_REMINDER_MINUTES,
        REMINDER_MINUTES_RANGE,
    );
    let failure_threshold = whole_number(
        p,
        "alerts.failure_threshold",
        ov.failure_threshold.as_deref(),
        raw.failure_threshold,
        DEFAULT_FAILURE_THRESHOLD,
        FAILURE_THRESHOLD_RANGE,
    );
    let recovery_threshold = whole_number(
        p,
        "alerts.recovery_threshold",
        ov.recovery_threshold.as_deref(),
        raw.recovery_threshold,
        DEFAULT_RECOVERY_THRESHOLD,
        RECOVERY_THRESHOLD_RANGE,
    );
    let notify_warn = match ov.notify_warn.as_deref() {
        Some(text) => flag(p, "alerts.notify_warn", text),
        None => raw.notify_warn.unwrap_or(DEFAULT_NOTIFY_WARN),
    };
    let (topic_arn, state_table) = destinations(&raw, ov, p);
    let engine = AlertSettings {
        failure_threshold,
        recovery_threshold,
        reminder: (reminder_minutes > 0).then(|| Duration::minutes(i64::from(reminder_minutes))),
        notify_warn,
        flapping: flapping(raw.flapping, p),
        maintenance: windows::maintenance(raw.maintenance, targets, p),
        ..AlertSettings::default()
    };
    AlertConfig {
        topic_arn,
        state_table,
        engine,
        hints: BTreeMap::new(),
    }
}

/// The topic (an SNS ARN) and the state table (a DynamoDB table name or ARN), which a topic
/// needs: the engine keeps each target's state and undelivered notices there.
fn destinations(
    raw: &RawAlerts,
    ov: &Overrides,
    p: &mut Problems,
) -> (Option<String>, Option<String>) {
    let topic_arn = ov.topic_arn.clone().or_else(|| raw.topic_arn.clone());
    if let Some(arn) = topic_arn.as_ref().filter(|arn| !arn.starts_with("arn:")) {
        p.push(
            "alerts.topic_arn",
            format!("'{arn}' is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"),
        );
    }
    let state_table = ov.state_table.clone().or_else(|| raw.state_table.clone());
    match &state_table {
        Some(t) if !is_table(t) => p.push(
            "alerts.state_table",
            format!("'{t}' is not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ - .) or table ARN"),
        ),
        None if topic_arn.is_some() => p.push(
            "alerts.state_table",
            "alerts need a state table with a topic (CANARY_STATE_TABLE or alerts.state_table; \
             the stack's StateTableName output)",
        ),
        _ => {}
    }
    (topic_arn, state_table)
}

/// Whether DynamoDB accepts `t` as a table name, or it is a table ARN.
fn is_table(t: &str) -> bool {
    let name = match t.strip_prefix("arn:") {
        Some(rest) => match rest.split_once(":table/") {
            Some((_, name)) => name,
            None => return false,
        },
        None => t,
    };
    (3..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

/// `alerts.flapping`: on with the defaults unless `false`; numbers within their ranges.
fn flapping(raw: Option<RawFlapping>, p: &mut Problems) -> Option<Flapping> {
    let (window, changes) = match raw {
        Some(RawFlapping::Switch(false)) => return None,
        None | Some(RawFlapping::Switch(true)) => (None, None),
        Some(RawFlapping::Tuned(t)) => (t.window_minutes, t.changes),
    };
    let window = window.unwrap_or(DEFAULT_FLAP_WINDOW_MINUTES);
    p.check_range(
        "alerts.flapping.window_minutes",
        &window,
        &FLAP_WINDOW_MINUTES_RANGE,
    );
    let changes = changes.unwrap_or(DEFAULT_FLAP_CHANGES);
    p.check_range("alerts.flapping.changes", &changes, &FLAP_CHANGES_RANGE);
    Some(Flapping {
        window: Duration::minutes(i64::from(window)),
        changes,
    })
}

/// The override parsed as a whole number when given, else the file's value, else `default`;
/// either way within `range`.
fn whole_number(
    p: &mut Problems,
    field: &str,
    text: Option<&str>,
    file: Option<u32>,
    default: u32,
    range: RangeInclusive<u32>,
) -> u32 {
    let value = match text {
        Some(s) => s.trim().parse::<u32>().unwrap_or_else(|_| {
            p.push(field, format!("'{s}' is not a whole number"));
            // The default stands in so the range check below has a value; the error is recorded.
            default
        }),
        None => file.unwrap_or(default),
    };
    p.check_range(field, &value, &range);
    value
}

/// `true`/`1`/`yes` or `false`/`0`/`no`, in any case.
fn flag(p: &mut Problems, field: &str, text: &str) -> bool {
    let s = text.trim().to_ascii_lowercase();
    if ["true", "1", "yes"].contains(&s.as_str()) {
        true
    } else if ["false", "0", "no"].contains(&s.as_str()) {
        false
    } else {
        p.push(field, format!("'{s}' must be true or false"));
        false
    }
}
