//! The alert engine across real Lambda invocations: every run a fresh `health-canary-lambda`
//! process (a cold start, nothing kept in memory) against LocalStack (CloudWatch, SNS, SQS) and
//! moto (the DynamoDB state table, created from the template), with SNS or DynamoDB faulted
//! through the fault proxy where a test says so. What reached the topic is read back from an
//! SQS queue subscribed to it, attributes included.

use crate::alerts::{attribute, drain};
use crate::metrics::{aws_env, topic_with_queue, unique};
use crate::support::fault_proxy::{Fault, FaultProxy, Service};
use crate::support::lambda_process::{invoke_fresh, invoke_fresh_at_once, Invocation};
use crate::support::{self, SampleService, Scenario};
use std::time::{Duration, Instant};

/// Generous: under load LocalStack can take tens of seconds per call.
const WAIT: Duration = Duration::from_secs(300);
/// The invocation deadline the runtime hands out: long, because the tests give every AWS call
/// LocalStack's patience (60 s) and the run keeps five of them for the alert path.
const DEADLINE: Duration = Duration::from_secs(600);

/// One canary deployment: a topic with a queue, a state table, and its function's environment.
struct Deployment {
    canary: String,
    queue: String,
    env: Vec<(String, String)>,
}

impl Deployment {
    /// A canary named after `tag` probing `targets` (name, URL); `extra` variables on top.
    async fn new(tag: &str, targets: &[(&str, String)], extra: &[(&str, String)]) -> Deployment {
        let canary = unique(tag);
        let (topic, queue) = topic_with_queue(&canary).await;
        let table = crate::state_table::new_table().await;
        let config = serde_json::json!({
            "canary": canary,
            "targets": targets
                .iter()
                .map(|(name, url)| serde_json::json!({"name": name, "url": url, "retries": 0}))
                .collect::<Vec<_>>(),
            "metrics": {"namespace": unique("AlertRuns")},
        });
        let mut env: Vec<(String, String)> = aws_env()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        env.extend([
            ("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into()),
            ("CANARY_CONFIG".into(), config.to_string()),
            ("CANARY_TOPIC_ARN".into(), topic),
            ("CANARY_STATE_TABLE".into(), table),
        ]);
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
        Deployment { canary, queue, env }
    }

    /// One scheduled invocation in a fresh process.
    async fn invoke(&self) -> Invocation {
        invoke_fresh(&self.env, &crate::lambda::scheduled_event(), DEADLINE, WAIT).await
    }

    /// What the queue received since the last look: (severity, target) per message, with the
    /// envelopes.
    async fn received(&self) -> (Vec<(String, String)>, Vec<serde_json::Value>) {
        let got = drain(&self.queue).await;
        for e in &got {
            assert_eq!(attribute(e, "canary"), self.canary, "{e:#}");
        }
        let pairs = got
            .iter()
            .map(|e| {
                (
                    attribute(e, "severity").to_string(),
                    attribute(e, "target").to_string(),
                )
            })
            .collect();
        (pairs, got)
    }
}

/// The summary of a successful invocation (panics with the logs otherwise).
fn summary(run: &Invocation) -> serde_json::Value {
    assert_eq!(
        run.kind, "response",
        "body: {}\nstderr: {}",
        run.body, run.stderr
    );
    serde_json::from_str(&run.body).expect("summary JSON")
}

/// The alert line of a successful invocation.
fn alert_line(run: &Invocation) -> String {
    summary(run)["alert"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

// A second worker keeps the sample services serving while the function runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_targets_failing_one_after_the_other_page_once_each() {
    let alpha = support::sample_service(Scenario::MarketDataDown).await;
    let beta = support::sample_service(Scenario::Healthy).await;
    let d = Deployment::new(
        "runs-two",
        &[("alpha", alpha.url()), ("beta", beta.url())],
        &[],
    )
    .await;
    assert_eq!(alert_line(&d.invoke().await), "sent FAIL for alpha");
    beta.set(Scenario::SignalMonitorStopped);
    assert_eq!(
        alert_line(&d.invoke().await),
        "sent FAIL for beta",
        "a second target's incident pages although the first one's is open"
    );
    assert_eq!(alert_line(&d.invoke().await), "no notice due");
    alpha.set(Scenario::Healthy);
    beta.set(Scenario::Healthy);
    let resolved = alert_line(&d.invoke().await);
    assert!(
        resolved == "sent RESOLVED for alpha, RESOLVED for beta"
            || resolved == "sent RESOLVED for beta, RESOLVED for alpha",
        "{resolved}"
    );
    let (mut got, envelopes) = d.received().await;
    got[2..].sort();
    assert_eq!(
        got,
        pairs(&[
            ("FAIL", "alpha"),
            ("FAIL", "beta"),
            ("RESOLVED", "alpha"),
            ("RESOLVED", "beta")
        ]),
        "{envelopes:#?}"
    );
    let beta_fail = envelopes[1]["Subject"].as_str().unwrap_or_default();
    assert_eq!(
        beta_fail,
        format!("[FAIL] {}/beta: signal_monitor", d.canary)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_starts_at_the_same_moment_on_one_failing_target_send_exactly_one_fail() {
    let service = support::sample_service(Scenario::MarketDataDown).await;
    let d = Deployment::new("runs-cold", &[("alpha", service.url())], &[]).await;
    let runs =
        invoke_fresh_at_once(4, &d.env, &crate::lambda::scheduled_event(), DEADLINE, WAIT).await;
    let lines: Vec<String> = runs.iter().map(alert_line).collect();
    assert_eq!(
        lines.iter().filter(|l| *l == "sent FAIL for alpha").count(),
        1,
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .all(|l| l == "sent FAIL for alpha" || l == "no notice due"),
        "{lines:?}"
    );
    let (got, envelopes) = d.received().await;
    assert_eq!(got, pairs(&[("FAIL", "alpha")]), "{envelopes:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fail_and_a_resolved_sns_refused_are_each_delivered_once_by_the_next_run_marked_late() {
    let service = support::sample_service(Scenario::MarketDataDown).await;
    let proxy = FaultProxy::start(&support::localstack_endpoint()).await;
    let d = Deployment::new(
        "runs-late",
        &[("alpha", service.url())],
        &[("AWS_ENDPOINT_URL_SNS", proxy.url())],
    )
    .await;
    let refused = |run: &Invocation, kind: &str| {
        assert_eq!(run.kind, "error", "{}", run.body);
        assert!(run.body.contains("CanaryDeliveryFailed"), "{}", run.body);
        let want = format!("alpha: cannot publish the {kind} notice: rejected: ");
        assert!(run.body.contains(&want), "{want} in {}", run.body);
        // Metrics still landed.
        assert!(run.body.contains("published "), "{}", run.body);
    };
    proxy.set(Service::Sns, Fault::InternalError);
    refused(&d.invoke().await, "FAIL");
    proxy.set(Service::Sns, Fault::Pass);
    assert_eq!(alert_line(&d.invoke().await), "sent FAIL for alpha (late)");
    service.set(Scenario::Healthy);
    proxy.set(Service::Sns, Fault::InternalError);
    refused(&d.invoke().await, "RESOLVED");
    proxy.set(Service::Sns, Fault::Pass);
    assert_eq!(
        alert_line(&d.invoke().await),
        "sent RESOLVED for alpha (late)"
    );
    assert_eq!(alert_line(&d.invoke().await), "no notice due");
    let (got, envelopes) = d.received().await;
    assert_eq!(
        got,
        pairs(&[("FAIL", "alpha"), ("RESOLVED", "alpha")]),
        "{envelopes:#?}"
    );
    for e in &envelopes {
        let body = e["Message"].as_str().unwrap_or_default();
        assert!(body.contains("\nLate: due at "), "{body}");
        assert!(
            !body.contains("May repeat"),
            "refused, so never sent: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_incident_survives_runs_without_the_table_and_still_gets_its_resolved() {
    let service = support::sample_service(Scenario::MarketDataDown).await;
    let proxy = FaultProxy::start(&support::moto_endpoint()).await;
    let d = Deployment::new(
        "runs-notable",
        &[("alpha", service.url())],
        &[("AWS_ENDPOINT_URL_DYNAMODB", proxy.url())],
    )
    .await;
    assert_eq!(alert_line(&d.invoke().await), "sent FAIL for alpha");
    service.set(Scenario::Healthy);
    for fault in [Fault::InternalError, Fault::Throttle, Fault::Reset] {
        proxy.set(Service::DynamoDb, fault.clone());
        let run = d.invoke().await;
        assert_eq!(run.kind, "error", "{fault:?}: {}", run.body);
        assert!(
            run.body.contains("alpha: alert state table unavailable"),
            "{fault:?}: {}",
            run.body
        );
        assert!(run.body.contains("published "), "{fault:?}: metrics landed");
    }
    assert_eq!(
        d.received().await.0,
        pairs(&[("FAIL", "alpha")]),
        "nothing sent without the table"
    );
    proxy.set(Service::DynamoDb, Fault::Pass);
    assert_eq!(alert_line(&d.invoke().await), "sent RESOLVED for alpha");
    let (got, envelopes) = d.received().await;
    assert_eq!(got, pairs(&[("RESOLVED", "alpha")]), "{envelopes:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_target_with_a_short_deadline_still_publishes_metrics_and_its_fail() {
    let service = support::sample_service(Scenario::Hanging).await;
    // 12 s per AWS call (LocalStack under the suite's load): the alert path keeps 5 × 12 + 2 =
    // 62 s of an 80 s deadline, so probing gets about 18 s, and the target's own 60 s timeout
    // never comes.
    let d = Deployment::new(
        "runs-deadline",
        &[("alpha", service.url())],
        &[("CANARY_AWS_TIMEOUT_SECONDS", "12".into())],
    )
    .await;
    let mut env = d.env.clone();
    let config = env
        .iter_mut()
        .find(|(k, _)| k == "CANARY_CONFIG")
        .expect("config");
    config.1 = config
        .1
        .replace("\"retries\":0", "\"retries\":0,\"timeout_seconds\":60");
    let deadline = Duration::from_secs(80);
    let started = Instant::now();
    let run = invoke_fresh(&env, &crate::lambda::scheduled_event(), deadline, WAIT).await;
    let elapsed = started.elapsed();
    let s = summary(&run);
    assert!(elapsed < deadline, "answered after {elapsed:?}");
    assert_eq!(s["status"], "FAIL");
    assert!(
        s["metrics"]
            .as_str()
            .unwrap_or_default()
            .starts_with("published "),
        "{s:#}"
    );
    assert_eq!(s["alert"], "sent FAIL for alpha", "{s:#}");
    let (got, envelopes) = d.received().await;
    assert_eq!(got, pairs(&[("FAIL", "alpha")]), "{envelopes:#?}");
    let body = envelopes[0]["Message"].as_str().unwrap_or_default();
    assert!(
        body.contains("Reason:   not finished within the run's probing time of "),
        "{body}"
    );
    drop::<SampleService>(service);
}
