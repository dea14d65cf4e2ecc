//! health-canary: probes health endpoints, reads every common health format, judges each
//! component, and reports through the console, CloudWatch metrics and SNS alerts.
//!
//! The modules read like the pipeline: `check` (config → probe → formats → judge → report),
//! then `sinks` (console, metrics, alerts) that read the report, `aws` (the SDK clients the sinks
//! use), `trust` (the TLS configuration every HTTPS client shares), and `entry` (the CLI and the
//! Lambda handler, which run the check and the sinks).

pub mod aws;
pub mod check;
pub mod entry;
pub mod sinks;
pub mod trust;
