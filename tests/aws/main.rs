//! Integration tests against LocalStack and moto (started by scripts/test): metrics read back,
//! alerts delivered to SQS with their state in DynamoDB, alert runs in fresh Lambda processes,
//! templates deployed, the real Lambda runtime loop, AWS faults, secrets and a config from SSM
//! and Secrets Manager.

#[path = "../support/mod.rs"]
mod support;

mod alert_runs;
mod alerts;
mod faults;
mod infra;
mod lambda;
mod metrics;
mod secrets;
mod state_table;
