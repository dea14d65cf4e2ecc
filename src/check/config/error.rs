//! Why a configuration was rejected: the error callers branch on, every message saying what to fix.

/// Why a configuration was rejected. Every message says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Neither a URL nor a config was given.
    #[error(
        "no targets: give a URL (--url or CANARY_URL) or a config (--config FILE or CANARY_CONFIG)"
    )]
    Missing,
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The path given.
        path: String,
        /// The I/O error.
        source: std::io::Error,
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
