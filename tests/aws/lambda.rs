//! The Lambda: the real runtime loop (`cargo lambda watch` + `cargo lambda invoke` with the
//! scheduled-event fixture) landing metrics and an alert in LocalStack, and the handler's
//! stable error types.

use crate::metrics::{aws_env, read_values, received, seed_body, topic_with_queue, unique};
use crate::support;
use health_canary::config::{self, Overrides};
use health_canary::deliver::Aws;
use health_canary::lambda::{Canary, CanaryError, ERROR_CONFIG_INVALID, ERROR_DELIVERY_FAILED};
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

// The CLI tools run as blocking child processes: a second worker keeps the test server serving.
// Ignored for now: passed by hand against the shared LocalStack, but inside `cargo lambda watch`
// the function's CloudWatch requests (PutMetricData, GetMetricData) are accepted and never
// answered by a private LocalStack 4.13 while the same requests from the CLI are; run with
// `cargo nextest run --test aws --run-ignored only lambda::` to try it.
#[ignore = "CloudWatch calls from inside cargo lambda watch stall on LocalStack; see the comment"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_invocation_through_the_runtime_loop_lands_metrics_and_an_alert() {
    let server = support::serve_fixed(200, "application/json", seed_body()).await;
    let (canary, ns) = (unique("mx-lambda-"), unique("MetricsTest/Lambda"));
    let (topic_arn, queue_url) = topic_with_queue(&unique("mx-lambda-")).await;
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
        ("CANARY_URL", server.url("/api/health/system")),
        ("CANARY_NAME", canary.clone()),
        ("CANARY_NAMESPACE", ns.clone()),
        ("CANARY_TOPIC_ARN", topic_arn),
        ("CANARY_FAILURE_THRESHOLD", "1".to_string()),
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
    let alert = summary["alert"].as_str().unwrap_or_default();
    assert!(
        alert.starts_with(&format!("sent FAIL alert: [FAIL] {canary}")),
        "alert: {alert}"
    );
    drop(group);
    let _ = child.wait();

    let aws = Aws::from_env().await;
    let c = canary.as_str();
    let checked_at = summary["checked_at"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .expect("checked_at");
    let values = read_values(
        &aws.cloudwatch,
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
    let notes = received(&queue_url, Duration::from_secs(15)).await;
    assert_eq!(notes.len(), 1);
    let subject = notes[0]["Subject"].as_str().unwrap_or_default();
    assert!(
        subject.contains("FAIL") && subject.contains(c),
        "subject: {subject}"
    );
}

#[tokio::test]
async fn invalid_configuration_is_reported_on_every_invocation_as_canary_config_invalid() {
    let canary = Canary {
        config: Err("no targets: give a URL (--url or CANARY_URL) or a config".into()),
        client: health_canary::probe::build_client().map_err(|e| e.to_string()),
        aws: Aws::from_env().await,
    };
    for _ in 0..2 {
        let err = canary
            .handle(serde_json::json!({"anything": true}))
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
    let server = support::serve_fixed(200, "application/json", seed_body()).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let cw_conf = aws_sdk_cloudwatch::config::Builder::from(&shared)
        .endpoint_url(format!("http://{closed}"))
        .build();
    let aws = Aws {
        cloudwatch: aws_sdk_cloudwatch::Client::from_conf(cw_conf),
        sns: aws_sdk_sns::Client::new(&shared),
    };
    let overrides = Overrides {
        url: Some(server.url("/api/health/system")),
        canary: Some(unique("mx-lfail-")),
        namespace: Some(unique("MetricsTest/LambdaFail")),
        ..Overrides::default()
    };
    let canary = Canary {
        config: config::load(None, None, &overrides, &|_| None).map_err(|e| e.to_string()),
        client: health_canary::probe::build_client().map_err(|e| e.to_string()),
        aws,
    };
    let err = canary
        .handle(serde_json::json!({"detail-type": "Scheduled Event"}))
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
