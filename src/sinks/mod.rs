//! The sinks: everything that reads a finished `Report` (the console table, CloudWatch metrics,
//! SNS alerts), and `deliver`, which sends one report to metrics and alerts, each independently
//! and concurrently, so one failing (or panicking) never stops the other. Used by the Lambda
//! handler and `check --publish`.

pub mod alert;
pub mod console;
pub mod metrics;

use crate::aws::Aws;
use crate::check::config::Config;
use crate::check::report::Report;
use std::sync::Arc;
use tracing::{debug, error};

/// What one delivery achieved; each side is independent.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    /// Metrics: a description of what was published, or why not.
    pub metrics: Result<String, String>,
    /// Alerts: what was sent (or that nothing was due), or why not.
    pub alert: Result<String, String>,
}

impl Delivery {
    /// Whether the canary failed at its job: PutMetricData failed (even when the EMF fallback
    /// kept the data, because IAM or the network is broken and someone must look), or an alert
    /// that was due could not be sent. The Lambda returns an error exactly then.
    pub fn canary_failed(&self) -> bool {
        self.metrics.is_err() || self.alert.is_err()
    }

    /// One line for logs and the CLI's stderr: `metrics: …; alerts: …`.
    pub fn summary(&self) -> String {
        let side = |r: &Result<String, String>| match r {
            Ok(s) => s.clone(),
            Err(e) => format!("FAILED: {e}"),
        };
        format!(
            "metrics: {}; alerts: {}",
            side(&self.metrics),
            side(&self.alert)
        )
    }
}

/// What the alert side says when no topic is configured.
pub const ALERTS_OFF: &str = "alerts off: no topic";

/// Publishes metrics and processes alerts for one report, concurrently; logs the outcome.
pub async fn deliver(config: &Config, report: &Report, aws: &Aws) -> Delivery {
    let config = Arc::new(config.clone());
    let report = Arc::new(report.clone());

    // Each side runs in its own task so that even a panic on one side is reported as that
    // side's failure while the other completes.
    let metrics = {
        let (config, report, aws) = (config.clone(), report.clone(), aws.clone());
        tokio::spawn(async move {
            crate::sinks::metrics::publish(&config, &report, &aws.cloudwatch).await
        })
    };
    let alert = if config.alerts.topic_arn.is_some() {
        let (config, report, aws) = (config.clone(), report.clone(), aws.clone());
        Some(tokio::spawn(async move {
            crate::sinks::alert::process(&config.alerts, &config.metrics, &report, &aws).await
        }))
    } else {
        None
    };
    let metrics = joined(metrics.await, "metrics");
    let alert = match alert {
        Some(task) => joined(task.await, "alerts"),
        None => Ok(ALERTS_OFF.to_string()),
    };
    let delivery = Delivery { metrics, alert };
    if delivery.canary_failed() {
        error!(canary = %report.canary, metrics = ?delivery.metrics, alert = ?delivery.alert, "delivery failed");
    } else {
        // Debug: the entry point logs the one summary line per run (the Lambda) or prints it (CLI).
        debug!(canary = %report.canary, metrics = ?delivery.metrics, alert = ?delivery.alert, "delivered");
    }
    delivery
}

fn joined(
    r: Result<Result<String, String>, tokio::task::JoinError>,
    side: &str,
) -> Result<String, String> {
    r.unwrap_or_else(|e| Err(format!("{side} task failed: {e}")))
}
