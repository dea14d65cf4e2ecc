//! AWS plumbing: the SDK clients every sink uses, built once per process with the canary's
//! timeouts and retry policy. Honours `AWS_ENDPOINT_URL` (LocalStack in tests).

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use std::time::Duration;

/// Connecting to an AWS endpoint may take this long.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// One AWS call, retries included, may take this long by default, so a stalled endpoint cannot
/// eat the Lambda's timeout; `CANARY_AWS_TIMEOUT_SECONDS` overrides it (1–300).
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts per AWS call (standard retry mode); each attempt gets 40 % of the operation timeout
/// (4 s by default), so a hung attempt still leaves room for a retry.
pub const MAX_ATTEMPTS: u32 = 3;
/// The environment variable overriding [`OPERATION_TIMEOUT`], in whole seconds.
pub const TIMEOUT_VAR: &str = "CANARY_AWS_TIMEOUT_SECONDS";

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
    /// Standard retries ([`MAX_ATTEMPTS`] attempts) within [`OPERATION_TIMEOUT`] per call, or
    /// `CANARY_AWS_TIMEOUT_SECONDS` when set to a whole number of seconds from 1 to 300 (other
    /// values are ignored with a warning).
    pub async fn from_env() -> Aws {
        let timeout = match std::env::var(TIMEOUT_VAR)
            .ok()
            .filter(|v| !v.trim().is_empty())
        {
            None => OPERATION_TIMEOUT,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(s) if (1..=300).contains(&s) => Duration::from_secs(s),
                _ => {
                    tracing::warn!(value = %v, "ignoring CANARY_AWS_TIMEOUT_SECONDS: not 1-300");
                    OPERATION_TIMEOUT
                }
            },
        };
        Aws::with_timeout(timeout).await
    }

    /// Like [`Aws::from_env`], with an explicit operation timeout per AWS call.
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
        }
    }
}
