//! Delivery: sends one report to CloudWatch (metrics) and SNS (alerts), each independently and
//! concurrently, so one failing (or panicking) never stops the other. Used by the Lambda handler
//! and `check --publish`.

use crate::config::Config;
use crate::report::Report;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use std::sync::Arc;
use std::time::Duration;
use tracing::{debug, error};

/// Connecting to an AWS endpoint may take this long.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// One attempt of an AWS call may take this long.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(4);
/// One AWS call, retries included, may take this long, so a stalled endpoint cannot eat the
/// Lambda's timeout.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts per AWS call (standard retry mode).
pub const MAX_ATTEMPTS: u32 = 3;

/// The AWS clients, built once at init and reused across invocations.
#[derive(Clone, Debug)]
pub struct Aws {
    /// CloudWatch (metrics, and alert state read-back).
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// SNS (alerts).
    pub sns: aws_sdk_sns::Client,
}

impl Aws {
    /// Builds clients from the default credential chain and region; honours `AWS_ENDPOINT_URL`.
    /// Standard retries ([`MAX_ATTEMPTS`] attempts) within [`OPERATION_TIMEOUT`] per call.
    pub async fn from_env() -> Aws {
        let shared = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(MAX_ATTEMPTS)
                    .with_max_backoff(Duration::from_secs(2)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            )
            .load()
            .await;
        Aws {
            cloudwatch: aws_sdk_cloudwatch::Client::new(&shared),
            sns: aws_sdk_sns::Client::new(&shared),
        }
    }
}

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
        tokio::spawn(
            async move { crate::metrics::publish(&config, &report, &aws.cloudwatch).await },
        )
    };
    let alert = if config.alerts.topic_arn.is_some() {
        let (config, report, aws) = (config.clone(), report.clone(), aws.clone());
        Some(tokio::spawn(async move {
            crate::alert::process(&config.alerts, &config.metrics, &report, &aws).await
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
