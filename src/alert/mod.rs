//! Alerts: the pure policy `(previous state, report) → decision`, message rendering, the state
//! reader and the SNS publisher.

use crate::config::{AlertConfig, MetricsConfig};
use crate::deliver::Aws;
use crate::report::Report;

/// Decides and sends this run's alert (at most one message); `Ok` describes what was done.
pub async fn process(
    alerts: &AlertConfig,
    metrics: &MetricsConfig,
    report: &Report,
    aws: &Aws,
) -> Result<String, String> {
    let _ = (alerts, metrics, report, aws);
    todo!("alerts helper")
}
