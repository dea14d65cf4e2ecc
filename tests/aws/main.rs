//! Integration tests against LocalStack (started by scripts/test): metrics read back, alerts
//! delivered to SQS, templates deployed, the real Lambda runtime loop, AWS faults, secrets and a
//! config from SSM and Secrets Manager.

#[path = "../support/mod.rs"]
mod support;

mod alerts;
mod faults;
mod infra;
mod lambda;
mod metrics;
mod secrets;
