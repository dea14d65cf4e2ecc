//! Alerts against LocalStack: `alert::process` publishes to a real SNS topic, an SQS queue
//! subscribed to it (raw delivery off) receives the SNS envelope, and the state lives in real
//! CloudWatch metrics between runs in separate processes.

use super::support::Scenario;
use chrono::{DateTime, Utc};
use health_canary::aws::Aws;
use health_canary::check::config::{AlertConfig, Measurements, MetricsConfig, Publisher};
use health_canary::check::report::{
    ComponentResult, Measurement, Report, Status, TargetResult, Value,
};
use health_canary::sinks::alert::{self, message, policy};
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
    Aws::from_settings(&health_canary::check::config::Settings::from_process_env()).await
}

async fn sqs() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&aws_config::load_from_env().await)
}

/// A topic with an SQS queue subscribed to it (raw delivery off); returns (topic ARN, queue URL).
async fn topic_with_queue(aws: &Aws, name: &str) -> (String, String) {
    let topic = aws
        .sns
        .create_topic()
        .name(name)
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let sqs = sqs().await;
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let arn = attrs
        .attributes()
        .unwrap()
        .get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .unwrap()
        .clone();
    aws.sns
        .subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(arn)
        .send()
        .await
        .unwrap();
    (topic, url)
}

/// Every SNS envelope on the queue (waits until two empty polls in a row).
async fn drain(url: &str) -> Vec<serde_json::Value> {
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
        }
    }
    out
}

fn alert_config(topic: &str, reminder_minutes: u32) -> AlertConfig {
    let mut hints = BTreeMap::new();
    hints.insert(
        "trading".to_string(),
        BTreeMap::from([(
            "market_data".to_string(),
            "Restart market updater: docker compose --profile aws restart market-updater-aws"
                .to_string(),
        )]),
    );
    AlertConfig {
        topic_arn: Some(topic.to_string()),
        reminder_minutes,
        notify_warn: false,
        failure_threshold: 1,
        interval_minutes: 5,
        hints,
    }
}

fn metrics_config(namespace: &str) -> MetricsConfig {
    MetricsConfig {
        namespace: namespace.to_string(),
        measurements: Measurements::All,
        publisher: Publisher::Api,
    }
}

fn component(
    name: &str,
    status: Status,
    reason: Option<&str>,
    m: &[(&str, f64)],
) -> ComponentResult {
    ComponentResult {
        name: name.into(),
        status,
        reason: reason.map(Into::into),
        measurements: m
            .iter()
            .map(|(n, v)| Measurement {
                name: (*n).into(),
                value: Value::Number(*v),
                unit: None,
            })
            .collect(),
    }
}

/// The seed's `/api/health/system` judged: market data stale and the signal monitor stopped
/// when `failing`, all PASS otherwise.
fn seed_report(canary: &str, failing: bool, when: DateTime<Utc>) -> Report {
    let (md, sm) = if failing {
        (
            component(
                "market_data",
                Status::Fail,
                Some("stale 33"),
                &[
                    ("fresh_symbols", 0.0),
                    ("stale_symbols", 33.0),
                    ("max_age_minutes", 47.5),
                ],
            ),
            component(
                "signal_monitor",
                Status::Fail,
                Some("not running"),
                &[("last_cycle_age_minutes", 41.0)],
            ),
        )
    } else {
        (
            component(
                "market_data",
                Status::Pass,
                None,
                &[("fresh_symbols", 33.0), ("stale_symbols", 0.0)],
            ),
            component(
                "signal_monitor",
                Status::Pass,
                None,
                &[("last_cycle_age_minutes", 1.2)],
            ),
        )
    };
    let components = vec![
        md,
        component(
            "market_updater",
            Status::Pass,
            None,
            &[("last_heartbeat_age_minutes", 0.21)],
        ),
        sm,
        component("telegram", Status::Pass, None, &[]),
        component("trade_system", Status::Pass, None, &[("open_orders", 22.0)]),
    ];
    let target = TargetResult {
        name: "trading".into(),
        url: "https://dashboard.example/api/health/system".into(),
        critical: true,
        status: Status::worst_of(components.iter().map(|c| c.status)),
        reason: None,
        http_status: Some(200),
        http_status_expected: Some(true),
        latency_ms: Some(183),
        attempts: 1,
        cert_days_remaining: Some(61),
        format: Some("component_map".into()),
        declared_status: Some(if failing { "FAIL" } else { "PASS" }.into()),
        components,
        conditions: vec![],
    };
    Report::new(canary.into(), when, vec![target])
}

fn attribute<'a>(envelope: &'a serde_json::Value, name: &str) -> &'a str {
    envelope["MessageAttributes"][name]["Value"]
        .as_str()
        .unwrap_or("")
}

#[tokio::test]
async fn first_failing_run_publishes_one_fail_with_subject_body_and_attributes() {
    let aws = aws().await;
    let name = unique("alerts-fail");
    let (topic, queue) = topic_with_queue(&aws, &name).await;
    let (cfg, metrics) = (
        alert_config(&topic, 60),
        metrics_config(&unique("AlertsTest")),
    );
    let report = seed_report(&name, true, Utc::now());

    let outcome = alert::process(&cfg, &metrics, &report, &aws).await.unwrap();
    assert_eq!(
        outcome,
        format!("sent FAIL alert: [FAIL] {name}: market_data, signal_monitor")
    );

    let got = drain(&queue).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    let env = &got[0];
    assert_eq!(env["Type"], "Notification");
    assert_eq!(
        env["Subject"],
        format!("[FAIL] {name}: market_data, signal_monitor")
    );
    assert_eq!(attribute(env, "severity"), "FAIL");
    assert_eq!(attribute(env, "canary"), name);
    // The sqs protocol receives the `default` variant, which is the email text.
    let rendered = message::render(
        &policy::Notice {
            kind: policy::Kind::Fail,
            since: Some(report.checked_at),
            caveat: None,
        },
        &report,
        &cfg.hints,
    );
    assert_eq!(env["Message"].as_str().unwrap(), rendered.email);
    let body = rendered.email.as_str();
    assert!(body.contains("  FAIL market_data\n    Reason: stale 33\n    fresh_symbols=0 stale_symbols=33 max_age_minutes=47.5\n    Hint: Restart market updater: docker compose --profile aws restart market-updater-aws\n"), "{body}");
    assert!(rendered.sms.len() <= 140 && rendered.sms.is_ascii());
    assert!(rendered.sms.starts_with(&format!(
        "FAIL {name}: market_data(stale 33), signal_monitor(not running) "
    )));

    // The same report again (a retried run in the same second would read the same state) is a
    // second failing run of an open incident: nothing more is sent.
    tokio::time::sleep(Duration::from_millis(10_500)).await;
    let again = seed_report(&name, true, Utc::now());
    let outcome = alert::process(&cfg, &metrics, &again, &aws).await.unwrap();
    assert_eq!(outcome, "no alert due");
    assert!(drain(&queue).await.is_empty());

    let examples = format!(
        "SUBJECT: {}\n\nSMS: {}\n\nEMAIL:\n{}\nSQS ENVELOPE:\n{}\n",
        rendered.subject,
        rendered.sms,
        rendered.email,
        serde_json::to_string_pretty(env).unwrap()
    );
    std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("alert-fail-example.txt"),
        examples,
    )
    .unwrap();
}

#[tokio::test]
async fn unreadable_state_still_sends_the_fail_and_says_it_may_repeat() {
    let aws = aws().await;
    let name = unique("alerts-unknown");
    let (topic, queue) = topic_with_queue(&aws, &name).await;
    let shared = aws_config::load_from_env().await;
    // CloudWatch unreachable (nothing listens on port 9), SNS fine.
    let broken = Aws {
        cloudwatch: aws_sdk_cloudwatch::Client::from_conf(
            aws_sdk_cloudwatch::config::Builder::from(&shared)
                .endpoint_url("http://127.0.0.1:9")
                .build(),
        ),
        sns: aws.sns.clone(),
    };
    let report = seed_report(&name, true, Utc::now());
    let err = alert::process(
        &alert_config(&topic, 60),
        &metrics_config(&unique("AlertsTest")),
        &report,
        &broken,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with(&format!(
            "sent FAIL alert: [FAIL] {name}: market_data, signal_monitor; but cannot write alert state"
        )),
        "{err}"
    );
    let got = drain(&queue).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(attribute(&got[0], "severity"), "FAIL");
    assert!(got[0]["Message"]
        .as_str()
        .unwrap()
        .contains("Note: alert state unavailable - this may repeat an earlier alert."));

    // Passing with unknown state: never a RESOLVED, and nothing written over the stored state.
    let ok = seed_report(&name, false, Utc::now());
    let outcome = alert::process(
        &alert_config(&topic, 60),
        &metrics_config(&unique("AlertsTest")),
        &ok,
        &broken,
    )
    .await
    .unwrap();
    assert_eq!(outcome, "no alert due");
    assert!(drain(&queue).await.is_empty());
}

/// A failed Publish says whether SNS may still have published: an error answer to every attempt
/// is a rejection; an attempt sent and never answered (reset, stall) makes the outcome unknown,
/// even when later attempts were answered with errors.
#[tokio::test]
async fn sns_failures_tell_a_rejection_from_a_possible_publish() {
    use super::support::fault_proxy::{Fault, FaultProxy, Service};
    let aws = aws().await;
    let name = unique("alerts-notify");
    let (topic, queue) = topic_with_queue(&aws, &name).await;
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
        let through_proxy = Aws {
            cloudwatch: aws.cloudwatch.clone(),
            sns: aws_sdk_sns::Client::from_conf(
                aws_sdk_sns::config::Builder::from(&shared)
                    .endpoint_url(proxy.url())
                    .timeout_config(
                        aws_config::timeout::TimeoutConfig::builder()
                            .operation_attempt_timeout(Duration::from_secs(1))
                            .operation_timeout(Duration::from_secs(4))
                            .build(),
                    )
                    .build(),
            ),
        };
        let report = seed_report(&unique("alerts-notify"), true, Utc::now());
        let err = alert::process(
            &alert_config(&topic, 60),
            &metrics_config(&unique("AlertsTest")),
            &report,
            &through_proxy,
        )
        .await
        .unwrap_err();
        let alert::AlertError::Notify(notify) = &err else {
            panic!("{fault:?}: expected a publish failure, got {err:?}");
        };
        assert_eq!(notify.may_have_published(), maybe, "{fault:?}: {notify:?}");
        assert!(
            err.to_string()
                .starts_with(&format!("cannot publish the FAIL alert to {topic}: ")),
            "{fault:?}: {err}"
        );
        assert!(
            proxy.count_operation(Service::Sns, "Publish") >= 2,
            "{fault:?}: the SDK retried"
        );
    }
    assert!(drain(&queue).await.is_empty(), "nothing reached the topic");
}

// The CLI runs as a blocking child process: a second worker keeps the test server serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_cli_runs_send_one_fail_one_reminder_one_resolved() {
    let aws = aws().await;
    let name = unique("alerts-seq");
    let namespace = unique("AlertsSeq");
    let (topic, queue) = topic_with_queue(&aws, &name).await;
    let service = super::support::sample_service(Scenario::Healthy).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("canary.json");
    let hint = "Restart market updater: docker compose --profile aws restart market-updater-aws";
    std::fs::write(
        &config,
        serde_json::json!({
            "canary": name,
            "targets": [{
                "name": "trading",
                "url": service.url(),
                "hints": {"market_data": hint},
            }],
            "metrics": {"namespace": namespace},
            "alerts": {"reminder_minutes": 1},
        })
        .to_string(),
    )
    .unwrap();
    let config = config.to_str().unwrap().to_string();
    let endpoint = super::support::localstack_endpoint();
    // One `health-canary check --publish` process per run: no state survives in memory.
    let run = |failing: bool| {
        service.set(if failing {
            Scenario::MarketDataDown
        } else {
            Scenario::Healthy
        });
        let (config, topic, endpoint) = (config.clone(), topic.clone(), endpoint.clone());
        tokio::task::spawn_blocking(move || {
            let out = super::support::run_cli(
                &["check", "--config", &config, "--publish"],
                &[
                    ("AWS_ENDPOINT_URL", endpoint.as_str()),
                    ("AWS_ACCESS_KEY_ID", "test"),
                    ("AWS_SECRET_ACCESS_KEY", "test"),
                    ("AWS_REGION", "us-east-1"),
                    ("AWS_EC2_METADATA_DISABLED", "true"),
                    ("CANARY_TOPIC_ARN", topic.as_str()),
                ],
            );
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
    // State is read back in 10-second buckets: runs of one canary must be further apart.
    let pause = || tokio::time::sleep(Duration::from_millis(10_500));
    let sent = |stderr: &str| {
        stderr
            .split("alerts: ")
            .nth(1)
            .map(|s| s.lines().next().unwrap_or("").to_string())
            .unwrap_or_else(|| format!("no alerts outcome in: {stderr}"))
    };

    assert_eq!(sent(&run(false).await.unwrap()), "no alert due");
    pause().await;
    let fail_at = std::time::Instant::now();
    assert_eq!(
        sent(&run(true).await.unwrap()),
        format!("sent FAIL alert: [FAIL] {name}: market_data")
    );
    pause().await;
    assert_eq!(sent(&run(true).await.unwrap()), "no alert due");
    // reminder_minutes is 1 and the policy allows 30 s of scheduler slack: due 30 s after the
    // FAIL went out.
    tokio::time::sleep(Duration::from_secs(32).saturating_sub(fail_at.elapsed())).await;
    let reminder = sent(&run(true).await.unwrap());
    assert!(
        reminder.starts_with(&format!("sent REMINDER alert: [REMINDER] {name} failing "))
            && reminder.ends_with(" min: market_data"),
        "{reminder}"
    );
    pause().await;
    let resolved = sent(&run(false).await.unwrap());
    assert!(
        resolved.starts_with(&format!(
            "sent RESOLVED alert: [RESOLVED] {name}: all components back to PASS after "
        )),
        "{resolved}"
    );
    pause().await;
    assert_eq!(sent(&run(false).await.unwrap()), "no alert due");

    let got = drain(&queue).await;
    let severities: Vec<&str> = got.iter().map(|e| attribute(e, "severity")).collect();
    assert_eq!(severities, ["FAIL", "REMINDER", "RESOLVED"], "{got:#?}");
    for e in &got {
        assert_eq!(attribute(e, "canary"), name);
    }
    let fail = got[0]["Message"].as_str().unwrap();
    assert!(
        fail.starts_with(&format!("FAIL - {name}\nFailing: market_data\n")),
        "{fail}"
    );
    assert!(
        fail.contains("\n  FAIL market_data\n") && fail.contains(&format!("    Hint: {hint}\n")),
        "{fail}"
    );
    assert!(got[2]["Message"].as_str().unwrap().starts_with(&format!(
        "RESOLVED - {name}\nNo critical target or component is failing any more.\n"
    )));
    let examples: String = got
        .iter()
        .map(|e| {
            format!(
                "SUBJECT: {}\nATTRIBUTES: severity={} canary={}\n{}\n",
                e["Subject"].as_str().unwrap_or(""),
                attribute(e, "severity"),
                attribute(e, "canary"),
                e["Message"].as_str().unwrap_or("")
            )
        })
        .collect();
    std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("alert-sequence-example.txt"),
        examples,
    )
    .unwrap();
}
