//! Alerts: the pure policy `(previous state, report) → decision`, message rendering, the state
//! reader/writer (CloudWatch) and the SNS publisher.

pub mod budget;
pub mod dynamo;
pub mod engine;
pub mod memory;
pub mod message;
pub mod outbox;
pub mod policy;
pub mod record;
pub mod settings;
pub mod silence;
pub mod sns;
pub mod state;
pub mod store;
pub mod transition;

use crate::aws::Aws;
use crate::check::config::{AlertConfig, MetricsConfig};
use crate::check::report::Report;
use policy::{Decision, Previous};
use sns::NotifyError;
use state::StateError;

/// Why alert processing failed; `Display` is the line logs and summaries show.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AlertError {
    /// The due alert was not published (or not known to be: see
    /// [`NotifyError::may_have_published`]).
    #[error(transparent)]
    Notify(#[from] NotifyError),
    /// The next state could not be written; `sent` says what was published before.
    #[error("{}{error}", .sent.as_deref().map(|s| format!("{s}; but ")).unwrap_or_default())]
    StateNotSaved {
        /// What this run sent, if anything.
        sent: Option<String>,
        /// The write failure.
        error: StateError,
    },
}

/// Decides and sends this run's alert (at most one message); `Ok` describes what was done.
///
/// Order: read the previous state, decide, publish, then write the next state. Publishing first
/// means a failed state write can at worst repeat an alert next run, never lose one. The report's
/// `checked_at` is the clock, so a run is judged by when it checked, not when it finished.
pub async fn process(
    alerts: &AlertConfig,
    metrics: &MetricsConfig,
    report: &Report,
    aws: &Aws,
) -> Result<String, AlertError> {
    let Some(topic) = alerts.topic_arn.as_deref() else {
        return Ok("alerts off: no topic configured".into());
    };
    let now = report.checked_at;
    let previous = state::read(
        &aws.cloudwatch,
        &metrics.namespace,
        &report.canary,
        now,
        alerts.interval_minutes,
    )
    .await
    .unwrap_or_else(|e| {
        tracing::warn!(canary = %report.canary, error = %e, "alert state unavailable");
        Previous::Unknown(e.to_string())
    });
    let (decision, next) = policy::decide(&previous, report, now, alerts);

    let sent = match &decision {
        Decision::Nothing => None,
        Decision::Notify(notice) => {
            let msg = message::render(notice, report, &alerts.hints);
            let id = sns::publish(&aws.sns, topic, &msg).await?;
            tracing::info!(canary = %report.canary, severity = notice.kind.as_str(), message_id = %id, "alert sent");
            Some(format!(
                "sent {} alert: {}",
                notice.kind.as_str(),
                msg.subject
            ))
        }
    };
    if let Some(next) = next {
        state::write(
            &aws.cloudwatch,
            &metrics.namespace,
            &report.canary,
            &next,
            now,
        )
        .await
        .map_err(|error| AlertError::StateNotSaved {
            sent: sent.clone(),
            error,
        })?;
    }
    Ok(sent.unwrap_or_else(|| "no alert due".into()))
}

/// Report builders shared by the alert unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use crate::check::report::{ComponentResult, Measurement, Report, Status, TargetResult, Value};
    use chrono::{DateTime, TimeZone, Utc};

    /// 2026-01-08 12:00:00 UTC plus `minutes`.
    pub fn at(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 8, 12, 0, 0).unwrap() + chrono::Duration::minutes(minutes)
    }

    /// A component with a status, reason and one measurement.
    pub fn component(name: &str, status: Status, reason: Option<&str>) -> ComponentResult {
        ComponentResult {
            name: name.into(),
            status,
            reason: reason.map(Into::into),
            measurements: vec![Measurement {
                name: "stale_symbols".into(),
                value: Value::Number(33.0),
                unit: None,
            }],
        }
    }

    /// A target whose status is the worst of its components.
    pub fn target(name: &str, critical: bool, components: Vec<ComponentResult>) -> TargetResult {
        TargetResult {
            name: name.into(),
            url: format!("https://{name}.example/api/health/system"),
            critical,
            status: Status::worst_of(components.iter().map(|c| c.status)),
            reason: None,
            http_status: Some(200),
            http_status_expected: Some(true),
            latency_ms: Some(153),
            attempts: 1,
            cert_days_remaining: None,
            format: Some("component_map".into()),
            declared_status: None,
            components,
            conditions: vec![],
        }
    }

    /// A one-target report whose single component has `status`.
    pub fn report(status: Status, when: DateTime<Utc>) -> Report {
        let reason = match status {
            Status::Pass => None,
            Status::Warn => Some("some symbols stale"),
            Status::Fail => Some("all 33 symbols stale"),
        };
        Report::new(
            "prod-trading".into(),
            when,
            vec![target(
                "trading",
                true,
                vec![component("market_data", status, reason)],
            )],
        )
    }
}
