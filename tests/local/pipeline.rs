//! The commands a deploy pipeline runs, end to end with the built CLI against the sample service:
//! `validate` (nothing probed, no secret fetched, every problem at once) and `check --wait` (the
//! deploy gate: checks until PASS, or gives up with exit 1 and the last report).

use crate::security::{cli, recording_server};
use crate::support::{sample_service, Scenario};
use serde_json::json;
use std::time::{Duration, Instant};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write(dir: &tempfile::TempDir, config: &serde_json::Value) -> String {
    let path = dir.path().join("canary.json");
    std::fs::write(&path, serde_json::to_vec_pretty(config).unwrap()).unwrap();
    path.to_string_lossy().into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_probes_nothing_fetches_nothing_and_says_what_the_config_holds() {
    let service = sample_service(Scenario::Healthy).await;
    // Where AWS would be: a request here is a fetch `validate` must not make.
    let (aws, aws_seen) = recording_server("127.0.0.1:0", 500, String::new(), "").await;
    let endpoint = format!("http://{}", aws.addr);
    let aws_env = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        &dir,
        &json!({"canary": "prod", "targets": [
            {"name": "system", "url": format!("{}?key=${{ssm:/prod/key}}", service.url()),
             "headers": {"Authorization": "Bearer ${secretsmanager:prod/creds#token}",
                         "X-Env": "${NOT_SET_IN_CI}"}},
            {"name": "pinned", "url": service.pinned_url(Scenario::Healthy)}
        ]}),
    );
    let out = cli(&["validate", "--config", &config], &aws_env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("config file {config} is valid: canary 'prod', 2 targets, 3 secret references (checked, not fetched)\n")
    );
    assert_eq!(text(&out.stderr), "");
    let url = service.url();
    let simple = cli(&["validate", "--url", &url], &aws_env).await;
    assert_eq!(simple.status.code(), Some(0), "{}", text(&simple.stderr));
    assert_eq!(
        text(&simple.stdout),
        "the URL is valid: canary 'health-canary', 1 target, 0 secret references (checked, not fetched)\n"
    );
    let from_env = cli(&["validate"], &[("CANARY_CONFIG_FILE", config.as_str())]).await;
    assert_eq!(
        from_env.status.code(),
        Some(0),
        "{}",
        text(&from_env.stderr)
    );
    assert_eq!(service.stats().served, 0, "validate probed the service");
    assert!(aws_seen.lock().unwrap().is_empty(), "validate called AWS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_reports_every_problem_at_once_and_exits_two() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        &dir,
        &json!({"concurrency": 0, "targets": [
            {"name": "a", "url": "ftp://a.example/h"},
            {"name": "b", "url": "https://${ssm:/host}/h", "retries": 9,
             "headers": {"X": "${vault:/x}", "Y": "${secretsmanager:creds#}"}},
            {"name": "c", "url": "https://c.example/h"},
            {"name": "c", "url": "https://c.example/other"}
        ]}),
    );
    let out = cli(&["validate", "--config", &config], &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    let stderr = text(&out.stderr);
    for want in [
        "concurrency: 0 is out of range",
        "targets[0].url: 'ftp://a.example/h' must be an http:// or https:// URL",
        "targets[1].url: ${ssm:/host} stands outside the path and the query",
        "targets[1].retries: 9 is out of range",
        "targets[1].headers: the value of 'X': '${vault:/x}' has an unknown kind 'vault'",
        "targets[1].headers: the value of 'Y': '${secretsmanager:creds#}' has an empty key",
        "targets[3]: duplicate target name 'c'",
    ] {
        assert!(stderr.contains(want), "{want}\n{stderr}");
    }
    // Two sources at once: refused, each named, nothing else read.
    let both = cli(
        &["validate", "--config", &config],
        &[("CANARY_CONFIG_SSM", "/canary/config")],
    )
    .await;
    assert_eq!(both.status.code(), Some(2));
    assert!(
        text(&both.stderr).contains(
            "several config sources given (a config file (--config or CANARY_CONFIG_FILE), CANARY_CONFIG_SSM): give exactly one"
        ),
        "{}",
        text(&both.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_wait_polls_until_the_service_recovers_then_passes() {
    let service = sample_service(Scenario::MarketDataDown).await;
    let url = service.url();
    let run = tokio::spawn(async move {
        cli(
            &[
                "check",
                "--url",
                &url,
                "--wait",
                "2m",
                "--interval",
                "1s",
                "--json",
            ],
            &[],
        )
        .await
    });
    // Fixed after two failing checks, while the gate polls.
    let deadline = Instant::now() + Duration::from_secs(60);
    while service.stats().served < 2 {
        assert!(Instant::now() < deadline, "the gate did not poll twice");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    service.set(Scenario::Healthy);
    let out = run.await.unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON report");
    assert_eq!(report["status"], "PASS");
    assert!(
        stderr.starts_with("health-canary: check 1: FAIL; checking again in 1s (giving up in 1m "),
        "{stderr}"
    );
    assert!(stderr.contains("health-canary: check 2: FAIL;"), "{stderr}");
    assert!(!stderr.contains("gave up"), "{stderr}");
    assert!(service.stats().served >= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_wait_gives_up_with_exit_one_and_the_last_report() {
    let service = sample_service(Scenario::SignalMonitorStopped).await;
    let started = Instant::now();
    let url = service.url();
    let out = cli(
        &["check", "--url", &url, "--wait", "3s", "--interval", "1s"],
        &[],
    )
    .await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(started.elapsed() >= Duration::from_secs(3));
    let checks = service.stats().served;
    assert!(checks >= 3, "{checks} checks in 3 s at 1 s intervals");
    // Only the last report is printed: one table.
    assert_eq!(stdout.matches("signal_monitor").count(), 1, "{stdout}");
    assert!(stdout.contains("FAIL"), "{stdout}");
    assert!(
        stderr.ends_with(&format!(
            "health-canary: gave up after 3s and {checks} checks: still FAIL\n"
        )),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_wait_counts_warn_as_passing_unless_fail_on_warn() {
    let service = sample_service(Scenario::MarketDataStale).await;
    let url = service.url();
    let warn = cli(
        &["check", "--url", &url, "--wait", "5s", "--interval", "1s"],
        &[],
    )
    .await;
    assert_eq!(warn.status.code(), Some(0), "{}", text(&warn.stderr));
    assert_eq!(service.stats().served, 1, "WARN passed the first check");
    assert_eq!(text(&warn.stderr), "");
    let strict = cli(
        &[
            "check",
            "--url",
            &url,
            "--wait",
            "2s",
            "--interval",
            "1s",
            "--fail-on-warn",
        ],
        &[],
    )
    .await;
    assert_eq!(strict.status.code(), Some(1), "{}", text(&strict.stderr));
    assert!(service.stats().served >= 3, "kept checking on WARN");
    assert!(
        text(&strict.stderr).contains("still WARN"),
        "{}",
        text(&strict.stderr)
    );
}
