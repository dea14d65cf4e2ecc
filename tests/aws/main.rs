//! Integration tests against LocalStack (started by scripts/test): metrics read back, alerts
//! delivered to SQS, templates deployed, the real Lambda runtime loop.

mod faults;
#[path = "../support/mod.rs"]
mod support;
