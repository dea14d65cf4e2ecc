//! Alerts against LocalStack and moto: the alert engine publishes to a real SNS topic with its
//! state in a real DynamoDB table (created from the template); an SQS queue subscribed to the
//! topic (raw delivery off) receives the SNS envelopes with their attributes; separate CLI
//! processes share nothing but the table.

use super::support::Scenario;
use chrono::{DateTime, Utc};
use health_canary::aws::Aws;
use health_canary::check::config::AlertConfig;
use health_canary::check::report::{
    ComponentResult, Measurement, Report, Status, TargetResult, Value,
};
use health_canary::sinks::alert::dynamo::DynamoStore;
use health_canary::sinks::alert::engine::{AlertError, RunContext};
use health_canary::sinks::alert::settings::Settings;
use health_canary::sinks::alert::sns::SnsNotifier;
use health_canary::sinks::alert::{self, AlertsFailed};
use std::collections::BTreeMap;
use std::time::Duration;

/// A name no other test (or engineer sharing LocalStack) uses.
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{}", std::process::id(), nanos % 1_000_000_000)
}

async fn aws() -> Aws {
    super::support::localstack_endpoint();
    Aws::from_settings(&health_canary::check::config::Settings::from_process_env())
}

async fn sqs() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&aws_config::load_from_env().await)
}

/// Every SNS envelope on the queue (waits until two empty polls in a row), deleted once read.
pub async fn drain(url: &str) -> Vec<serde_json::Value> {
    let sqs = sqs().await;
    let mut out = Vec::new();
    let mut empty = 0;
    while empty < 2 {
        let got = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .visibility_timeout(600)
            .send()
            .await
            .unwrap();
        let msgs = got.messages();
        if msgs.is_empty() {
            empty += 1;
        }
        for m in msgs {
            out.push(serde_json::from_str(m.body().unwrap()).unwrap());
            if let Some(handle) = m.receipt_handle() {
                let _ = sqs
                    .delete_message()
                    .queue_url(url)
                    .receipt_handle(handle)
                    .send()
                    .await;
            }
        }
    }
    out
}

/// A message attribute of an SNS envelope.
pub fn attribute<'a>(envelope: &'a serde_json::Value, name: &str) -> &'a str {
    envelope["MessageAttributes"][name]["Value"]
        .as_str()
        .unwrap_or("")
}

const HINT: &str =
    "Restart market updater: docker compose --profile aws restart market-updater-aws";

fn alert_config(topic: &str, table: &str) -> AlertConfig {
    AlertConfig {
        topic_arn: Some(topic.to_string()),
        state_table: Some(table.to_string()),
        engine: Settings::default(),
        hints: BTreeMap::from([(
            "trading".to_string(),
            BTreeMap::from([("market_data".to_string(), HINT.to_string())]),
        )]),
    }
}

fn component(name: &str, status: Status, reason: Option<&str>) -> ComponentResult {
    ComponentResult {
        name: name.into(),
        status,
        reason: reason.map(Into::into),
        measurements: vec![Measurement {
            name: "stale_symbols".into(),
            value: Value::Number(33.0),
            unit: None,
        }],
    }
}

fn target(name: &str, components: Vec<ComponentResult>) -> TargetResult {
    TargetResult {
        name: name.into(),
        url: format!("https://user:pw@{name}.example/api/health/system?token=s3cret"),
        critical: true,
        status: Status::worst_of(components.iter().map(|c| c.status)),
        reason: None,
        http_status: Some(200),
        http_status_expected: Some(true),
        latency_ms: Some(183),
        attempts: 1,
        cert_days_remaining: Some(61),
        format: Some("component_map".into()),
        declared_status: None,
        components,
        conditions: vec![],
    }
}

/// Two targets: `trading` (market data stale and the signal monitor stopped when `failing`)
/// and `billing`, always healthy.
fn report(canary: &str, failing: bool, when: DateTime<Utc>) -> Report {
    let trading = if failing {
        vec![
            component("market_data", Status::Fail, Some("stale 33")),
            component("signal_monitor", Status::Fail, Some("not running")),
            component("telegram", Status::Pass, None),
        ]
    } else {
        vec![
            component("market_data", Status::Pass, None),
            component("signal_monitor", Status::Pass, None),
            component("telegram", Status::Pass, None),
        ]
    };
    let billing = vec![component("ledger", Status::Pass, None)];
    Report::new(
        canary.into(),
        when,
        vec![target("trading", trading), target("billing", billing)],
    )
}

/// One run of the engine with its clock at `when` (check and delivery), SNS reached through
/// `sns` (LocalStack, or the fault proxy).
async fn run_at(
    aws: &Aws,
    sns: &aws_sdk_sns::Client,
    cfg: &AlertConfig,
    report: &Report,
    when: DateTime<Utc>,
) -> Result<String, AlertsFailed> {
    let settings = Settings {
        lease: health_canary::sinks::alert::settings::lease_for(aws.timeout()),
        ..cfg.engine.clone()
    };
    let store = DynamoStore::new(
        aws.dynamodb().await.clone(),
        cfg.state_table.as_deref().unwrap(),
        settings.retention,
    );
    let notifier = SnsNotifier {
        client: sns,
        topic_arn: cfg.topic_arn.as_deref().unwrap(),
        about: alert::about(report, &cfg.hints),
    };
    let ctx = RunContext {
        canary: &report.canary,
        checked_at: when,
        now: when,
        settings: &settings,
        claim_until: None,
    };
    alert::process(&store, &notifier, &ctx, report).await
}

#[tokio::test]
async fn a_failing_target_pages_once_naming_the_target_with_its_components_and_attributes() {
    let aws = aws().await;
    let name = unique("alerts-fail");
    let (topic, queue) = crate::metrics::topic_with_queue(&name).await;
    let cfg = alert_config(&topic, &crate::state_table::new_table().await);
    let report = report(&name, true, Utc::now());

    let outcome = alert::deliver(&cfg, &report, &aws, None).await.unwrap();
    assert_eq!(outcome, "sent FAIL for trading");

    let got = drain(&queue).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    let env = &got[0];
    assert_eq!(env["Type"], "Notification");
    assert_eq!(
        env["Subject"],
        format!("[FAIL] {name}/trading: market_data, signal_monitor")
    );
    assert_eq!(attribute(env, "severity"), "FAIL");
    assert_eq!(attribute(env, "target"), "trading");
    assert_eq!(attribute(env, "canary"), name);
    // The sqs protocol receives the `default` variant, which is the email text.
    let body = env["Message"].as_str().unwrap();
    for needle in [
        format!("FAIL - trading ({name})\ntrading is failing\n"),
        "URL:      https://trading.example/api/health/system\n".to_string(),
        "Not healthy, worst first (2):\n".to_string(),
        format!("  FAIL market_data\n    Reason: stale 33\n    Hint: {HINT}\n"),
        "  FAIL signal_monitor\n    Reason: not running\n".to_string(),
    ] {
        assert!(body.contains(&needle), "missing {needle:?} in:\n{body}");
    }
    for secret in ["s3cret", "user:pw", "telegram"] {
        assert!(!body.contains(secret), "{secret} in:\n{body}");
    }

    // The next run (still failing) has nothing new to say; the healthy one resolves.
    let later = report.checked_at + chrono::Duration::minutes(5);
    let again = self::report(&name, true, later);
    assert_eq!(
        alert::deliver(&cfg, &again, &aws, None).await.unwrap(),
        "no notice due"
    );
    let healthy = self::report(&name, false, later + chrono::Duration::minutes(5));
    assert_eq!(
        alert::deliver(&cfg, &healthy, &aws, None).await.unwrap(),
        "sent RESOLVED for trading"
    );
    let got2 = drain(&queue).await;
    assert_eq!(got2.len(), 1, "{got2:#?}");
    assert_eq!(attribute(&got2[0], "severity"), "RESOLVED");
    assert_eq!(
        got2[0]["Subject"],
        format!("[RESOLVED] {name}/trading no longer failing, after 10 min")
    );

    let examples: String = got
        .iter()
        .chain(&got2)
        .map(|e| {
            format!(
                "SUBJECT: {}\nATTRIBUTES: severity={} target={} canary={}\n{}\n",
                e["Subject"].as_str().unwrap_or(""),
                attribute(e, "severity"),
                attribute(e, "target"),
                attribute(e, "canary"),
                e["Message"].as_str().unwrap_or("")
            )
        })
        .collect();
    std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("alert-examples.txt"),
        examples,
    )
    .unwrap();
}

/// A failed Publish says whether SNS may still have published: an error answer to every attempt
/// is a rejection; an attempt sent and never answered (reset, stall) makes the outcome unknown.
/// Either way the notice stays in the table, and the next run sends it once, marked late (and
/// as a possible repeat when the outcome was unknown).
#[tokio::test]
async fn sns_failures_keep_the_notice_for_the_next_run_which_sends_it_once_marked_late() {
    use super::support::fault_proxy::{Fault, FaultProxy, Service};
    let aws = aws().await;
    let name = unique("alerts-notify");
    let (topic, queue) = crate::metrics::topic_with_queue(&name).await;
    let cfg = alert_config(&topic, &crate::state_table::new_table().await);
    let shared = aws_config::load_from_env().await;
    let cases = [
        (Fault::Throttle, false),
        (Fault::InternalError, false),
        (Fault::Reset, true),
        (Fault::Stall(Duration::from_secs(5)), true),
        (Fault::Each(vec![Fault::Reset, Fault::Throttle]), true),
    ];
    for (fault, maybe) in cases {
        let proxy = FaultProxy::start(&super::support::localstack_endpoint()).await;
        proxy.set(Service::Sns, fault.clone());
        let faulty_sns = aws_sdk_sns::Client::from_conf(
            aws_sdk_sns::config::Builder::from(&shared)
                .endpoint_url(proxy.url())
                .timeout_config(
                    aws_config::timeout::TimeoutConfig::builder()
                        .operation_attempt_timeout(Duration::from_secs(1))
                        .operation_timeout(Duration::from_secs(4))
                        .build(),
                )
                .build(),
        );
        let canary = unique("alerts-notify");
        let t0 = Utc::now();
        let first = report(&canary, true, t0);
        let err = run_at(&aws, &faulty_sns, &cfg, &first, t0)
            .await
            .unwrap_err();
        let [(target, AlertError::Publish { kind, error })] = err.errors.as_slice() else {
            panic!("{fault:?}: expected one publish failure, got {err:?}");
        };
        assert_eq!((target.as_str(), *kind), ("trading", "FAIL"), "{fault:?}");
        assert_eq!(error.may_have_published(), maybe, "{fault:?}: {error:?}");
        assert!(
            err.to_string()
                .starts_with("trading: cannot publish the FAIL notice: "),
            "{fault:?}: {err}"
        );
        assert!(
            proxy.count_operation(Service::Sns, "Publish") >= 2,
            "{fault:?}: the SDK retried"
        );
        // The next run, a minute later (past any lease), with SNS working.
        let t1 = t0 + chrono::Duration::minutes(1);
        let sent = run_at(&aws, aws.sns().await, &cfg, &report(&canary, true, t1), t1)
            .await
            .unwrap();
        let marks = if maybe { "late, may repeat" } else { "late" };
        assert_eq!(
            sent,
            format!("sent FAIL for trading ({marks})"),
            "{fault:?}"
        );
        let got = drain(&queue).await;
        assert_eq!(got.len(), 1, "{fault:?}: {got:#?}");
        let body = got[0]["Message"].as_str().unwrap();
        assert!(body.contains("\nLate: due at "), "{fault:?}: {body}");
        assert_eq!(body.contains("\nMay repeat: "), maybe, "{fault:?}: {body}");
        assert_eq!(attribute(&got[0], "canary"), canary);
        // And a third run has nothing left to send.
        let t2 = t1 + chrono::Duration::minutes(1);
        let quiet = run_at(&aws, aws.sns().await, &cfg, &report(&canary, true, t2), t2)
            .await
            .unwrap();
        assert_eq!(quiet, "no notice due", "{fault:?}");
    }
    assert!(drain(&queue).await.is_empty());
}

// The CLI runs as a blocking child process: a second worker keeps the sample service serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_cli_runs_send_one_fail_one_reminder_one_resolved() {
    let name = unique("alerts-seq");
    let namespace = unique("AlertsSeq");
    let (topic, queue) = crate::metrics::topic_with_queue(&name).await;
    let table = crate::state_table::new_table().await;
    let service = super::support::sample_service(Scenario::Healthy).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("canary.json");
    std::fs::write(
        &config,
        serde_json::json!({
            "canary": name,
            "targets": [{
                "name": "trading",
                "url": service.url(),
                "hints": {"market_data": HINT},
            }],
            "metrics": {"namespace": namespace},
            "alerts": {"reminder_minutes": 1},
        })
        .to_string(),
    )
    .unwrap();
    let config = config.to_str().unwrap().to_string();
    // One `health-canary check --publish` process per run: no state survives in memory.
    let run = |failing: bool| {
        service.set(if failing {
            Scenario::MarketDataDown
        } else {
            Scenario::Healthy
        });
        let (config, topic, table) = (config.clone(), topic.clone(), table.clone());
        tokio::task::spawn_blocking(move || {
            let mut env = crate::metrics::aws_env();
            env.extend([("CANARY_TOPIC_ARN", topic), ("CANARY_STATE_TABLE", table)]);
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let out = super::support::run_cli(&["check", "--config", &config, "--publish"], &env);
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            // 1 on FAIL, 0 on PASS; 3 is the metrics side failing (LocalStack under load can
            // time PutMetricData out), which this alerts test does not judge.
            let code = out.status.code();
            assert!(
                code == Some(if failing { 1 } else { 0 })
                    || (code == Some(3) && stderr.contains("metrics: FAILED")),
                "exit {code:?}, stderr: {stderr}"
            );
            stderr
        })
    };
    let sent = |stderr: &str| {
        stderr
            .split("alerts: ")
            .nth(1)
            .map(|s| s.lines().next().unwrap_or("").to_string())
            .unwrap_or_else(|| format!("no alerts outcome in: {stderr}"))
    };

    assert_eq!(sent(&run(false).await.unwrap()), "no notice due");
    let fail_at = std::time::Instant::now();
    assert_eq!(sent(&run(true).await.unwrap()), "sent FAIL for trading");
    assert_eq!(sent(&run(true).await.unwrap()), "no notice due");
    // reminder_minutes is 1 and the policy allows 30 s of scheduler slack: due 30 s after the
    // FAIL was queued.
    tokio::time::sleep(Duration::from_secs(32).saturating_sub(fail_at.elapsed())).await;
    assert_eq!(sent(&run(true).await.unwrap()), "sent REMINDER for trading");
    assert_eq!(
        sent(&run(false).await.unwrap()),
        "sent RESOLVED for trading"
    );
    assert_eq!(sent(&run(false).await.unwrap()), "no notice due");

    let got = drain(&queue).await;
    let severities: Vec<&str> = got.iter().map(|e| attribute(e, "severity")).collect();
    assert_eq!(severities, ["FAIL", "REMINDER", "RESOLVED"], "{got:#?}");
    for e in &got {
        assert_eq!(attribute(e, "canary"), name);
        assert_eq!(attribute(e, "target"), "trading");
    }
    let fail = got[0]["Message"].as_str().unwrap();
    assert!(
        fail.starts_with(&format!("FAIL - trading ({name})\ntrading is failing\n")),
        "{fail}"
    );
    assert!(
        fail.contains("\n  FAIL market_data\n") && fail.contains(&format!("    Hint: {HINT}\n")),
        "{fail}"
    );
    let reminder = got[1]["Subject"].as_str().unwrap();
    assert!(
        reminder.starts_with(&format!("[REMINDER] {name}/trading still failing after ")),
        "{reminder}"
    );
    assert!(got[2]["Message"].as_str().unwrap().starts_with(&format!(
        "RESOLVED - trading ({name})\ntrading is no longer failing, after "
    )));

    // `health-canary incidents` reads the incident back from the table.
    let mut env = crate::metrics::aws_env();
    env.extend([("CANARY_STATE_TABLE", table.clone())]);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = super::support::run_cli(&["incidents", "--canary", &name, "--json"], &env);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["target"], "trading");
    assert_eq!(list[0]["open"], false);
    assert_eq!(list[0]["notices_sent"], 3, "FAIL, REMINDER, RESOLVED");
}

// The CLI runs as a blocking child process: a second worker keeps the sample service serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silence_added_from_the_cli_keeps_a_failing_target_quiet_until_it_is_removed() {
    let name = unique("alerts-silence");
    let (topic, queue) = crate::metrics::topic_with_queue(&name).await;
    let table = crate::state_table::new_table().await;
    let service = super::support::sample_service(Scenario::MarketDataDown).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("canary.json");
    std::fs::write(
        &config,
        serde_json::json!({
            "canary": name,
            "targets": [{"name": "trading", "url": service.url()}],
            "metrics": {"namespace": unique("AlertsSilence")},
            "alerts": {"topic_arn": topic, "state_table": table},
        })
        .to_string(),
    )
    .unwrap();
    let config = config.to_str().unwrap().to_string();
    let cli = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            let env = crate::metrics::aws_env();
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = super::support::run_cli(&args, &env);
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        })
    };
    let args = |list: &[&str]| -> Vec<String> {
        list.iter()
            .map(|s| s.to_string())
            .chain(["--config".to_string(), config.clone()])
            .collect()
    };

    let (code, out, err) = cli(args(&[
        "silence", "add", "--target", "trading", "--for", "2h", "--reason", "deploy", "--by", "ops",
    ]))
    .await
    .unwrap();
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("ID "), "{out}");
    assert!(
        out.contains("trading") && out.contains("active  ops  deploy"),
        "{out}"
    );
    let (code, out, err) = cli(args(&["silence", "list", "--json"])).await.unwrap();
    assert_eq!(code, Some(0), "{err}");
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["target"], "trading");
    let id = list[0]["id"].as_str().unwrap().to_string();

    let (code, _, err) = cli(args(&["check", "--publish"])).await.unwrap();
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("alerts: 1 target silenced"), "{err}");
    assert!(
        drain(&queue).await.is_empty(),
        "nothing sent while silenced"
    );

    let (code, out, err) = cli(args(&["silence", "remove", &id])).await.unwrap();
    assert_eq!(
        (code, out),
        (Some(0), format!("removed silence {id}\n")),
        "{err}"
    );
    let (code, _, err) = cli(args(&["check", "--publish"])).await.unwrap();
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("alerts: sent FAIL for trading"), "{err}");
    let got = drain(&queue).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(attribute(&got[0], "severity"), "FAIL");

    let (code, _, err) = cli(args(&["silence", "remove", &id])).await.unwrap();
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains(&format!("no silence with id {id}")), "{err}");
}
