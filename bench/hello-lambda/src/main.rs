//! The bare `lambda_runtime` hello-world (the `cargo lambda new` template): echoes its event.
//! It is the floor for cold init, memory and package size that `scripts/bench` compares to.

use lambda_runtime::{run, service_fn, tracing, Error, LambdaEvent};
use serde_json::Value;

/// Returns the event unchanged.
async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(event.payload)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    run(service_fn(handler)).await
}
