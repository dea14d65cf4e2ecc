//! AWS plumbing, one pattern for every service client the canary uses:
//!
//! - **One AWS configuration per process** ([`Aws::config`]): region, credential chain, endpoint
//!   overrides (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`), the canary's timeouts and
//!   retry policy, and the HTTP client ([`ReqwestHttpClient`]). Loaded the first time anything
//!   needs AWS, then shared by every service client.
//! - **Each service client built only when a run needs it** ([`Aws::cloudwatch`], [`Aws::sns`],
//!   [`Aws::dynamodb`], [`Aws::ssm`], [`Aws::secrets_manager`]):
//!   the first call builds it from the shared configuration, later calls reuse it. A run with
//!   alerts off never builds the SNS or DynamoDB client; one with the EMF publisher and alerts off builds no
//!   client and loads no configuration; SSM and Secrets Manager are built only for a config that
//!   references them ([`secrets`]).
//! - **One trust store for every HTTPS client** ([`crate::trust`]): the SDK's HTTP client is
//!   reqwest over the same rustls configuration as the probes, so the system roots are read once
//!   per process, and only when a TLS connection is made.
//!
//! Adding a service (DynamoDB, SSM, Secrets Manager): its crate with
//! `default-features = false, features = ["rt-tokio", "behavior-version-latest"]` (never
//! `default-https-client`, which links a second HTTP stack and trust store), a `Lazy<Client>`
//! field (`Arc::default()` in [`Aws::with_timeout`]), and an accessor like [`Aws::sns`] that calls
//! `Aws::client`. Callers ask for the client where they use it, so it is built only by the runs
//! that reach that code.

mod http;
pub mod secrets;

use crate::check::config::Settings;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
pub use http::ReqwestHttpClient;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::OnceCell;

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

/// A service client built on first use, shared by every clone of the [`Aws`] it belongs to.
type Lazy<C> = Arc<OnceLock<C>>;

/// The process's AWS configuration and service clients, each made on first use (see the module
/// documentation). Cheap to create and to clone: clones share everything already made.
#[derive(Clone, Debug)]
pub struct Aws {
    operation_timeout: Duration,
    config: Arc<OnceCell<SdkConfig>>,
    cloudwatch: Lazy<aws_sdk_cloudwatch::Client>,
    sns: Lazy<aws_sdk_sns::Client>,
    dynamodb: Lazy<aws_sdk_dynamodb::Client>,
    ssm: Lazy<aws_sdk_ssm::Client>,
    secrets_manager: Lazy<aws_sdk_secretsmanager::Client>,
}

impl Aws {
    /// The AWS side of a run, nothing loaded yet. Standard retries ([`MAX_ATTEMPTS`] attempts)
    /// within [`OPERATION_TIMEOUT`] per call, or the settings' `CANARY_AWS_TIMEOUT_SECONDS` when
    /// it is a whole number of seconds from 1 to 300 (other values are ignored with a warning).
    pub fn from_settings(settings: &Settings) -> Aws {
        let timeout = match settings.aws_timeout_seconds.as_deref() {
            None => OPERATION_TIMEOUT,
            Some(v) => operation_timeout(v).unwrap_or_else(|| {
                tracing::warn!(value = %v, "ignoring CANARY_AWS_TIMEOUT_SECONDS: not 1-300");
                OPERATION_TIMEOUT
            }),
        };
        Aws::with_timeout(timeout)
    }

    /// Like [`Aws::from_settings`], with an explicit operation timeout per AWS call.
    pub fn with_timeout(operation: Duration) -> Aws {
        Aws {
            operation_timeout: operation,
            config: Arc::default(),
            cloudwatch: Arc::default(),
            sns: Arc::default(),
            dynamodb: Arc::default(),
            ssm: Arc::default(),
            secrets_manager: Arc::default(),
        }
    }

    /// The shared AWS configuration, loaded on the first call (default credential chain and
    /// region; the SDK honours `AWS_ENDPOINT_URL`).
    pub async fn config(&self) -> &SdkConfig {
        let operation = self.operation_timeout;
        self.config
            .get_or_init(|| async move {
                aws_config::defaults(BehaviorVersion::latest())
                    .http_client(ReqwestHttpClient::default())
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
                    .await
            })
            .await
    }

    /// The service client in `cell`, built by `new` from the shared configuration on first use.
    async fn client<'a, C>(&'a self, cell: &'a Lazy<C>, new: fn(&SdkConfig) -> C) -> &'a C {
        if let Some(client) = cell.get() {
            return client;
        }
        let config = self.config().await;
        cell.get_or_init(|| new(config))
    }

    /// CloudWatch (metrics).
    pub async fn cloudwatch(&self) -> &aws_sdk_cloudwatch::Client {
        self.client(&self.cloudwatch, aws_sdk_cloudwatch::Client::new)
            .await
    }

    /// SNS (alerts).
    pub async fn sns(&self) -> &aws_sdk_sns::Client {
        self.client(&self.sns, aws_sdk_sns::Client::new).await
    }

    /// DynamoDB (alert state, incidents, silences).
    pub async fn dynamodb(&self) -> &aws_sdk_dynamodb::Client {
        self.client(&self.dynamodb, aws_sdk_dynamodb::Client::new)
            .await
    }

    /// How long one AWS call may take, retries included (the run's time budget counts it).
    pub fn timeout(&self) -> Duration {
        self.operation_timeout
    }

    /// SSM Parameter Store (the config's `${ssm:…}` references and `CANARY_CONFIG_SSM`).
    pub async fn ssm(&self) -> &aws_sdk_ssm::Client {
        self.client(&self.ssm, aws_sdk_ssm::Client::new).await
    }

    /// Secrets Manager (the config's `${secretsmanager:…}` references).
    pub async fn secrets_manager(&self) -> &aws_sdk_secretsmanager::Client {
        self.client(&self.secrets_manager, aws_sdk_secretsmanager::Client::new)
            .await
    }

    /// The same, with `client` as its CloudWatch client instead of one built from the shared
    /// configuration (another endpoint or timeouts); everything else stays shared.
    pub fn with_cloudwatch(&self, client: aws_sdk_cloudwatch::Client) -> Aws {
        Aws {
            cloudwatch: Arc::new(OnceLock::from(client)),
            ..self.clone()
        }
    }

    /// The same, with `client` as its DynamoDB client instead of one built from the shared
    /// configuration.
    pub fn with_dynamodb(&self, client: aws_sdk_dynamodb::Client) -> Aws {
        Aws {
            dynamodb: Arc::new(OnceLock::from(client)),
            ..self.clone()
        }
    }

    /// The same, with `client` as its SNS client instead of one built from the shared
    /// configuration.
    pub fn with_sns(&self, client: aws_sdk_sns::Client) -> Aws {
        Aws {
            sns: Arc::new(OnceLock::from(client)),
            ..self.clone()
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
