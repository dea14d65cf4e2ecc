//! Phones hear the canary stop: `infra/alarms.yaml` deployed with short periods, real canary runs,
//! and the topic read by two SQS queues, one subscribed with exactly the template's SMS filter
//! policy (what a phone would get).

use super::{
    alarms_of, clients, deploy, sms_filter_policy, subscribe_queue, unique, with_stack, Clients,
};
use crate::metrics::aws_env;
use crate::support::cfn;
use aws_sdk_cloudwatch::types::StateValue;
use health_canary::sinks::metrics::contract::CANARY_HEARTBEAT;
use serde_json::{json, Value as Json};
use std::path::Path;
use std::time::{Duration, Instant};

/// The `severity` message attribute the canary sets on its alerts.
fn severity(envelope: &Json) -> Option<&str> {
    envelope["MessageAttributes"]["severity"]["Value"].as_str()
}

/// `(alarm name, new state, old state)` of a CloudWatch alarm notification.
fn alarm_change(envelope: &Json) -> Option<(String, String, String)> {
    let inner: Json = serde_json::from_str(envelope["Message"].as_str()?).ok()?;
    Some((
        inner["AlarmName"].as_str()?.to_string(),
        inner["NewStateValue"].as_str()?.to_string(),
        inner["OldStateValue"].as_str()?.to_string(),
    ))
}

fn is_change(envelope: &Json, alarm: &str, new: &str, old: Option<&str>) -> bool {
    alarm_change(envelope)
        .is_some_and(|(a, n, o)| a == alarm && n == new && old.is_none_or(|old| o == old))
}

/// Runs `health-canary check --config FILE --publish` against LocalStack once; returns its exit
/// code and output (for the failure message).
async fn run_canary(config: &Path) -> (Option<i32>, String) {
    let config = config.to_string_lossy().into_owned();
    tokio::task::spawn_blocking(move || {
        let env = aws_env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let out = crate::support::run_cli(&["check", "--config", &config, "--publish"], &env);
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    })
    .await
    .expect("run the CLI")
}

async fn run_expecting(config: &Path, exit: i32) {
    let (code, output) = run_canary(config).await;
    assert_eq!(code, Some(exit), "health-canary check --publish:\n{output}");
}

async fn alarm_state(c: &Clients, name: &str) -> Option<StateValue> {
    let out =
        c.cw.describe_alarms()
            .alarm_names(name)
            .send()
            .await
            .expect("DescribeAlarms");
    out.metric_alarms()
        .first()
        .and_then(|a| a.state_value().cloned())
}

/// Polls until the alarm is `want`; with `run = Some(config)` a healthy canary run (exit 0)
/// comes before each poll, as the schedule would, faster.
async fn wait_for_state(
    c: &Clients,
    run: Option<&Path>,
    alarm: &str,
    want: StateValue,
) -> Duration {
    let start = Instant::now();
    // Generous bound against hangs: LocalStack evaluates each alarm once per period (10 s here).
    let deadline = start + Duration::from_secs(150);
    loop {
        if let Some(config) = run {
            run_expecting(config, 0).await;
        }
        let state = alarm_state(c, alarm).await;
        if state.as_ref() == Some(&want) {
            return start.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "alarm {alarm} did not reach {want:?} in 150 s (last state {state:?})"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// A canary config file for one seed-format target served by `url`.
fn write_config(dir: &Path, name: &str, json: Json) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, json.to_string()).expect("write config");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hear_the_canary_stop_and_restart_and_its_fail_but_not_its_warn() {
    with_stack("health-canary-alarms", alarm_scenario).await;
}

/// The alarms stack under test: its names and the topic its alarms notify.
struct AlarmsStack {
    stack: String,
    canary: String,
    namespace: String,
    topic: String,
}

impl AlarmsStack {
    fn alarm(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.stack)
    }
}

/// Deploys `infra/alarms.yaml` for a named canary with 10-second periods.
async fn deploy_alarms(c: &Clients, stack: String) -> AlarmsStack {
    let canary = unique("infra-canary");
    let namespace = format!("HealthCanaryTest/{}", unique("ns"));
    let outputs = deploy(
        c,
        &stack,
        &cfn::text("infra/alarms.yaml"),
        &[
            ("AlarmNamePrefix", &stack),
            ("CanaryName", &canary),
            ("Namespace", &namespace),
            ("FunctionName", "health-canary-test-fn"),
            ("StatusAlarmActions", "true"),
            ("PeriodSeconds", "10"),
            ("EvaluationPeriods", "1"),
            ("HeartbeatEvaluationPeriods", "1"),
        ],
    )
    .await;
    let topic = outputs
        .get("AlarmTopicArn")
        .expect("AlarmTopicArn output")
        .clone();
    AlarmsStack {
        stack,
        canary,
        namespace,
        topic,
    }
}

/// Four alarms whatever the config holds; the status alarms are the queries the contract test
/// checked. LocalStack 4.13 stores Metrics Insights alarms but does not evaluate them (its
/// scheduler takes only alarms with MetricName, Statistic and Period and logs "Given alarm
/// configuration not yet supported, alarm state will not be evaluated."), so they stay
/// INSUFFICIENT_DATA here; canary-stopped and errors are plain metric alarms and are evaluated.
async fn check_alarm_set(c: &Clients, s: &AlarmsStack) {
    let alarms = alarms_of(c, &s.stack).await;
    let mut names: Vec<&str> = alarms.keys().map(String::as_str).collect();
    names.sort();
    let want = [
        "canary-stopped",
        "component-status",
        "lambda-errors",
        "target-status",
    ]
    .map(|x| s.alarm(x));
    assert_eq!(names, want.iter().map(String::as_str).collect::<Vec<_>>());
    let (ns, canary) = (&s.namespace, &s.canary);
    for (alarm, sql) in [
        (s.alarm("component-status"), format!("SELECT MAX(ComponentStatus) FROM \"{ns}\" WHERE Canary = '{canary}' GROUP BY Target, Component ORDER BY MAX() DESC")),
        (s.alarm("target-status"), format!("SELECT MAX(TargetStatus) FROM \"{ns}\" WHERE Canary = '{canary}' GROUP BY Target ORDER BY MAX() DESC")),
    ] {
        let query = &alarms[&alarm].metrics()[0];
        assert_eq!(query.expression(), Some(sql.as_str()), "{alarm}");
        assert_eq!(query.period(), Some(60), "{alarm}: Metrics Insights periods are whole minutes");
        eprintln!("{alarm}: {:?} (not evaluated by LocalStack)", alarms[&alarm].state_value());
    }
}

/// Canary configs for the scenario, each against its own local service in the seed format:
/// `quiet` (PASS, no topic: it only keeps the heartbeat going), `warn` (WARN, WARN notices on)
/// and `fail` (FAIL), both alerting to the stack's topic.
struct Runs {
    quiet: std::path::PathBuf,
    warn: std::path::PathBuf,
    fail: std::path::PathBuf,
    _servers: Vec<crate::support::TestServer>,
    _dir: tempfile::TempDir,
}

async fn runs_for(s: &AlarmsStack) -> Runs {
    let fixture = |name: &str| cfn::text(&format!("tests/fixtures/formats/component_map/{name}"));
    let mut servers = Vec::new();
    for name in ["pass.json", "warn.json", "fail.json"] {
        servers.push(crate::support::serve_fixed(200, "application/json", fixture(name)).await);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    // The alert state lives in a table on moto, created from the template's definition.
    let table = crate::state_table::new_table().await;
    let config = |name: &str, server: usize, alerts: Json| {
        let url = servers[server].url("/api/health/system");
        write_config(
            dir.path(),
            name,
            json!({
                "canary": s.canary,
                "targets": [{"name": "system", "url": url, "retries": 0}],
                "metrics": {"namespace": s.namespace, "measurements": "none"},
                "alerts": alerts,
            }),
        )
    };
    Runs {
        quiet: config("quiet.json", 0, json!({})),
        warn: config(
            "warn.json",
            1,
            json!({"topic_arn": s.topic, "state_table": table, "notify_warn": true}),
        ),
        fail: config(
            "fail.json",
            2,
            json!({"topic_arn": s.topic, "state_table": table}),
        ),
        _servers: servers,
        _dir: dir,
    }
}

fn subject_starts(envelope: &Json, prefix: &str) -> bool {
    envelope["Subject"]
        .as_str()
        .unwrap_or_default()
        .starts_with(prefix)
}

async fn alarm_scenario(stack: String) {
    let c = clients().await;
    let s = deploy_alarms(&c, stack).await;
    let mut phone = subscribe_queue(&c, &s.topic, Some(sms_filter_policy())).await;
    let mut everyone = subscribe_queue(&c, &s.topic, None).await;
    check_alarm_set(&c, &s).await;
    let runs = runs_for(&s).await;
    let stopped = s.alarm("canary-stopped");

    // A WARN notice goes out (email would get it)...
    run_expecting(&runs.warn, 0).await;
    let notice = everyone
        .expect(&c, "WARN notice", |e| severity(e) == Some("WARN"))
        .await;
    assert!(subject_starts(&notice, "[WARN]"), "{notice}");
    let ok_after = wait_for_state(&c, Some(&runs.quiet), &stopped, StateValue::Ok).await;
    eprintln!("canary-stopped OK after {ok_after:?} of runs");

    // ...the runs stop: canary-stopped fires and the phone hears it...
    let after = wait_for_state(&c, None, &stopped, StateValue::Alarm).await;
    eprintln!("canary-stopped ALARM {after:?} after the last run");
    let note = phone
        .expect(&c, "canary-stopped ALARM", |e| {
            is_change(e, &stopped, "ALARM", None)
        })
        .await;
    let inner: Json =
        serde_json::from_str(note["Message"].as_str().unwrap_or_default()).expect("alarm JSON");
    assert_eq!(inner["Trigger"]["MetricName"], CANARY_HEARTBEAT);
    assert_eq!(inner["Trigger"]["Namespace"], s.namespace.as_str());
    assert!(
        note["MessageAttributes"].get("severity").is_none(),
        "{note}"
    );

    // ...a failing run pages, and the runs coming back turn canary-stopped OK, which it hears too.
    run_expecting(&runs.fail, 1).await;
    let page = phone
        .expect(&c, "FAIL alert", |e| severity(e) == Some("FAIL"))
        .await;
    assert!(subject_starts(&page, "[FAIL]"), "{page}");
    wait_for_state(&c, Some(&runs.quiet), &stopped, StateValue::Ok).await;
    let back = |e: &Json| is_change(e, &stopped, "OK", Some("ALARM"));
    phone.expect(&c, "canary-stopped OK", back).await;

    // The WARN never reached the phone; everything did reach the unfiltered subscriber.
    assert!(
        phone.seen.iter().all(|e| severity(e) != Some("WARN")),
        "a WARN reached the phone: {:#?}",
        phone.seen
    );
    everyone
        .expect(&c, "FAIL alert", |e| severity(e) == Some("FAIL"))
        .await;
    everyone.expect(&c, "canary-stopped OK", back).await;
    let errors = alarm_state(&c, &s.alarm("lambda-errors")).await;
    assert_eq!(errors, Some(StateValue::Ok), "no function errors");
}
