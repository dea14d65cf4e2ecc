//! Secrets from SSM Parameter Store and Secrets Manager, and a config kept in SSM, against
//! LocalStack: the real CLI and the real Lambda binary resolve a header secret from each store
//! (and one in the URL's query), send them to a local service, and never let one reach stdout,
//! stderr, the logs, CloudWatch or an SNS message; a reference that cannot be read is a config
//! error naming the reference, on every invocation.

use crate::metrics::{
    aws_env, list_series, read_values, received, test_aws, topic_with_queue, unique,
};
use crate::support::guarded::{guarded_server, random_secret, Seen};
use crate::support::lambda_process::Invocation;
use crate::support::TestServer;
use health_canary::aws::secrets::AwsSecrets;
use health_canary::aws::Aws;
use health_canary::check::config::{self, Settings};
use health_canary::entry::lambda::{Canary, ERROR_CONFIG_INVALID};
use lambda_runtime::Diagnostic;
use serde_json::{json, Value};
use std::time::Duration;

/// The two SDK clients, straight to LocalStack, to put parameters and secrets in place.
async fn stores() -> (aws_sdk_ssm::Client, aws_sdk_secretsmanager::Client) {
    crate::support::localstack_endpoint();
    let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    (
        aws_sdk_ssm::Client::new(&shared),
        aws_sdk_secretsmanager::Client::new(&shared),
    )
}

async fn put_parameter(name: &str, value: &str) {
    stores()
        .await
        .0
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .expect("PutParameter");
}

/// Three fresh secrets in LocalStack, and a target of a guarded local service that references
/// them: a bearer token in SSM, an API key as one key of a Secrets Manager JSON secret, and a
/// signature in SSM that goes in the URL's query.
struct Planted {
    values: [String; 3],
    target: Value,
    /// Kept so the service serves until the test ends.
    _server: TestServer,
    seen: Seen,
}

async fn plant(tag: &str) -> Planted {
    let u = unique(tag);
    let values = [random_secret(), random_secret(), random_secret()];
    let [token, key, sig] = &values;
    put_parameter(&format!("/hc-test/{u}/token"), token).await;
    put_parameter(&format!("/hc-test/{u}/sig"), sig).await;
    stores()
        .await
        .1
        .create_secret()
        .name(format!("hc-test/{u}/creds"))
        .secret_string(json!({"user": "canary", "api_key": key}).to_string())
        .send()
        .await
        .expect("CreateSecret");
    let (server, seen) = guarded_server(vec![
        format!("authorization: bearer {token}"),
        format!("x-api-key: {key}\r\n"),
        format!("?sig={sig} http/1.1"),
    ])
    .await;
    let target = json!({
        "name": "guarded",
        "url": server.url(&format!("/api/health/system?sig=${{ssm:/hc-test/{u}/sig}}")),
        "headers": {
            "Authorization": format!("Bearer ${{ssm:/hc-test/{u}/token}}"),
            "X-Api-Key": format!("${{secretsmanager:hc-test/{u}/creds#api_key}}")
        },
        "retries": 0
    });
    Planted {
        values,
        target,
        _server: server,
        seen,
    }
}

impl Planted {
    /// The service saw every secret on every request (so their absence elsewhere means
    /// something), and answered at least once.
    fn assert_sent(&self) {
        let heads = self.seen.lock().unwrap().clone();
        assert!(!heads.is_empty(), "the guarded service was not probed");
        for head in &heads {
            for value in &self.values {
                assert!(
                    head.contains(value.as_str()),
                    "a secret missing from:\n{head}"
                );
            }
        }
    }

    /// No secret in any of `outputs` (each must hold something, else the scan proves nothing).
    fn assert_not_in(&self, outputs: &[(&str, String)]) {
        for (what, text) in outputs {
            assert!(!text.is_empty(), "{what} is empty");
            for value in &self.values {
                assert!(
                    !text.contains(value.as_str()),
                    "a secret leaked into {what}:\n{text}"
                );
            }
        }
    }
}

// The CLI runs as a blocking child process: a second worker keeps the guarded service serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_sends_secrets_from_ssm_and_secrets_manager_and_leaks_none() {
    let planted = plant("hc-cli-").await;
    let (canary, ns) = (unique("sx-cli-"), unique("SecretsTest/Cli"));
    let (topic, queue) = topic_with_queue(&unique("sx-cli-")).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("canary.json");
    let table = crate::state_table::new_table().await;
    let config = json!({"canary": canary, "targets": [planted.target],
        "metrics": {"namespace": ns}, "alerts": {"topic_arn": topic, "state_table": table}});
    std::fs::write(&path, config.to_string()).unwrap();
    let mut env = aws_env();
    env.push(("RUST_LOG", "trace".into()));
    let path = path.to_string_lossy().into_owned();
    let out = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        crate::support::run_cli(
            &["-vv", "check", "--config", &path, "--publish", "--json"],
            &env,
        )
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    // FAIL from the service (exit 1), delivery done (not 3).
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    planted.assert_sent();
    let report: Value = serde_json::from_str(&stdout).expect("JSON report");
    let shown = report["targets"][0]["url"].as_str().unwrap_or_default();
    assert!(shown.contains("?sig=${ssm:/hc-test/"), "{shown}");
    assert_eq!(report["targets"][0]["components"][0]["status"], "FAIL");

    let aws = test_aws().await;
    let series = list_series(aws.cloudwatch().await, &ns).await;
    assert!(
        series.iter().any(|(name, dims)| name == "ComponentStatus"
            && dims.contains(&("Target".to_string(), "guarded".to_string()))),
        "{series:?}"
    );
    let messages = received(&queue, Duration::from_secs(30)).await;
    assert!(!messages.is_empty(), "the FAIL alert arrived");
    planted.assert_not_in(&[
        ("stdout", stdout),
        ("stderr (-vv, RUST_LOG=trace)", stderr),
        ("CloudWatch metrics", format!("{series:?}")),
        ("SNS messages", format!("{messages:?}")),
    ]);
}

/// One fresh Lambda process (the real binary, lambda_runtime's loop) for one scheduled event.
/// Generous: under load LocalStack can take tens of seconds per call.
async fn invoke(env: Vec<(&str, String)>) -> Invocation {
    crate::lambda::run_function(
        crate::lambda::scheduled_event(),
        &env,
        Duration::from_secs(300),
    )
    .await
}

// No alert topic: see lambda::scheduled_event_through_the_real_runtime_loop_lands_metrics (the
// CLI test above covers SNS).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_reads_its_config_from_ssm_resolves_secrets_and_leaks_none() {
    let planted = plant("hc-lambda-").await;
    let (canary, ns) = (unique("sx-lambda-"), unique("SecretsTest/Lambda"));
    let parameter = format!("/hc-test/{}/config", unique("cfg-"));
    let config = json!({"canary": canary, "targets": [planted.target],
        "metrics": {"namespace": ns, "measurements": ["stale_symbols"]}});
    put_parameter(&parameter, &config.to_string()).await;
    let run = invoke(vec![
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".into()),
        ("RUST_LOG", "trace".into()),
        ("CANARY_CONFIG_SSM", parameter.clone()),
    ])
    .await;
    assert_eq!(run.kind, "response", "{}\n{}", run.body, run.stderr);
    planted.assert_sent();
    // The config from SSM reached the running canary: its name, its target, its measurements.
    let summary: Value = serde_json::from_str(&run.body).expect("summary JSON");
    assert_eq!(summary["canary"], json!(canary));
    assert_eq!(summary["failing"], json!(["guarded/market_data"]));
    let aws = test_aws().await;
    let checked_at = summary["checked_at"].as_str().unwrap().parse().unwrap();
    let c = canary.as_str();
    let dims = vec![
        ("Canary", c),
        ("Target", "guarded"),
        ("Component", "market_data"),
    ];
    let values = read_values(
        aws.cloudwatch().await,
        &ns,
        &[("ComponentStatus", dims.clone()), ("StaleSymbols", dims)],
        checked_at,
    )
    .await;
    assert_eq!(values, vec![vec![2.0], vec![3.0]]);
    let series = list_series(aws.cloudwatch().await, &ns).await;
    assert!(
        !series.iter().any(|(name, _)| name == "Enabled"),
        "only the config's measurement list: {series:?}"
    );
    planted.assert_not_in(&[
        ("the invocation's response", run.body),
        ("the function's logs (stderr, RUST_LOG=trace)", run.stderr),
        ("CloudWatch metrics", format!("{series:?}")),
    ]);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_config_parameter_or_secret_fails_every_invocation_naming_it() {
    let missing = format!("/hc-test/{}/missing", unique("cfg-"));
    let run = invoke(vec![("CANARY_CONFIG_SSM", missing.clone())]).await;
    assert_eq!(run.kind, "error", "{}", run.body);
    let err: Value = serde_json::from_str(&run.body).expect("error JSON");
    assert_eq!(err["errorType"], json!(ERROR_CONFIG_INVALID));
    assert_eq!(
        err["errorMessage"],
        json!(format!("invalid canary configuration: cannot read the config from SSM parameter {missing} (CANARY_CONFIG_SSM): it is not found (check its name, and the account and region the canary runs in)"))
    );

    // A config that loads but references a secret that is not there, in process: every
    // invocation reports it.
    let parameter = format!("/hc-test/{}/config", unique("cfg-"));
    let gone = format!("hc-test/{}/gone", unique("s-"));
    let config = json!({"targets": [{"url": "http://127.0.0.1:9/h",
        "headers": {"Authorization": format!("Bearer ${{secretsmanager:{gone}#token}}")}}]});
    put_parameter(&parameter, &config.to_string()).await;
    let settings =
        Settings::from_lookup(&|k| (k == "CANARY_CONFIG_SSM").then(|| parameter.clone()));
    let canary = Canary::from_settings(&settings).await;
    for _ in 0..2 {
        let d = Diagnostic::from(canary.handle(json!({}), None).await.unwrap_err());
        assert_eq!(d.error_type, ERROR_CONFIG_INVALID);
        assert!(
            d.error_message.contains(&format!(
                "targets[0].headers: the value of 'Authorization' references ${{secretsmanager:{gone}#token}}, which is not found"
            )),
            "{}",
            d.error_message
        );
    }
}

#[tokio::test]
async fn clients_are_built_only_for_the_stores_a_config_references() {
    let u = unique("clients-");
    let parameter = format!("/hc-test/{u}/token");
    put_parameter(&parameter, "not-a-real-token").await;
    let secret = format!("hc-test/{u}/creds");
    stores()
        .await
        .1
        .create_secret()
        .name(&secret)
        .secret_string("not-a-real-secret")
        .send()
        .await
        .expect("CreateSecret");
    let cases = [
        (json!({"A": "${HOME}"}), false, false),
        (json!({"A": format!("${{ssm:{parameter}}}")}), true, false),
        (
            json!({"A": format!("${{secretsmanager:{secret}}}")}),
            false,
            true,
        ),
    ];
    for (headers, ssm, secrets_manager) in cases {
        let json = json!({"targets": [{"url": "https://a.example/h", "headers": headers}]});
        let settings = Settings::from_lookup(&|k| (k == "CANARY_CONFIG").then(|| json.to_string()));
        let aws = Aws::from_settings(&settings);
        let store = AwsSecrets::new(&aws);
        let home = |k: &str| (k == "HOME").then(|| "/home/canary".to_string());
        let loaded = config::load_settings(&settings, &home, &store).await;
        assert!(loaded.is_ok(), "{loaded:?}");
        assert_eq!(store.built_ssm(), ssm, "{headers}");
        assert_eq!(store.built_secrets_manager(), secrets_manager, "{headers}");
    }
}
