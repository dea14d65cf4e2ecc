//! AWS faults through the fault-injecting proxy: the proxy speaks each protocol's real error
//! shapes, and the canary keeps its promises when CloudWatch, SNS or the DynamoDB state table
//! misbehave.

use crate::support::fault_proxy::{Fault, FaultProxy, Service};
use crate::support::localstack_endpoint;
use aws_sdk_cloudwatch::error::ProvideErrorMetadata;
use std::time::{Duration, Instant};

/// SDK config pointed at the proxy, with the SDK's default retry policy (3 attempts).
async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_cloudwatch::config::Credentials::new(
            "test", "test", None, None, "faults",
        ))
        .load()
        .await
}

/// Runs one ListMetrics (CloudWatch) and one ListTopics (SNS) through the proxy.
async fn call_both(
    proxy: &FaultProxy,
) -> (Result<(), (String, String)>, Result<(), (String, String)>) {
    let shared = sdk_config(&proxy.url()).await;
    let cw = aws_sdk_cloudwatch::Client::new(&shared);
    let sns = aws_sdk_sns::Client::new(&shared);
    let cw_result = cw
        .list_metrics()
        .namespace("FaultsProxySelfTest")
        .send()
        .await
        .map(|_| ())
        .map_err(|e| (e.code().unwrap_or("").to_string(), format!("{e:?}")));
    let sns_result = sns
        .list_topics()
        .send()
        .await
        .map(|_| ())
        .map_err(|e| (e.code().unwrap_or("").to_string(), format!("{e:?}")));
    (cw_result, sns_result)
}

#[tokio::test]
async fn proxy_passes_both_services_through_and_counts_them() {
    let proxy = FaultProxy::start(&localstack_endpoint()).await;
    let (cw, sns) = call_both(&proxy).await;
    assert_eq!(cw, Ok(()));
    assert_eq!(sns, Ok(()));
    assert_eq!(proxy.count_operation(Service::CloudWatch, "ListMetrics"), 1);
    assert_eq!(proxy.count_operation(Service::Sns, "ListTopics"), 1);
}

#[tokio::test]
async fn proxy_errors_carry_each_protocols_error_code_and_the_sdk_retries_them() {
    // (fault, CloudWatch code the SDK reads, SNS code the SDK reads)
    let cases = [
        (Fault::Throttle, "Throttling", "Throttling"),
        (Fault::InternalError, "InternalFailure", "InternalFailure"),
    ];
    for (fault, cw_code, sns_code) in cases {
        let proxy = FaultProxy::start(&localstack_endpoint()).await;
        proxy.set(Service::CloudWatch, fault.clone());
        proxy.set(Service::Sns, fault.clone());
        let (cw, sns) = call_both(&proxy).await;
        assert_eq!(cw.expect_err("CloudWatch fails").0, cw_code, "{fault:?}");
        assert_eq!(sns.expect_err("SNS fails").0, sns_code, "{fault:?}");
        // The SDK's standard retry policy makes 3 attempts for throttling and 5xx alike.
        assert_eq!(proxy.count(Service::CloudWatch), 3, "{fault:?}");
        assert_eq!(proxy.count(Service::Sns), 3, "{fault:?}");
    }
}

#[tokio::test]
async fn proxy_fails_the_first_requests_then_passes() {
    let proxy = FaultProxy::start(&localstack_endpoint()).await;
    proxy.set(Service::CloudWatch, Fault::first(2, Fault::Throttle));
    proxy.set(Service::Sns, Fault::first(1, Fault::InternalError));
    let (cw, sns) = call_both(&proxy).await;
    assert_eq!(cw, Ok(()));
    assert_eq!(sns, Ok(()));
    assert_eq!(proxy.count(Service::CloudWatch), 3);
    assert_eq!(proxy.count(Service::Sns), 2);
    let actions: Vec<Fault> = proxy.seen().into_iter().map(|s| s.action).collect();
    assert_eq!(
        actions,
        vec![
            Fault::Throttle,
            Fault::Throttle,
            Fault::Pass,
            Fault::InternalError,
            Fault::Pass
        ]
    );
}

#[tokio::test]
async fn proxy_resets_and_stalls_connections() {
    let proxy = FaultProxy::start(&localstack_endpoint()).await;
    proxy.set(Service::CloudWatch, Fault::Reset);
    proxy.set(Service::Sns, Fault::Stall(Duration::from_secs(10)));
    let shared = sdk_config(&proxy.url()).await;
    let cw = aws_sdk_cloudwatch::Client::new(&shared);
    let err = cw.list_metrics().send().await.expect_err("reset fails");
    assert!(
        format!("{err:?}").contains("DispatchFailure"),
        "a reset is a dispatch failure: {err:?}"
    );
    // Resets are transient errors: the SDK retried.
    assert_eq!(proxy.count(Service::CloudWatch), 3);

    let sns = aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::config::Builder::from(&shared)
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(Duration::from_millis(500))
                    .operation_timeout(Duration::from_secs(2))
                    .build(),
            )
            .build(),
    );
    let started = Instant::now();
    let err = sns.list_topics().send().await.expect_err("stall times out");
    assert!(format!("{err:?}").contains("TimeoutError"), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        proxy.count(Service::Sns) >= 2,
        "the stalled attempt was retried"
    );
}

#[tokio::test]
async fn proxy_faults_one_operation_and_leaves_the_others_alone() {
    let proxy = FaultProxy::start(&localstack_endpoint()).await;
    proxy.set_operation(Service::CloudWatch, "GetMetricData", Fault::InternalError);
    let shared = sdk_config(&proxy.url()).await;
    let cw = aws_sdk_cloudwatch::Client::new(&shared);
    let now = aws_sdk_cloudwatch::primitives::DateTime::from_secs(chrono::Utc::now().timestamp());
    let get = cw
        .get_metric_data()
        .start_time(aws_sdk_cloudwatch::primitives::DateTime::from_secs(
            now.secs() - 600,
        ))
        .end_time(now)
        .metric_data_queries(
            aws_sdk_cloudwatch::types::MetricDataQuery::builder()
                .id("q")
                .expression("SUM(METRICS())")
                .build(),
        )
        .send()
        .await;
    assert_eq!(
        get.expect_err("GetMetricData fails").code(),
        Some("InternalFailure")
    );
    assert_eq!(cw.list_metrics().send().await.map(|_| ()).ok(), Some(()));
    assert_eq!(
        proxy.count_operation(Service::CloudWatch, "GetMetricData"),
        3
    );
    assert_eq!(proxy.count_operation(Service::CloudWatch, "ListMetrics"), 1);
}

// ---- the canary end to end, through the proxy ---------------------------------------------

/// The Lambda's timeout budget the run must fit in, with room to spare.
const WALL_BOUND: Duration = Duration::from_secs(30);

/// Exit code of `check --publish` when the canary failed at its job (the `metrics` contract).
const EXIT_CANARY_FAILED: i32 = 3;
/// Exit code when the watched service FAILs and delivery worked.
const EXIT_SERVICE_FAILED: i32 = 1;

/// A unique suffix so tests sharing one LocalStack never see each other's resources.
fn unique(tag: &str) -> String {
    use std::hash::{BuildHasher, RandomState};
    let n = RandomState::new().hash_one(std::time::SystemTime::now()) & 0xffff_ffff;
    format!("{tag}-{n:08x}")
}

/// Clients straight to LocalStack (not through the proxy), for setup and read-back.
struct Direct {
    cw: aws_sdk_cloudwatch::Client,
    sns: aws_sdk_sns::Client,
    sqs: aws_sdk_sqs::Client,
}

async fn direct() -> Direct {
    let shared = sdk_config(&localstack_endpoint()).await;
    Direct {
        cw: aws_sdk_cloudwatch::Client::new(&shared),
        sns: aws_sdk_sns::Client::new(&shared),
        sqs: aws_sdk_sqs::Client::new(&shared),
    }
}

/// One scenario: a failing local service, a topic with a queue subscribed, a config file.
struct Scenario {
    canary: String,
    namespace: String,
    queue_url: String,
    config: String,
    _service: crate::support::SampleService,
    _dir: tempfile::TempDir,
    aws: Direct,
}

async fn scenario(tag: &str, headers: serde_json::Value) -> Scenario {
    let name = unique(tag);
    let aws = direct().await;
    // A fresh LocalStack sets up CloudWatch's store on the first write, which can take longer
    // than the canary's 10-second budget on a busy machine: warm it up outside the measured run.
    aws.cw
        .put_metric_data()
        .namespace("HealthCanaryFaults/warm-up")
        .metric_data(
            aws_sdk_cloudwatch::types::MetricDatum::builder()
                .metric_name("WarmUp")
                .value(1.0)
                .build(),
        )
        .send()
        .await
        .expect("CloudWatch is up");
    let topic_arn = aws
        .sns
        .create_topic()
        .name(format!("faults-{name}"))
        .send()
        .await
        .expect("create topic")
        .topic_arn
        .expect("topic arn");
    let queue_url = aws
        .sqs
        .create_queue()
        .queue_name(format!("faults-{name}"))
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("queue url");
    let queue_arn = aws
        .sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .expect("queue arn");
    aws.sns
        .subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .send()
        .await
        .expect("subscribe queue");
    // Market data down: one failing component, so every run is due an alert.
    let service = crate::support::sample_service(crate::support::Scenario::MarketDataDown).await;
    let canary = format!("faults-{name}");
    let namespace = format!("HealthCanaryFaults/{name}");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("canary.json");
    let config = serde_json::json!({
        "canary": canary,
        "targets": [{"name": "trading", "url": service.url(),
                     "headers": headers, "retries": 0}],
        "metrics": {"namespace": namespace},
        "alerts": {"topic_arn": topic_arn, "failure_threshold": 1,
                   "state_table": crate::state_table::new_table().await}
    });
    std::fs::write(&path, serde_json::to_vec_pretty(&config).expect("json")).expect("write");
    Scenario {
        canary,
        namespace,
        queue_url,
        config: path.to_string_lossy().into_owned(),
        _service: service,
        _dir: dir,
        aws,
    }
}

/// What one CLI run produced.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// Runs `health-canary check --config F {extra}` with AWS pointed at `endpoint`.
async fn run_canary(config: &str, endpoint: &str, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let mut args: Vec<String> = vec!["check".into(), "--config".into(), config.into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut vars: Vec<(String, String)> = vec![
        ("AWS_ENDPOINT_URL".into(), endpoint.into()),
        // The state table lives in moto; a test faulting it points this at a proxy instead.
        (
            "AWS_ENDPOINT_URL_DYNAMODB".into(),
            crate::support::moto_endpoint(),
        ),
        ("AWS_ACCESS_KEY_ID".into(), "test".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
        ("AWS_REGION".into(), "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
    ];
    vars.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let started = Instant::now();
    let out = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        crate::support::run_cli(&args, &vars)
    })
    .await
    .expect("CLI thread");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

/// `Name{Dim=value,…}` for every metric in the EMF lines of `stdout`.
fn emf_series(stdout: &str) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for line in stdout.lines().filter(|l| l.starts_with("{\"_aws\"")) {
        let doc: serde_json::Value = serde_json::from_str(line).expect("EMF line is JSON");
        for directive in doc["_aws"]["CloudWatchMetrics"]
            .as_array()
            .expect("directives")
        {
            for dims in directive["Dimensions"].as_array().expect("dimension sets") {
                let mut names: Vec<&str> = dims
                    .as_array()
                    .expect("dimension set")
                    .iter()
                    .filter_map(|d| d.as_str())
                    .collect();
                names.sort_unstable();
                let dims: Vec<String> = names
                    .iter()
                    .map(|n| format!("{n}={}", doc[*n].as_str().unwrap_or_default()))
                    .collect();
                for metric in directive["Metrics"].as_array().expect("metrics") {
                    let name = metric["Name"].as_str().expect("metric name");
                    assert!(doc[name].is_number(), "EMF value for {name} in {line}");
                    out.insert(format!("{name}{{{}}}", dims.join(",")));
                }
            }
        }
    }
    out
}

/// `Name{Dim=value,…}` for every metric LocalStack holds in `namespace`.
async fn cloudwatch_series(
    cw: &aws_sdk_cloudwatch::Client,
    namespace: &str,
) -> std::collections::BTreeSet<String> {
    let listed = cw
        .list_metrics()
        .namespace(namespace)
        .send()
        .await
        .expect("ListMetrics");
    listed
        .metrics()
        .iter()
        .map(|m| {
            let mut dims: Vec<String> = m
                .dimensions()
                .iter()
                .map(|d| format!("{}={}", d.name().unwrap_or(""), d.value().unwrap_or("")))
                .collect();
            dims.sort_unstable();
            format!("{}{{{}}}", m.metric_name().unwrap_or(""), dims.join(","))
        })
        .collect()
}

/// (subject, message) of every alert in the queue, waiting up to `wait` for at least `want`.
async fn alerts(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    want: usize,
    wait: Duration,
) -> Vec<(String, String)> {
    let deadline = Instant::now() + wait;
    let mut got = Vec::new();
    while got.len() < want.max(1) && Instant::now() < deadline {
        let out = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("ReceiveMessage");
        for m in out.messages() {
            let envelope: serde_json::Value =
                serde_json::from_str(m.body().unwrap_or_default()).expect("SNS envelope");
            got.push((
                envelope["Subject"].as_str().unwrap_or_default().to_string(),
                envelope["Message"].as_str().unwrap_or_default().to_string(),
            ));
            if let Some(handle) = m.receipt_handle() {
                let _ = sqs
                    .delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await;
            }
        }
    }
    got
}

/// The series a run publishes, from `check --emf` (no AWS involved): the fallback must match it.
async fn expected_series(s: &Scenario) -> std::collections::BTreeSet<String> {
    let run = run_canary(&s.config, "http://127.0.0.1:9", &["--emf"], &[]).await;
    assert_eq!(run.code, Some(EXIT_SERVICE_FAILED), "{}", run.stderr);
    let series = emf_series(&run.stdout);
    for must in [
        format!(
            "ComponentStatus{{Canary={},Component=market_data,Target=trading}}",
            s.canary
        ),
        format!(
            "ComponentStatus{{Canary={},Component=telegram,Target=trading}}",
            s.canary
        ),
        format!("TargetStatus{{Canary={},Target=trading}}", s.canary),
        format!("CanaryStatus{{Canary={}}}", s.canary),
        format!("CanaryHeartbeat{{Canary={}}}", s.canary),
    ] {
        assert!(series.contains(&must), "{must} missing from {series:?}");
    }
    series
}

/// Asserts the alert that arrived is a FAIL alert naming the canary and the failing component.
fn assert_fail_alert(s: &Scenario, alert: &(String, String)) {
    let (subject, message) = alert;
    assert!(subject.contains("FAIL"), "subject: {subject}");
    assert!(
        subject.contains(&s.canary) || message.contains(&s.canary),
        "{subject}\n{message}"
    );
    assert!(message.contains("market_data"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn healthy_aws_means_the_canary_did_its_job_even_when_the_service_fails() {
    let s = scenario("healthy", serde_json::json!({})).await;
    let expected = expected_series(&s).await;
    let proxy = FaultProxy::start(&localstack_endpoint()).await;
    let run = run_canary(&s.config, &proxy.url(), &["--publish", "--json"], &[]).await;
    // The watched service failing is exit 1, not the canary's failure (3).
    assert_eq!(run.code, Some(EXIT_SERVICE_FAILED), "{}", run.stderr);
    assert!(!run.stderr.contains("FAILED"), "{}", run.stderr);
    assert!(
        run.stderr.contains("alerts: sent FAIL for trading"),
        "{}",
        run.stderr
    );
    assert!(
        emf_series(&run.stdout).is_empty(),
        "no EMF fallback when CloudWatch works"
    );
    let landed = cloudwatch_series(&s.aws.cw, &s.namespace).await;
    assert!(
        expected.is_subset(&landed),
        "missing: {:?}",
        expected.difference(&landed).collect::<Vec<_>>()
    );
    let got = alerts(&s.aws.sqs, &s.queue_url, 1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_fail_alert(&s, &got[0]);
    assert!(!got[0].1.contains("Late:"), "{}", got[0].1);
    assert!(run.elapsed < WALL_BOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn cloudwatch_transient_errors_are_retried_and_metrics_land() {
    for fault in [
        Fault::first(1, Fault::InternalError),
        Fault::first(2, Fault::Throttle),
    ] {
        let s = scenario("transient", serde_json::json!({})).await;
        let expected = expected_series(&s).await;
        let proxy = FaultProxy::start(&localstack_endpoint()).await;
        let Fault::FailFirst(failures, _) = fault.clone() else {
            unreachable!()
        };
        proxy.set_operation(Service::CloudWatch, "PutMetricData", fault.clone());
        let run = run_canary(&s.config, &proxy.url(), &["--publish", "--json"], &[]).await;
        assert_eq!(
            run.code,
            Some(EXIT_SERVICE_FAILED),
            "{fault:?}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("FAILED"), "{fault:?}: {}", run.stderr);
        let puts = proxy.count_operation(Service::CloudWatch, "PutMetricData");
        let refused = proxy
            .seen()
            .iter()
            .filter(|r| r.operation.as_deref() == Some("PutMetricData") && r.action != Fault::Pass)
            .count();
        // The SDK retried past the injected failures: more requests than failures.
        assert_eq!(refused, failures as usize, "{fault:?}");
        // One batch: the refused attempts, then the one that landed.
        assert_eq!(
            puts,
            failures as usize + 1,
            "{fault:?}: {puts} PutMetricData requests"
        );
        assert!(
            emf_series(&run.stdout).is_empty(),
            "{fault:?}: no EMF fallback needed"
        );
        let landed = cloudwatch_series(&s.aws.cw, &s.namespace).await;
        assert!(
            expected.is_subset(&landed),
            "{fault:?} missing: {:?}",
            expected.difference(&landed).collect::<Vec<_>>()
        );
        let got = alerts(&s.aws.sqs, &s.queue_url, 1, Duration::from_secs(10)).await;
        assert_eq!(got.len(), 1, "{fault:?}: {got:?}");
        assert_fail_alert(&s, &got[0]);
    }
}

/// CloudWatch entirely broken with `fault`: EMF fallback, alert still out, exit 3, bounded time.
async fn cloudwatch_down(fault: Fault) {
    let s = scenario("cwdown", serde_json::json!({})).await;
    let expected = expected_series(&s).await;
    let proxy = FaultProxy::start(&localstack_endpoint()).await;
    proxy.set(Service::CloudWatch, fault.clone());
    let run = run_canary(&s.config, &proxy.url(), &["--publish", "--json"], &[]).await;
    assert_eq!(
        run.code,
        Some(EXIT_CANARY_FAILED),
        "{fault:?}: {}",
        run.stderr
    );
    assert!(run.elapsed < WALL_BOUND, "{fault:?} took {:?}", run.elapsed);
    assert!(
        run.stderr
            .contains("metrics: FAILED: PutMetricData failed after retries"),
        "{fault:?}: {}",
        run.stderr
    );
    // Every datum the run produces is in the EMF fallback on stdout, nothing reached CloudWatch.
    assert_eq!(emf_series(&run.stdout), expected, "{fault:?}");
    assert!(
        cloudwatch_series(&s.aws.cw, &s.namespace).await.is_empty(),
        "{fault:?}"
    );
    // Refusals and resets use every attempt. A stalled attempt is cut at 40 % of the operation
    // timeout, so two always fit in it; whether a third starts depends on the jittered backoff.
    let attempts = match fault {
        Fault::Stall(_) => 2,
        _ => health_canary::aws::MAX_ATTEMPTS as usize,
    };
    assert!(
        proxy.count_operation(Service::CloudWatch, "PutMetricData") >= attempts,
        "{fault:?}: retried"
    );
    // The alert side does not need CloudWatch: the alert still went out.
    let got = alerts(&s.aws.sqs, &s.queue_url, 1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "{fault:?}: {got:?}");
    assert_fail_alert(&s, &got[0]);
    eprintln!("{fault:?}: exit {:?} in {:?}", run.code, run.elapsed);
}

#[tokio::test(flavor = "multi_thread")]
async fn cloudwatch_returning_500s_falls_back_to_emf_and_still_alerts() {
    cloudwatch_down(Fault::InternalError).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cloudwatch_throttling_every_call_falls_back_to_emf_and_still_alerts() {
    cloudwatch_down(Fault::Throttle).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cloudwatch_resetting_connections_falls_back_to_emf_and_still_alerts() {
    cloudwatch_down(Fault::Reset).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cloudwatch_stalling_ten_seconds_falls_back_to_emf_within_the_lambda_timeout() {
    cloudwatch_down(Fault::Stall(Duration::from_secs(10))).await;
}

/// SNS entirely broken with `fault`: metrics land, the alert failure is reported, exit 3.
async fn sns_down(fault: Fault) {
    let s = scenario("snsdown", serde_json::json!({})).await;
    let expected = expected_series(&s).await;
    let proxy = FaultProxy::start(&localstack_endpoint()).await;
    proxy.set(Service::Sns, fault.clone());
    let run = run_canary(&s.config, &proxy.url(), &["--publish", "--json"], &[]).await;
    assert_eq!(
        run.code,
        Some(EXIT_CANARY_FAILED),
        "{fault:?}: {}",
        run.stderr
    );
    assert!(run.elapsed < WALL_BOUND, "{fault:?} took {:?}", run.elapsed);
    assert!(
        run.stderr
            .contains("alerts: FAILED: trading: cannot publish the FAIL notice"),
        "{fault:?}: {}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("metrics: FAILED"),
        "{fault:?}: {}",
        run.stderr
    );
    let landed = cloudwatch_series(&s.aws.cw, &s.namespace).await;
    assert!(
        expected.is_subset(&landed),
        "{fault:?} missing: {:?}",
        expected.difference(&landed).collect::<Vec<_>>()
    );
    assert!(
        proxy.count_operation(Service::Sns, "Publish") >= 2,
        "{fault:?}: retried"
    );
    let got = alerts(&s.aws.sqs, &s.queue_url, 0, Duration::from_secs(2)).await;
    assert!(got.is_empty(), "{fault:?}: {got:?}");
    eprintln!("{fault:?}: exit {:?} in {:?}", run.code, run.elapsed);
}

#[tokio::test(flavor = "multi_thread")]
async fn sns_returning_500s_is_reported_while_metrics_land() {
    sns_down(Fault::InternalError).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sns_throttling_every_call_is_reported_while_metrics_land() {
    sns_down(Fault::Throttle).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sns_resetting_connections_is_reported_while_metrics_land() {
    sns_down(Fault::Reset).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sns_stalling_ten_seconds_is_reported_within_the_lambda_timeout() {
    sns_down(Fault::Stall(Duration::from_secs(10))).await;
}

/// The state table unreachable: nothing is sent (no notice without its state), the run fails
/// (exit 3) naming the table, metrics still land, and the first run with the table back pages.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_state_table_sends_nothing_fails_the_run_and_the_next_run_pages() {
    let s = scenario("stateless", serde_json::json!({})).await;
    let expected = expected_series(&s).await;
    let table = FaultProxy::start(&crate::support::moto_endpoint()).await;
    let via = [("AWS_ENDPOINT_URL_DYNAMODB", table.url())];
    let via: Vec<(&str, &str)> = via.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for fault in [Fault::InternalError, Fault::Throttle, Fault::Reset] {
        table.set(Service::DynamoDb, fault.clone());
        let run = run_canary(&s.config, &localstack_endpoint(), &["--publish"], &via).await;
        assert_eq!(
            run.code,
            Some(EXIT_CANARY_FAILED),
            "{fault:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr
                .contains("alerts: FAILED: trading: alert state table unavailable"),
            "{fault:?}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("metrics: FAILED"), "{}", run.stderr);
        assert!(run.elapsed < WALL_BOUND, "{fault:?} took {:?}", run.elapsed);
        assert!(
            alerts(&s.aws.sqs, &s.queue_url, 0, Duration::from_secs(2))
                .await
                .is_empty(),
            "{fault:?}: nothing sent without the table"
        );
    }
    assert!(
        table.count_operation(Service::DynamoDb, "Query") >= 3,
        "the silences read was retried"
    );
    let landed = cloudwatch_series(&s.aws.cw, &s.namespace).await;
    assert!(expected.is_subset(&landed));
    table.set(Service::DynamoDb, Fault::Pass);
    let back = run_canary(&s.config, &localstack_endpoint(), &["--publish"], &via).await;
    assert_eq!(back.code, Some(EXIT_SERVICE_FAILED), "{}", back.stderr);
    assert!(
        back.stderr.contains("alerts: sent FAIL for trading"),
        "{}",
        back.stderr
    );
    let got = alerts(&s.aws.sqs, &s.queue_url, 1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_fail_alert(&s, &got[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn both_services_stalling_still_ends_within_the_lambda_timeout_with_emf() {
    let s = scenario("bothdown", serde_json::json!({})).await;
    let expected = expected_series(&s).await;
    let proxy = FaultProxy::start(&localstack_endpoint()).await;
    proxy.set(Service::CloudWatch, Fault::Stall(Duration::from_secs(10)));
    proxy.set(Service::Sns, Fault::Stall(Duration::from_secs(10)));
    let run = run_canary(&s.config, &proxy.url(), &["--publish", "--json"], &[]).await;
    assert_eq!(run.code, Some(EXIT_CANARY_FAILED), "{}", run.stderr);
    assert!(run.elapsed < WALL_BOUND, "took {:?}", run.elapsed);
    assert!(
        run.stderr
            .contains("metrics: FAILED: PutMetricData failed after retries"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("alerts: FAILED: trading: cannot publish the FAIL notice"),
        "{}",
        run.stderr
    );
    assert_eq!(emf_series(&run.stdout), expected);
    // The JSON report still reached stdout ahead of the EMF lines.
    assert!(run.stdout.starts_with('{') && run.stdout.contains("\"market_data\""));
    assert!(alerts(&s.aws.sqs, &s.queue_url, 0, Duration::from_secs(2))
        .await
        .is_empty());
    eprintln!("both stalled: exit {:?} in {:?}", run.code, run.elapsed);
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_config_exits_2_before_any_aws_call() {
    let proxy = FaultProxy::start(&localstack_endpoint()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.json");
    std::fs::write(
        &path,
        r#"{"targets":[{"url":"http://127.0.0.1:9/h","retires":2}]}"#,
    )
    .expect("write");
    let run = run_canary(&path.to_string_lossy(), &proxy.url(), &["--publish"], &[]).await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("retires"), "{}", run.stderr);
    assert!(proxy.seen().is_empty(), "no AWS call for an invalid config");
}

#[tokio::test(flavor = "multi_thread")]
async fn header_secret_never_reaches_cloudwatch_sns_logs_or_emf() {
    let secret = {
        use std::hash::{BuildHasher, RandomState};
        format!(
            "hc-secret-{:016x}",
            RandomState::new().hash_one(std::time::SystemTime::now())
        )
    };
    let s = scenario(
        "secret",
        serde_json::json!({"Authorization": "Bearer ${CANARY_TEST_SECRET}",
                           "X-Api-Key": "${CANARY_TEST_SECRET}"}),
    )
    .await;
    let proxy = FaultProxy::start(&localstack_endpoint()).await;
    let table = FaultProxy::start(&crate::support::moto_endpoint()).await;
    let table_url = table.url();
    let env = [
        ("CANARY_TEST_SECRET", secret.as_str()),
        ("RUST_LOG", "trace"),
        ("AWS_ENDPOINT_URL_DYNAMODB", table_url.as_str()),
    ];
    // Healthy AWS (metrics and alert delivered), then CloudWatch down (the EMF fallback and the
    // error paths print everything they have).
    let healthy = run_canary(
        &s.config,
        &proxy.url(),
        &["-vv", "--publish", "--json"],
        &env,
    )
    .await;
    assert_eq!(
        healthy.code,
        Some(EXIT_SERVICE_FAILED),
        "{}",
        healthy.stderr
    );
    proxy.set(Service::CloudWatch, Fault::InternalError);
    let broken = run_canary(
        &s.config,
        &proxy.url(),
        &["-vv", "--publish", "--json"],
        &env,
    )
    .await;
    assert_eq!(broken.code, Some(EXIT_CANARY_FAILED), "{}", broken.stderr);
    assert!(!emf_series(&broken.stdout).is_empty(), "the fallback ran");

    let landed = cloudwatch_series(&s.aws.cw, &s.namespace).await;
    assert!(
        landed.iter().any(|m| m.starts_with("ComponentStatus{")),
        "{landed:?}"
    );
    let got = alerts(&s.aws.sqs, &s.queue_url, 2, Duration::from_secs(10)).await;
    assert!(!got.is_empty(), "an alert arrived");
    let sent_to_aws: Vec<String> = proxy
        .seen()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.raw).into_owned())
        .collect();
    assert!(sent_to_aws.iter().any(|r| r.contains("PutMetricData")));
    let sent_to_table: Vec<String> = table
        .seen()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.raw).into_owned())
        .collect();
    assert!(sent_to_table
        .iter()
        .any(|r| r.contains("DynamoDB_20120810.")));

    let outputs: Vec<(&str, String)> = vec![
        ("stdout (healthy)", healthy.stdout.clone()),
        ("stderr (healthy)", healthy.stderr.clone()),
        ("stdout (CloudWatch down, EMF)", broken.stdout.clone()),
        ("stderr (CloudWatch down)", broken.stderr.clone()),
        ("ListMetrics", format!("{landed:?}")),
        ("SNS messages from SQS", format!("{got:?}")),
        ("raw requests to AWS", sent_to_aws.join("\n")),
        ("raw requests to the state table", sent_to_table.join("\n")),
    ];
    for (what, text) in &outputs {
        assert!(!text.is_empty(), "{what} is empty");
        assert!(!text.contains(&secret), "the secret leaked into {what}");
    }
    assert!(
        healthy.stderr.contains("TRACE") || healthy.stderr.contains("DEBUG"),
        "verbose logs ran"
    );
}
