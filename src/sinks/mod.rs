//! The sinks: everything that reads a finished `Report` (the console table, CloudWatch metrics,
//! SNS alerts), and `deliver`, which sends one report to metrics and alerts, each independently
//! and concurrently, so one failing (or panicking) never stops the other. Each sink reads the
//! report and its own settings, nothing else. Used by the Lambda handler and `check --publish`.

pub mod alert;
pub mod console;
pub mod metrics;

use crate::aws::Aws;
use crate::check::config::Config;
use crate::check::report::Report;
use alert::AlertsFailed;
use metrics::{MetricsError, Published};
use std::fmt::Display;
use std::sync::Arc;
use tracing::{debug, error};

/// What one delivery achieved; each side is independent.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    /// Metrics: what was published, or why not.
    pub metrics: Result<Published, SinkError<MetricsError>>,
    /// Alerts: what was sent (or that nothing was due), or why not.
    pub alert: Result<String, SinkError<AlertsFailed>>,
}

/// Why one side of a delivery failed: the sink's own error, or its task died.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SinkError<E> {
    /// The sink reported a failure.
    #[error(transparent)]
    Failed(E),
    /// The sink's task panicked or was cancelled.
    #[error("{side} task failed: {detail}")]
    Task {
        /// `metrics` or `alerts`.
        side: &'static str,
        /// The join error.
        detail: String,
    },
}

impl Delivery {
    /// Whether the canary failed at its job: PutMetricData failed (even when the EMF fallback
    /// kept the data, because IAM or the network is broken and someone must look), or an alert
    /// that was due could not be sent. The Lambda returns an error exactly then.
    pub fn canary_failed(&self) -> bool {
        self.metrics.is_err() || self.alert.is_err()
    }

    /// The metrics side in one line (`FAILED: …` on failure).
    pub fn metrics_line(&self) -> String {
        line(&self.metrics)
    }

    /// The alert side in one line (`FAILED: …` on failure).
    pub fn alert_line(&self) -> String {
        line(&self.alert)
    }

    /// One line for logs and the CLI's stderr: `metrics: …; alerts: …`.
    pub fn summary(&self) -> String {
        format!(
            "metrics: {}; alerts: {}",
            self.metrics_line(),
            self.alert_line()
        )
    }
}

fn line<T: Display, E: Display>(side: &Result<T, E>) -> String {
    match side {
        Ok(done) => done.to_string(),
        Err(e) => format!("FAILED: {e}"),
    }
}

pub use alert::ALERTS_OFF;

/// Publishes metrics and processes alerts for one report, concurrently; logs the outcome. Each
/// sink gets the report and its own part of `config` only. `deadline` is the invocation's (the
/// Lambda's): the alert engine claims no further notice once it is too close.
pub async fn deliver(
    config: &Config,
    report: &Report,
    aws: &Aws,
    deadline: Option<std::time::Instant>,
) -> Delivery {
    let (metrics, alerts) = (&config.metrics, &config.alerts);
    let report = Arc::new(report.clone());

    // Each side runs in its own task so that even a panic on one side is reported as that
    // side's failure while the other completes.
    let metrics_task = {
        let (settings, report, aws) = (metrics.clone(), report.clone(), aws.clone());
        tokio::spawn(async move { crate::sinks::metrics::publish(&settings, &report, &aws).await })
    };
    let alert_task = if alerts.topic_arn.is_some() {
        let (alerts, report, aws) = (alerts.clone(), report.clone(), aws.clone());
        Some(tokio::spawn(async move {
            crate::sinks::alert::deliver(&alerts, &report, &aws, deadline).await
        }))
    } else {
        None
    };
    let metrics = joined(metrics_task.await, "metrics");
    let alert = match alert_task {
        Some(task) => joined(task.await, "alerts"),
        None => Ok(ALERTS_OFF.to_string()),
    };
    let delivery = Delivery { metrics, alert };
    let (m, a) = (delivery.metrics_line(), delivery.alert_line());
    if delivery.canary_failed() {
        error!(canary = %report.canary, metrics = %m, alert = %a, "delivery failed");
    } else {
        // Debug: the entry point logs the one summary line per run (the Lambda) or prints it (CLI).
        debug!(canary = %report.canary, metrics = %m, alert = %a, "delivered");
    }
    delivery
}

fn joined<T, E>(
    r: Result<Result<T, E>, tokio::task::JoinError>,
    side: &'static str,
) -> Result<T, SinkError<E>> {
    match r {
        Ok(outcome) => outcome.map_err(SinkError::Failed),
        Err(e) => Err(SinkError::Task {
            side,
            detail: e.to_string(),
        }),
    }
}
