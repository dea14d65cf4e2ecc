//! Template parameters override only when set: the function's environment exactly as the template
//! gives it, on a real run of the Lambda binary with a config file at the layer's path.

use super::unique;
use crate::metrics::list_series;
use crate::support::cfn::{self, scalar, Stack};
use crate::support::Scenario;
use serde_json::{json, Value as Json};
use std::time::Duration;

// The function runs as a blocking child process: a second worker keeps the sample service serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_setting_in_canary_json_and_not_in_the_parameters_reaches_the_running_canary() {
    let service = crate::support::sample_service(Scenario::MarketDataDown).await;
    let canary = unique("infra-config");
    let namespace = format!("HealthCanaryTest/{}", unique("cfg"));

    // The function's environment exactly as the template gives it for a deploy that sets only the
    // namespace: every other CANARY_* setting empty, the config file in the layer.
    let t = cfn::load("template.yaml");
    let function = Stack::new(&t, &[("Namespace", &namespace)])
        .properties("Function")
        .expect("the function");
    let env: Vec<(String, String)> = function["Environment"]["Variables"]
        .as_mapping()
        .expect("variables")
        .iter()
        .map(|(k, v)| (scalar(k).unwrap_or_default(), scalar(v).unwrap_or_default()))
        .collect();
    let file = env
        .iter()
        .find(|(k, _)| k == "CANARY_CONFIG_FILE")
        .map(|(_, v)| v.clone());
    assert_eq!(file.as_deref(), Some("/opt/canary.json"));

    // The layer's mount point is the only thing simulated: /opt is a temporary directory.
    let opt = tempfile::tempdir().expect("temp dir");
    let config = json!({
        "canary": canary,
        "targets": [{"name": "trading", "url": service.url(), "retries": 0}],
        "metrics": {"measurements": ["stale_symbols"]},
    });
    std::fs::write(opt.path().join("canary.json"), config.to_string()).expect("write canary.json");
    let env: Vec<(String, String)> = env
        .into_iter()
        // No topic and no state table here (alerts are covered by phones.rs and
        // tests/aws/alerts.rs); the template's references stand for resources not deployed.
        .filter(|(k, _)| k != "CANARY_TOPIC_ARN" && k != "CANARY_STATE_TABLE")
        // The tests give every AWS call LocalStack's 60 s, so the alert path the run reserves
        // needs more than the template's function timeout: the test invocation has ten minutes.
        .map(|(k, v)| match k.as_str() {
            "CANARY_FUNCTION_TIMEOUT_SECONDS" => (k, "600".to_string()),
            _ => (k, v),
        })
        .map(|(k, v)| match v.strip_prefix("/opt/") {
            Some(rest) => (k, opt.path().join(rest).to_string_lossy().into_owned()),
            None => (k, v),
        })
        .collect();

    let event = cfn::text("tests/fixtures/scheduled-event.json").into_bytes();
    let run = crate::lambda::run_function(event, &env, Duration::from_secs(300)).await;
    assert_eq!(run.kind, "response", "{}\n{}", run.body, run.stderr);
    let summary: Json = serde_json::from_str(&run.body).expect("summary JSON");
    // The config's name and measurement list won: the template left both empty.
    assert_eq!(summary["canary"], json!(canary));
    assert_eq!(summary["status"], json!("FAIL"));
    let series = list_series(&test_cloudwatch().await, &namespace).await;
    let names: std::collections::BTreeSet<&str> = series
        .iter()
        .filter(|(_, dims)| dims.iter().any(|(k, v)| k == "Canary" && v == &canary))
        .map(|(name, _)| name.as_str())
        .collect();
    assert!(
        names.contains("ComponentStatus") && names.contains("StaleSymbols"),
        "{names:?}"
    );
    assert!(
        !names.contains("MaxAgeMinutes") && !names.contains("FreshSymbols"),
        "{names:?}"
    );
}

async fn test_cloudwatch() -> aws_sdk_cloudwatch::Client {
    aws_sdk_cloudwatch::Client::new(&aws_config::load_from_env().await)
}
