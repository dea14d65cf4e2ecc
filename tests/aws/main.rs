//! Integration tests against LocalStack (started by scripts/test): metrics read back, alerts
//! delivered to SQS, templates deployed, the real Lambda runtime loop.

mod alerts;
#[path = "../support/mod.rs"]
mod support;

mod lambda;
mod metrics;
