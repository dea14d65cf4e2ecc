//! Integration tests against LocalStack (started by scripts/test): metrics read back, alerts
//! delivered to SQS, templates deployed, the real Lambda runtime loop, AWS faults.

#[path = "../support/mod.rs"]
mod support;

mod alerts;
mod faults;
mod infra;
mod lambda;
mod metrics;
mod state_table;
