//! The Lambda entry point: read the environment once, init once (logging, the config and its
//! secrets, the probes' HTTP client; AWS clients are made on first use), then serve scheduled
//! invocations with the shared handler.

use health_canary::check::config::Settings;
use health_canary::entry::lambda::{init_tracing, Canary};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let settings = Settings::from_process_env();
    init_tracing(&settings);
    let canary = Canary::from_settings(&settings).await;
    let canary = &canary;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let deadline = event.context.deadline();
            canary.handle(event.payload, Some(deadline)).await
        },
    ))
    .await
}
