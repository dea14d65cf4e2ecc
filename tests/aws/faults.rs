//! AWS faults through the fault-injecting proxy: the proxy speaks each protocol's real error
//! shapes, and the canary keeps its promises when CloudWatch or SNS misbehave.

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
