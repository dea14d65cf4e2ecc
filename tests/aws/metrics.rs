//! Metrics against LocalStack: what the canary publishes is read back with ListMetrics and
//! GetMetricData (exact names, dimensions, values), batching over 1,000 datums, and the EMF
//! fallback when CloudWatch is unreachable.

use crate::support::{self, Scenario};
use aws_sdk_cloudwatch::primitives::DateTime as AwsDateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use chrono::{DateTime, Utc};
use health_canary::aws::Aws;
use health_canary::check::config::{self, Config, Overrides};
use health_canary::check::report::{
    ComponentResult, Measurement, Report, Status, TargetResult, Value,
};
use health_canary::sinks::metrics::{api, datums, emf};
use health_canary::sinks::{deliver, ALERTS_OFF};
use std::collections::BTreeSet;

/// A name no other test (or engineer) sharing this LocalStack uses.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}{}x{}", std::process::id(), nanos % 1_000_000_000)
}

/// One series: metric name and its (name, value) dimensions.
pub type Series = (String, Vec<(String, String)>);

/// Every series in a namespace (ListMetrics, all pages), dimensions in the order returned.
pub async fn list_series(cw: &aws_sdk_cloudwatch::Client, namespace: &str) -> BTreeSet<Series> {
    let mut out = BTreeSet::new();
    let mut pages = cw
        .list_metrics()
        .namespace(namespace)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.expect("ListMetrics");
        for m in page.metrics() {
            let mut dims: Vec<(String, String)> = m
                .dimensions()
                .iter()
                .map(|d| {
                    (
                        d.name().unwrap_or("").to_string(),
                        d.value().unwrap_or("").to_string(),
                    )
                })
                .collect();
            dims.sort();
            out.insert((m.metric_name().unwrap_or("").to_string(), dims));
        }
    }
    out
}

/// The Maximum of each series around `at` (one GetMetricData query per series), in order.
pub async fn read_values(
    cw: &aws_sdk_cloudwatch::Client,
    namespace: &str,
    series: &[(&str, Vec<(&str, &str)>)],
    at: DateTime<Utc>,
) -> Vec<Vec<f64>> {
    let queries: Vec<MetricDataQuery> = series
        .iter()
        .enumerate()
        .map(|(i, (name, dims))| {
            let metric = Metric::builder()
                .namespace(namespace)
                .metric_name(*name)
                .set_dimensions(Some(
                    dims.iter()
                        .map(|(n, v)| Dimension::builder().name(*n).value(*v).build())
                        .collect(),
                ))
                .build();
            MetricDataQuery::builder()
                .id(format!("q{i}"))
                .metric_stat(
                    MetricStat::builder()
                        .metric(metric)
                        .period(60)
                        .stat("Maximum")
                        .build(),
                )
                .build()
        })
        .collect();
    let out = cw
        .get_metric_data()
        .set_metric_data_queries(Some(queries))
        .start_time(AwsDateTime::from_secs(at.timestamp() - 600))
        .end_time(AwsDateTime::from_secs(at.timestamp() + 600))
        .send()
        .await
        .expect("GetMetricData");
    (0..series.len())
        .map(|i| {
            out.metric_data_results()
                .iter()
                .find(|r| r.id() == Some(&format!("q{i}")))
                .map(|r| r.values().to_vec())
                .unwrap_or_default()
        })
        .collect()
}

fn config_for(canary: &str, namespace: &str, measurements: &str) -> Config {
    let json = format!(
        r#"{{"canary":"{canary}","targets":[{{"name":"system","url":"http://127.0.0.1:9/api/health/system"}}],
            "metrics":{{"namespace":"{namespace}","measurements":{measurements}}}}}"#
    );
    config::load(None, Some(&json), &Overrides::default(), &|_| None).expect("valid config")
}

fn component(name: &str, status: Status, measurements: &[(&str, f64)]) -> ComponentResult {
    ComponentResult {
        name: name.into(),
        status,
        reason: None,
        measurements: measurements
            .iter()
            .map(|(n, v)| Measurement {
                name: (*n).into(),
                value: Value::Number(*v),
                unit: None,
            })
            .collect(),
    }
}

fn report(canary: &str, components: Vec<ComponentResult>) -> Report {
    let status = Status::worst_of(components.iter().map(|c| c.status));
    Report::new(
        canary.into(),
        Utc::now(),
        vec![TargetResult {
            name: "system".into(),
            url: "http://127.0.0.1:9/api/health/system".into(),
            critical: true,
            status,
            reason: None,
            http_status: Some(200),
            http_status_expected: Some(true),
            latency_ms: Some(37),
            attempts: 1,
            cert_days_remaining: None,
            format: Some("component_map".into()),
            declared_status: None,
            components,
            conditions: vec![],
        }],
    )
}

fn s(name: &str, dims: &[(&str, &str)]) -> Series {
    let mut d: Vec<(String, String)> = dims
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    d.sort();
    (name.to_string(), d)
}

#[tokio::test]
async fn delivered_metrics_read_back_with_exact_names_dimensions_and_values() {
    support::localstack_endpoint();
    let (canary, ns) = (unique("mx-canary-"), unique("MetricsTest/ReadBack"));
    let config = config_for(&canary, &ns, r#"["stale_symbols","max_age_minutes"]"#);
    let report = report(
        &canary,
        vec![
            component(
                "market_data",
                Status::Fail,
                &[
                    ("fresh_symbols", 0.0),
                    ("stale_symbols", 33.0),
                    ("max_age_minutes", 45.5),
                ],
            ),
            component("telegram", Status::Pass, &[]),
        ],
    );
    let aws = test_aws().await;
    let delivery = deliver(&config, &report, &aws, None).await;
    assert_eq!(
        delivery.metrics_line(),
        format!("published 9 datums to {ns} in 1 PutMetricData call")
    );
    assert_eq!(delivery.alert, Ok(ALERTS_OFF.to_string()));
    assert!(!delivery.canary_failed());

    let c = canary.as_str();
    let comp = |x: &'static str| vec![("Canary", c), ("Target", "system"), ("Component", x)];
    let tgt = vec![("Canary", c), ("Target", "system")];
    let want: BTreeSet<Series> = [
        s("CanaryStatus", &[("Canary", c)]),
        s("CanaryHeartbeat", &[("Canary", c)]),
        s("TargetStatus", &tgt),
        s("TargetUp", &tgt),
        s("ResponseTime", &tgt),
        s("ComponentStatus", &comp("market_data")),
        s("ComponentStatus", &comp("telegram")),
        s("StaleSymbols", &comp("market_data")),
        s("MaxAgeMinutes", &comp("market_data")),
    ]
    .into_iter()
    .collect();
    assert_eq!(list_series(aws.cloudwatch().await, &ns).await, want);

    let series = vec![
        ("CanaryStatus", vec![("Canary", c)]),
        ("CanaryHeartbeat", vec![("Canary", c)]),
        ("TargetStatus", tgt.clone()),
        ("TargetUp", tgt.clone()),
        ("ResponseTime", tgt.clone()),
        ("ComponentStatus", comp("market_data")),
        ("ComponentStatus", comp("telegram")),
        ("StaleSymbols", comp("market_data")),
        ("MaxAgeMinutes", comp("market_data")),
    ];
    let values = read_values(aws.cloudwatch().await, &ns, &series, report.checked_at).await;
    assert_eq!(
        values,
        vec![
            vec![2.0],
            vec![1.0],
            vec![2.0],
            vec![1.0],
            vec![37.0],
            vec![2.0],
            vec![0.0],
            vec![33.0],
            vec![45.5]
        ]
    );
}

#[tokio::test]
async fn more_than_a_thousand_datums_are_sent_in_two_calls_and_all_read_back() {
    support::localstack_endpoint();
    let (canary, ns) = (unique("mx-batch-"), unique("MetricsTest/Batch"));
    let config = config_for(&canary, &ns, r#""none""#);
    let comps: Vec<ComponentResult> = (0..996)
        .map(|i| {
            component(
                &format!("c{i:04}"),
                if i % 3 == 0 {
                    Status::Fail
                } else {
                    Status::Pass
                },
                &[],
            )
        })
        .collect();
    let report = report(&canary, comps);
    let mapped = datums::datums(&report, &config.metrics);
    assert_eq!(mapped.datums.len(), 1001);
    assert_eq!(datums::batches(&mapped.datums), vec![0..1000, 1000..1001]);

    // LocalStack stores 1,000 datums far slower than CloudWatch (about 10 s per call on this
    // machine), so this client allows more time than the Lambda's; batching is what is tested.
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_timeout(std::time::Duration::from_secs(120))
                .build(),
        )
        .load()
        .await;
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&shared);
    let outcome = api::put(&cloudwatch, &ns, &mapped.datums).await;
    assert_eq!(
        outcome,
        api::ApiOutcome {
            calls: 2,
            sent: 1001,
            failure: None
        }
    );
    let listed = list_series(&cloudwatch, &ns).await;
    assert_eq!(listed.len(), 1001);
    let components: BTreeSet<String> = listed
        .iter()
        .filter(|(n, _)| n == "ComponentStatus")
        .filter_map(|(_, d)| {
            d.iter()
                .find(|(k, _)| k == "Component")
                .map(|(_, v)| v.clone())
        })
        .collect();
    assert_eq!(components.len(), 996);
    assert!(components.contains("c0000") && components.contains("c0995"));
    let c = canary.as_str();
    let series: Vec<(&str, Vec<(&str, &str)>)> = ["c0000", "c0993", "c0994", "c0995"]
        .iter()
        .map(|x| {
            (
                "ComponentStatus",
                vec![("Canary", c), ("Target", "system"), ("Component", *x)],
            )
        })
        .collect();
    let values = read_values(&cloudwatch, &ns, &series, report.checked_at).await;
    assert_eq!(values, vec![vec![2.0], vec![2.0], vec![0.0], vec![0.0]]);
}

/// LocalStack on a loaded 2-core machine can take many seconds per CloudWatch call; the tests
/// give every AWS call this long instead of the Lambda's 10 s (the behaviour under test is the
/// same, only the patience differs).
pub const LOCALSTACK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The AWS clients the tests use: the canary's own, with [`LOCALSTACK_TIMEOUT`].
pub async fn test_aws() -> Aws {
    Aws::with_timeout(LOCALSTACK_TIMEOUT)
}

/// The AWS settings of the test run, to hand to a child process (run_cli clears `AWS_*`).
pub fn aws_env() -> Vec<(&'static str, String)> {
    vec![
        (
            "CANARY_AWS_TIMEOUT_SECONDS",
            LOCALSTACK_TIMEOUT.as_secs().to_string(),
        ),
        ("AWS_ENDPOINT_URL", support::localstack_endpoint()),
        ("AWS_ENDPOINT_URL_DYNAMODB", support::moto_endpoint()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}

fn run_cli_with(args: &[&str], env: &[(&str, String)]) -> std::process::Output {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    support::run_cli(args, &env)
}

// The CLI runs as a blocking child process: a second worker keeps the sample service serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_publish_lands_the_sample_services_metrics_in_cloudwatch() {
    let service = support::sample_service(Scenario::MarketDataDown).await;
    let (canary, ns) = (unique("mx-e2e-"), unique("MetricsTest/E2E"));
    let mut env = aws_env();
    env.extend([
        ("CANARY_NAME", canary.clone()),
        ("CANARY_NAMESPACE", ns.clone()),
        ("CANARY_MEASUREMENTS", "all".into()),
    ]);
    let url = service.url();
    let out = run_cli_with(&["check", "--json", "--publish", "--url", &url], &env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The watched service failing is exit 1; the canary itself did its job (not 3).
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains(&format!(
            "metrics: published 22 datums to {ns} in 1 PutMetricData call; alerts: alerts off: no topic"
        )),
        "stderr: {stderr}"
    );
    let report: Report = serde_json::from_slice(&out.stdout).expect("report JSON");
    assert_eq!(report.status, Status::Fail);

    let aws = test_aws().await;
    let listed = list_series(aws.cloudwatch().await, &ns).await;
    assert_eq!(listed.len(), 22);
    assert!(!listed.iter().any(|(n, _)| n == "CertificateDaysRemaining"));
    let market_data: BTreeSet<&str> = listed
        .iter()
        .filter(|(_, d)| {
            d.iter()
                .any(|(k, v)| k == "Component" && v == "market_data")
        })
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(
        market_data,
        [
            "ComponentStatus",
            "FreshSymbols",
            "MaxAgeMinutes",
            "StaleSymbols"
        ]
        .into_iter()
        .collect()
    );

    let c = canary.as_str();
    let comp = |x: &'static str| vec![("Canary", c), ("Target", "127.0.0.1"), ("Component", x)];
    let tgt = vec![("Canary", c), ("Target", "127.0.0.1")];
    let series = vec![
        ("ComponentStatus", comp("market_data")),
        ("ComponentStatus", comp("market_updater")),
        ("ComponentStatus", comp("signal_monitor")),
        ("ComponentStatus", comp("telegram")),
        ("ComponentStatus", comp("trade_system")),
        ("StaleSymbols", comp("market_data")),
        ("MaxAgeMinutes", comp("market_data")),
        ("OpenOrders", comp("trade_system")),
        ("IsRunning", comp("market_updater")),
        ("TargetStatus", tgt.clone()),
        ("TargetUp", tgt),
        ("CanaryStatus", vec![("Canary", c)]),
        ("CanaryHeartbeat", vec![("Canary", c)]),
    ];
    let values = read_values(aws.cloudwatch().await, &ns, &series, report.checked_at).await;
    let want: Vec<Vec<f64>> = [
        2.0, 0.0, 0.0, 0.0, 0.0, 33.0, 45.5, 22.0, 1.0, 2.0, 1.0, 2.0, 1.0,
    ]
    .iter()
    .map(|v| vec![*v])
    .collect();
    assert_eq!(values, want);
}

/// An SQS queue subscribed to a new SNS topic, both on LocalStack: (topic ARN, queue URL).
pub async fn topic_with_queue(name: &str) -> (String, String) {
    let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let sns = aws_sdk_sns::Client::new(&shared);
    let sqs = aws_sdk_sqs::Client::new(&shared);
    let topic = sns
        .create_topic()
        .name(name)
        .send()
        .await
        .expect("CreateTopic");
    let topic_arn = topic.topic_arn().expect("topic ARN").to_string();
    let queue = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("CreateQueue");
    let queue_url = queue.queue_url().expect("queue URL").to_string();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("GetQueueAttributes");
    let queue_arn = attrs
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .expect("queue ARN")
        .clone();
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .send()
        .await
        .expect("Subscribe");
    (topic_arn, queue_url)
}

/// Every SNS notification delivered to the queue within `wait` (parsed envelopes).
pub async fn received(queue_url: &str, wait: std::time::Duration) -> Vec<serde_json::Value> {
    let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let sqs = aws_sdk_sqs::Client::new(&shared);
    let deadline = std::time::Instant::now() + wait;
    let mut out = Vec::new();
    while std::time::Instant::now() < deadline && out.is_empty() {
        let r = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(2)
            .send()
            .await
            .expect("ReceiveMessage");
        for m in r.messages() {
            out.push(serde_json::from_str(m.body().unwrap_or("null")).expect("SNS envelope"));
        }
    }
    out
}

// The CLI runs as a blocking child process: a second worker keeps the sample service serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_cloudwatch_writes_every_datum_as_emf_still_alerts_and_exits_three() {
    let service = support::sample_service(Scenario::MarketDataDown).await;
    // A port that was just free: connection refused, quickly.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (canary, ns) = (unique("mx-down-"), unique("MetricsTest/Down"));
    let (topic_arn, queue_url) = topic_with_queue(&unique("mx-down-")).await;
    let mut env = aws_env();
    env.extend([
        // Only CloudWatch is unreachable; SNS still answers on LocalStack.
        ("AWS_ENDPOINT_URL_CLOUDWATCH", format!("http://{closed}")),
        ("CANARY_NAME", canary.clone()),
        ("CANARY_NAMESPACE", ns.clone()),
        ("CANARY_TOPIC_ARN", topic_arn),
        ("CANARY_STATE_TABLE", crate::state_table::new_table().await),
        ("CANARY_FAILURE_THRESHOLD", "1".into()),
    ]);
    let url = service.url();
    let started = std::time::Instant::now();
    let out = run_cli_with(&["-v", "check", "--json", "--publish", "--url", &url], &env);
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "stderr: {stderr}");
    assert!(
        elapsed < std::time::Duration::from_secs(60),
        "took {elapsed:?}"
    );

    // EMF documents are one JSON object per line with an `_aws` key; the rest is the report.
    let is_emf = |l: &str| {
        serde_json::from_str::<serde_json::Value>(l).is_ok_and(|v| v.get("_aws").is_some())
    };
    let (emf_lines, report_lines): (Vec<&str>, Vec<&str>) = stdout.lines().partition(|l| is_emf(l));
    let report: Report = serde_json::from_str(&report_lines.join("\n"))
        .unwrap_or_else(|e| panic!("report JSON: {e}\n{stdout}"));
    assert_eq!(report.status, Status::Fail);
    let config = config::load(
        None,
        None,
        &Overrides {
            url: Some(url.clone()),
            canary: Some(canary.clone()),
            namespace: Some(ns.clone()),
            ..Overrides::default()
        },
        &|_| None,
    )
    .unwrap();
    let all = datums::datums(&report, &config.metrics).datums;
    let got: Vec<serde_json::Value> = emf_lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("EMF line is JSON"))
        .collect();
    // Every datum of the run, as EMF: one canary, one target and five component documents.
    assert_eq!(got, emf::documents(&ns, &all));
    assert_eq!(got.len(), 7);
    assert_eq!(got[2]["Component"], serde_json::json!("market_data"));
    assert_eq!(got[2]["ComponentStatus"], serde_json::json!(2.0));
    assert_eq!(got[2]["StaleSymbols"], serde_json::json!(33.0));
    assert!(
        stderr.contains(&format!(
            "metrics: FAILED: PutMetricData failed after retries (0 of {} datums sent)",
            all.len()
        )) && stderr.contains(&format!(
            "{} datums written as 7 EMF lines instead",
            all.len()
        )),
        "stderr: {stderr}"
    );
    assert!(
        stderr.contains("PutMetricData failed; unsent datums written as EMF"),
        "stderr: {stderr}"
    );

    // The alert side ran independently and reached SNS.
    let notes = received(&queue_url, std::time::Duration::from_secs(15)).await;
    assert_eq!(notes.len(), 1, "stderr: {stderr}");
    let subject = notes[0]["Subject"].as_str().unwrap_or_default();
    assert!(
        subject.contains("FAIL") && subject.contains(&canary),
        "subject: {subject}"
    );
}
