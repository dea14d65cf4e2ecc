//! The config's reads from SSM Parameter Store and Secrets Manager: [`AwsSecrets`], the
//! [`SecretStore`] the CLI and the Lambda load with. Each client is built the first time the
//! config needs it, over the run's one AWS configuration; a config that references neither builds
//! neither. Values are returned, never logged.

use super::Aws;
use crate::check::config::{FetchError, SecretStore};
use aws_sdk_ssm::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// SSM and Secrets Manager through the run's [`Aws`], clients built on first use.
#[derive(Debug)]
pub struct AwsSecrets<'a> {
    aws: &'a Aws,
}

impl<'a> AwsSecrets<'a> {
    /// Reads through `aws`; its SSM and Secrets Manager clients are built when first needed.
    pub fn new(aws: &'a Aws) -> AwsSecrets<'a> {
        AwsSecrets { aws }
    }

    /// Whether the SSM client was built (the config needed it).
    pub fn built_ssm(&self) -> bool {
        self.aws.ssm.get().is_some()
    }

    /// Whether the Secrets Manager client was built (the config needed it).
    pub fn built_secrets_manager(&self) -> bool {
        self.aws.secrets_manager.get().is_some()
    }
}

impl SecretStore for AwsSecrets<'_> {
    async fn parameter(&self, name: &str) -> Result<String, FetchError> {
        let client = self.aws.ssm().await;
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
        let client = self.aws.secrets_manager().await;
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
