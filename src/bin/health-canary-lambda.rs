//! The Lambda entry point: init once (logging, config, HTTP and AWS clients), then serve
//! scheduled invocations with the shared handler.

use health_canary::entry::lambda::{init_tracing, Canary};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let canary = Canary::from_env().await;
    let canary = &canary;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move { canary.handle(event.payload).await },
    ))
    .await
}
