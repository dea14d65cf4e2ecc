//! Why a configuration was rejected: the error callers branch on, every message saying what to fix;
//! and why a value could not be fetched from SSM or Secrets Manager.

/// Why a configuration was rejected. Every message says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Neither a URL nor a config was given.
    #[error(
        "no targets: give a URL (--url or CANARY_URL) or a config (--config FILE or CANARY_CONFIG_FILE, CANARY_CONFIG, or CANARY_CONFIG_SSM)"
    )]
    Missing,
    /// More than one config source was given; each is named.
    #[error("several config sources given ({}): give exactly one", .0.join(", "))]
    Sources(Vec<&'static str>),
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The path given.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The SSM parameter holding the config could not be read.
    #[error(
        "cannot read the config from SSM parameter {name} (CANARY_CONFIG_SSM): it is {source}"
    )]
    Parameter {
        /// The parameter's name.
        name: String,
        /// Why.
        source: FetchError,
    },
    /// The JSON did not match the schema (unknown key, wrong type, syntax).
    #[error("invalid config {origin}: {message}")]
    Syntax {
        /// Where the JSON came from.
        origin: String,
        /// serde's message, with line and column.
        message: String,
    },
    /// The JSON parsed but values are out of range or inconsistent.
    #[error("invalid config:\n  - {}", .0.join("\n  - "))]
    Invalid(Vec<String>),
}

/// Why an SSM parameter or a Secrets Manager secret could not be fetched. Messages never hold a
/// value; they follow "it is" or "the secret is".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// No such parameter or secret (or version) in this account and region.
    #[error("not found (check its name, and the account and region the canary runs in)")]
    NotFound,
    /// The caller may not read it (or may not decrypt it with its KMS key).
    #[error("not readable: access denied (allow the canary's role to read it: the stack's SecretParameterArns, SecretArns or ConfigSsmParameter; and kms:Decrypt with a customer managed key)")]
    AccessDenied,
    /// A Secrets Manager secret that holds `SecretBinary` only.
    #[error("binary, not a string")]
    Binary,
    /// Anything else: the SDK's error (network, throttling, timeout).
    #[error("not readable: {0}")]
    Failed(String),
}
