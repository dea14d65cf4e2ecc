//! The config's reads from SSM Parameter Store and Secrets Manager: [`AwsSecrets`], the
//! [`SecretStore`] the CLI and the Lambda load with. Each client is built the first time the
//! config needs it, over the one shared SDK config; a config that references neither builds
//! neither. Values are returned, never logged.

use super::SharedConfig;
use crate::check::config::{FetchError, SecretStore};
use aws_sdk_ssm::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use tokio::sync::OnceCell;

/// SSM and Secrets Manager over the shared SDK config, clients built on first use.
#[derive(Debug)]
pub struct AwsSecrets<'a> {
    shared: &'a SharedConfig,
    ssm: OnceCell<aws_sdk_ssm::Client>,
    secrets_manager: OnceCell<aws_sdk_secretsmanager::Client>,
}

impl<'a> AwsSecrets<'a> {
    /// No client yet; they are built over `shared` when first needed.
    pub fn new(shared: &'a SharedConfig) -> AwsSecrets<'a> {
        AwsSecrets {
            shared,
            ssm: OnceCell::new(),
            secrets_manager: OnceCell::new(),
        }
    }

    /// Whether the SSM client was built (the config needed it).
    pub fn built_ssm(&self) -> bool {
        self.ssm.initialized()
    }

    /// Whether the Secrets Manager client was built (the config needed it).
    pub fn built_secrets_manager(&self) -> bool {
        self.secrets_manager.initialized()
    }
}

impl SecretStore for AwsSecrets<'_> {
    async fn parameter(&self, name: &str) -> Result<String, FetchError> {
        let client = self
            .ssm
            .get_or_init(|| async { aws_sdk_ssm::Client::new(self.shared.get().await) })
            .await;
        let out = client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| fetch_error(&e))?;
        out.parameter
            .and_then(|p| p.value)
            .ok_or_else(|| FetchError::Failed("SSM answered without a value".into()))
    }

    async fn secret(&self, id: &str) -> Result<String, FetchError> {
        let client = self
            .secrets_manager
            .get_or_init(|| async { aws_sdk_secretsmanager::Client::new(self.shared.get().await) })
            .await;
        let out = client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| fetch_error(&e))?;
        match (out.secret_string, out.secret_binary) {
            (Some(text), _) => Ok(text),
            (None, Some(_)) => Err(FetchError::Binary),
            (None, None) => Err(FetchError::Failed(
                "Secrets Manager answered without a value".into(),
            )),
        }
    }
}

/// What an SDK error means for the user: not found, access denied, or the SDK's own message
/// (which never holds a value: only a failed call's error comes here).
fn fetch_error<E, R>(e: &SdkError<E, R>) -> FetchError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e.code() {
        Some("ParameterNotFound" | "ParameterVersionNotFound" | "ResourceNotFoundException") => {
            FetchError::NotFound
        }
        Some("AccessDeniedException") => FetchError::AccessDenied,
        _ => FetchError::Failed(DisplayErrorContext(e).to_string()),
    }
}
