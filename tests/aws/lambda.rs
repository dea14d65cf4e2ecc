//! The Lambda: the real runtime loop (`cargo lambda watch` + `cargo lambda invoke` with the
//! scheduled-event fixture, and the built binary against a local Runtime API) landing metrics in
//! LocalStack, and the handler's stable error types.

use crate::metrics::{aws_env, read_values, test_aws, unique};
use crate::support::lambda_process::{invoke_fresh, invoke_fresh_at_once, Invocation};
use crate::support::{self, Scenario};
use health_canary::check::config::{self, Overrides};
use health_canary::entry::lambda::{
    Canary, CanaryError, ERROR_CONFIG_INVALID, ERROR_DELIVERY_FAILED,
};
use lambda_runtime::Diagnostic;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The `cargo-lambda` directory: on PATH (scripts/test adds it) or the tools venv in `.cache/`.
fn tools_bin() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|d| d.join("cargo-lambda").is_file());
    on_path
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".cache/tools-venv/bin"))
}

/// Kills a whole process group (the watch server, cargo, the function) when dropped.
struct Group(i32);

impl Drop for Group {
    fn drop(&mut self) {
        // SAFETY: kill(2) has no memory-safety preconditions; a negative pid signals the group
        // this test created. Errors (already gone) are ignored.
        unsafe {
            libc::kill(-self.0, libc::SIGTERM);
        }
        std::thread::sleep(Duration::from_millis(500));
        unsafe {
            libc::kill(-self.0, libc::SIGKILL);
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// The CLI tools run as blocking child processes: a second worker keeps the sample service serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_invocation_through_cargo_lambda_watch_lands_metrics() {
    let service = support::sample_service(Scenario::MarketDataDown).await;
    let (canary, ns) = (unique("mx-lambda-"), unique("MetricsTest/Lambda"));
    let port = free_port();
    let bin = tools_bin();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");

    // The watch server's and the function's output, shown when the test fails.
    let log = tempfile::NamedTempFile::new().expect("log file");
    let mut watch = Command::new(bin.join("cargo-lambda"));
    watch
        .args([
            "lambda",
            "watch",
            "--ignore-changes",
            "--invoke-address",
            "127.0.0.1",
        ])
        .args([
            "--invoke-port",
            &port.to_string(),
            "--manifest-path",
            manifest,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("PATH", &path)
        .stdin(Stdio::null())
        .stdout(log.reopen().expect("log file"))
        .stderr(log.reopen().expect("log file"))
        .process_group(0);
    for (k, _) in std::env::vars() {
        if k.starts_with("CANARY_") {
            watch.env_remove(k);
        }
    }
    // The function inherits the watch server's environment.
    watch.envs(aws_env()).envs([
        ("CANARY_URL", service.url()),
        ("CANARY_NAME", canary.clone()),
        ("CANARY_NAMESPACE", ns.clone()),
    ]);
    let mut child = watch.spawn().expect("start cargo lambda watch");
    let group = Group(child.id() as i32);

    // Ready when the runtime API accepts connections.
    let deadline = Instant::now() + Duration::from_secs(120);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "cargo lambda watch did not listen on {port}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The first invocation waits for the function to build; the group dies with the test.
    let mut invoke = Command::new(bin.join("cargo-lambda"));
    invoke
        .args([
            "lambda",
            "invoke",
            "health-canary-lambda",
            "--invoke-address",
            "127.0.0.1",
        ])
        .args(["--invoke-port", &port.to_string()])
        .args(["--data-file", "tests/fixtures/scheduled-event.json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("PATH", &path)
        .process_group(group.0);
    let out = tokio::time::timeout(
        Duration::from_secs(900),
        tokio::task::spawn_blocking(move || invoke.output()),
    )
    .await
    .expect("invocation finished within 15 minutes")
    .expect("join")
    .expect("run cargo lambda invoke");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let logs = std::fs::read_to_string(log.path()).unwrap_or_default();
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {stderr}\nwatch log:\n{logs}"
    );
    let summary: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("summary JSON: {e}: {stdout}"));
    assert_eq!(summary["canary"], serde_json::json!(canary));
    assert_eq!(summary["status"], serde_json::json!("FAIL"));
    assert_eq!(
        summary["targets"],
        serde_json::json!({"pass": 0, "warn": 0, "fail": 1})
    );
    assert_eq!(
        summary["failing"],
        serde_json::json!(["127.0.0.1/market_data"])
    );
    assert_eq!(
        summary["metrics"],
        serde_json::json!(format!(
            "published 22 datums to {ns} in 1 PutMetricData call"
        ))
    );
    assert_eq!(summary["alert"], serde_json::json!("alerts off: no topic"));
    drop(group);
    let _ = child.wait();

    let aws = test_aws().await;
    let c = canary.as_str();
    let checked_at = summary["checked_at"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .expect("checked_at");
    let values = read_values(
        aws.cloudwatch().await,
        &ns,
        &[
            ("CanaryHeartbeat", vec![("Canary", c)]),
            ("CanaryStatus", vec![("Canary", c)]),
            (
                "ComponentStatus",
                vec![
                    ("Canary", c),
                    ("Target", "127.0.0.1"),
                    ("Component", "market_data"),
                ],
            ),
        ],
        checked_at,
    )
    .await;
    assert_eq!(values, vec![vec![1.0], vec![2.0], vec![2.0]]);
}

/// The EventBridge scheduled event the stack's schedule sends (the test fixture).
pub fn scheduled_event() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/scheduled-event.json"
    ))
    .expect("tests/fixtures/scheduled-event.json")
}

/// Starts the real `health-canary-lambda` (lambda_runtime's loop, as Lambda starts it) with the
/// test's AWS settings and `env` and nothing inherited, hands it `event` once through a local
/// Runtime API, and returns its answer; panics when none comes `within`. The invocation's deadline
/// is ten minutes out: every AWS call gets LocalStack's 60 s and the alert path keeps five.
pub async fn run_function<K: AsRef<str>>(
    event: Vec<u8>,
    env: &[(K, String)],
    within: Duration,
) -> Invocation {
    let env: Vec<(String, String)> = aws_env()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .chain(env.iter().map(|(k, v)| (k.as_ref().to_string(), v.clone())))
        .collect();
    invoke_fresh(&env, &event, Duration::from_secs(600), within).await
}

// No alert topic here: the alert path through fresh Lambda processes is tests/aws/alert_runs.rs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_event_through_the_real_runtime_loop_lands_metrics() {
    let service = support::sample_service(Scenario::MarketDataDown).await;
    let (canary, ns) = (unique("mx-rt-"), unique("MetricsTest/Runtime"));
    // The real binary and lambda_runtime's loop, as Lambda starts it. Generous: under load
    // LocalStack can take tens of seconds per call (see LOCALSTACK_TIMEOUT).
    let Invocation {
        kind,
        body,
        stdout,
        stderr,
    } = run_function(
        scheduled_event(),
        &[
            ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_string()),
            ("CANARY_URL", service.url()),
            ("CANARY_NAME", canary.clone()),
            ("CANARY_NAMESPACE", ns.clone()),
        ],
        Duration::from_secs(300),
    )
    .await;
    assert_eq!(kind, "response", "body: {body}\nstderr: {stderr}");
    let summary: serde_json::Value = serde_json::from_str(&body).expect("summary JSON");
    assert_eq!(summary["canary"], serde_json::json!(canary));
    assert_eq!(summary["status"], serde_json::json!("FAIL"));
    assert_eq!(
        summary["targets"],
        serde_json::json!({"pass": 0, "warn": 0, "fail": 1})
    );
    assert_eq!(
        summary["failing"],
        serde_json::json!(["127.0.0.1/market_data"])
    );
    assert_eq!(
        summary["metrics"],
        serde_json::json!(format!(
            "published 22 datums to {ns} in 1 PutMetricData call"
        ))
    );
    assert_eq!(summary["alert"], serde_json::json!("alerts off: no topic"));
    // JSON logs on stderr with exactly one summary line for the run; stdout stays empty (no EMF:
    // PutMetricData succeeded).
    let summaries: Vec<serde_json::Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["message"] == "canary run finished")
        .collect();
    assert_eq!(summaries.len(), 1, "stderr: {stderr}");
    assert_eq!(summaries[0]["level"], serde_json::json!("INFO"));
    assert_eq!(summaries[0]["status"], serde_json::json!("FAIL"));
    assert_eq!(summaries[0]["canary"], serde_json::json!(canary));
    assert!(stdout.is_empty(), "stdout: {stdout}");

    let aws = test_aws().await;
    let c = canary.as_str();
    let checked_at = summary["checked_at"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .expect("checked_at");
    let values = read_values(
        aws.cloudwatch().await,
        &ns,
        &[
            ("CanaryHeartbeat", vec![("Canary", c)]),
            ("CanaryStatus", vec![("Canary", c)]),
            (
                "ComponentStatus",
                vec![
                    ("Canary", c),
                    ("Target", "127.0.0.1"),
                    ("Component", "market_data"),
                ],
            ),
        ],
        checked_at,
    )
    .await;
    assert_eq!(values, vec![vec![1.0], vec![2.0], vec![2.0]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_configuration_reaches_the_runtime_as_canary_config_invalid() {
    let event = br#"{"detail-type":"Scheduled Event","source":"aws.events","detail":{}}"#.to_vec();
    let env: Vec<(String, String)> = aws_env()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain([(
            "CANARY_CONFIG".to_string(),
            r#"{"targets":[{"url":"ftp://x/"}]}"#.to_string(),
        )])
        .collect();
    // Three cold starts at the same moment, each its own process answering its own invocation.
    let answers = invoke_fresh_at_once(
        3,
        &env,
        &event,
        Duration::from_secs(60),
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(answers.len(), 3);
    for a in answers {
        assert_eq!(a.kind, "error", "stderr: {}", a.stderr);
        let err: serde_json::Value = serde_json::from_str(&a.body).expect("error JSON");
        assert_eq!(err["errorType"], serde_json::json!(ERROR_CONFIG_INVALID));
        let message = err["errorMessage"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("invalid canary configuration: "),
            "message: {message}"
        );
    }
}

#[tokio::test]
async fn invalid_configuration_is_reported_on_every_invocation_as_canary_config_invalid() {
    let canary = Canary {
        config: Err("no targets: give a URL (--url or CANARY_URL) or a config".into()),
        client: health_canary::check::probe::build_client().map_err(|e| e.to_string()),
        aws: test_aws().await,
    };
    for _ in 0..2 {
        let err = canary
            .handle(serde_json::json!({"anything": true}), None)
            .await
            .unwrap_err();
        let d = Diagnostic::from(err);
        assert_eq!(d.error_type, ERROR_CONFIG_INVALID);
        assert_eq!(
            d.error_message,
            "invalid canary configuration: no targets: give a URL (--url or CANARY_URL) or a config"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_cloudwatch_fails_the_invocation_as_canary_delivery_failed() {
    let service = support::sample_service(Scenario::MarketDataDown).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let aws = test_aws().await;
    let cw_conf = aws_sdk_cloudwatch::config::Builder::from(aws.config().await)
        .endpoint_url(format!("http://{closed}"))
        .build();
    let aws = aws.with_cloudwatch(aws_sdk_cloudwatch::Client::from_conf(cw_conf));
    let overrides = Overrides {
        url: Some(service.url()),
        canary: Some(unique("mx-lfail-")),
        namespace: Some(unique("MetricsTest/LambdaFail")),
        ..Overrides::default()
    };
    let canary = Canary {
        config: config::load(None, None, &overrides, &|_| None).map_err(|e| e.to_string()),
        client: health_canary::check::probe::build_client().map_err(|e| e.to_string()),
        aws,
    };
    let err = canary
        .handle(serde_json::json!({"detail-type": "Scheduled Event"}), None)
        .await
        .unwrap_err();
    let CanaryError::DeliveryFailed(detail) = &err else {
        panic!("expected DeliveryFailed, got {err:?}");
    };
    let summary: serde_json::Value = serde_json::from_str(detail).expect("summary JSON");
    assert_eq!(summary["status"], serde_json::json!("FAIL"));
    assert_eq!(summary["alert"], serde_json::json!("alerts off: no topic"));
    let metrics = summary["metrics"].as_str().unwrap_or_default();
    assert!(
        metrics.starts_with("FAILED: PutMetricData failed after retries (0 of 22 datums sent)")
            && metrics.ends_with("22 datums written as 7 EMF lines instead"),
        "metrics: {metrics}"
    );
    assert_eq!(Diagnostic::from(err).error_type, ERROR_DELIVERY_FAILED);
}
