//! AWS plumbing: the SDK clients every sink uses, built once per process with the canary's
//! timeouts and retry policy. Honours `AWS_ENDPOINT_URL` (LocalStack in tests).

use crate::check::config::Settings;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use std::time::Duration;

/// Connecting to an AWS endpoint may take this long.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// One AWS call, retries included, may take this long by default, so a stalled endpoint cannot
/// eat the Lambda's timeout; `CANARY_AWS_TIMEOUT_SECONDS` overrides it.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts per AWS call (standard retry mode); each attempt gets 40 % of the operation timeout
/// (4 s by default), so a hung attempt still leaves room for a retry.
pub const MAX_ATTEMPTS: u32 = 3;
/// Allowed overrides of [`OPERATION_TIMEOUT`], in whole seconds.
pub const TIMEOUT_SECONDS_RANGE: std::ops::RangeInclusive<u64> = 1..=300;

/// The AWS clients, built once at init and reused across invocations.
#[derive(Clone, Debug)]
pub struct Aws {
    /// CloudWatch (metrics).
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// SNS (alerts).
    pub sns: aws_sdk_sns::Client,
    /// DynamoDB (alert state, incidents, silences).
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// How long one AWS call may take, retries included (the run's time budget counts it).
    pub timeout: Duration,
}

impl Aws {
    /// Builds clients from the default credential chain and region; the SDK honours
    /// `AWS_ENDPOINT_URL`. Standard retries ([`MAX_ATTEMPTS`] attempts) within
    /// [`OPERATION_TIMEOUT`] per call, or the settings' `CANARY_AWS_TIMEOUT_SECONDS` when it is a
    /// whole number of seconds from 1 to 300 (other values are ignored with a warning).
    pub async fn from_settings(settings: &Settings) -> Aws {
        let timeout = match settings.aws_timeout_seconds.as_deref() {
            None => OPERATION_TIMEOUT,
            Some(v) => operation_timeout(v).unwrap_or_else(|| {
                tracing::warn!(value = %v, "ignoring CANARY_AWS_TIMEOUT_SECONDS: not 1-300");
                OPERATION_TIMEOUT
            }),
        };
        Aws::with_timeout(timeout).await
    }

    /// Like [`Aws::from_settings`], with an explicit operation timeout per AWS call.
    pub async fn with_timeout(operation: Duration) -> Aws {
        let shared = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(MAX_ATTEMPTS)
                    .with_max_backoff(Duration::from_secs(2)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(operation.mul_f64(0.4))
                    .operation_timeout(operation)
                    .build(),
            )
            .load()
            .await;
        Aws {
            cloudwatch: aws_sdk_cloudwatch::Client::new(&shared),
            sns: aws_sdk_sns::Client::new(&shared),
            dynamodb: aws_sdk_dynamodb::Client::new(&shared),
            timeout: operation,
        }
    }
}

/// A `CANARY_AWS_TIMEOUT_SECONDS` value as a timeout; `None` unless whole seconds within
/// [`TIMEOUT_SECONDS_RANGE`].
pub fn operation_timeout(value: &str) -> Option<Duration> {
    let seconds = value.trim().parse::<u64>().ok()?;
    TIMEOUT_SECONDS_RANGE
        .contains(&seconds)
        .then(|| Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_timeout_accepts_whole_seconds_from_1_to_300_only() {
        assert_eq!(operation_timeout(" 60 "), Some(Duration::from_secs(60)));
        assert_eq!(operation_timeout("1"), Some(Duration::from_secs(1)));
        assert_eq!(operation_timeout("300"), Some(Duration::from_secs(300)));
        for bad in ["0", "301", "1.5", "-3", "soon"] {
            assert_eq!(operation_timeout(bad), None, "{bad}");
        }
    }
}
