//! Alerts: the pure policy `(previous state, report) → decision`, message rendering, the state
//! reader/writer (CloudWatch) and the SNS publisher.

pub mod message;
pub mod policy;
pub mod sns;
pub mod state;

use crate::config::{AlertConfig, MetricsConfig};
use crate::deliver::Aws;
use crate::report::Report;
use policy::{Decision, Previous};

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
) -> Result<String, String> {
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
    .await;
    if let Previous::Unknown(why) = &previous {
        tracing::warn!(canary = %report.canary, error = %why, "alert state unavailable");
    }
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
        .map_err(|e| match &sent {
            Some(s) => format!("{s}; but {e}"),
            None => e,
        })?;
    }
    Ok(sent.unwrap_or_else(|| "no alert due".into()))
}
