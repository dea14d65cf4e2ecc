//! The templates deployed into LocalStack: `infra/alarms.yaml` with short periods, driven by the
//! canary's own metrics, its alarm actions read back from an SQS queue subscribed to the topic.

use aws_sdk_cloudformation::types::{Capability, Parameter, StackStatus};
use aws_sdk_cloudwatch::types::StateValue;
use health_canary::sinks::metrics::contract::{CANARY_HEARTBEAT, COMPONENT_STATUS, DIM_COMPONENT};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Clients for everything these tests touch, pointed at LocalStack by `AWS_ENDPOINT_URL`.
struct Clients {
    cfn: aws_sdk_cloudformation::Client,
    cw: aws_sdk_cloudwatch::Client,
    sns: aws_sdk_sns::Client,
    sqs: aws_sdk_sqs::Client,
}

async fn clients() -> Clients {
    crate::support::localstack_endpoint();
    let shared = aws_config::load_from_env().await;
    Clients {
        cfn: aws_sdk_cloudformation::Client::new(&shared),
        cw: aws_sdk_cloudwatch::Client::new(&shared),
        sns: aws_sdk_sns::Client::new(&shared),
        sqs: aws_sdk_sqs::Client::new(&shared),
    }
}

/// A name no other test (or engineer sharing LocalStack) uses.
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{prefix}-{}-{}", std::process::id(), nanos % 1_000_000_000)
}

fn template(rel: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

/// Creates a stack and waits for CREATE_COMPLETE; returns its outputs.
async fn deploy(
    c: &Clients,
    stack: &str,
    body: &str,
    params: &[(&str, &str)],
) -> HashMap<String, String> {
    c.cfn
        .create_stack()
        .stack_name(stack)
        .template_body(body)
        .set_parameters(Some(
            params
                .iter()
                .map(|(k, v)| {
                    Parameter::builder()
                        .parameter_key(*k)
                        .parameter_value(*v)
                        .build()
                })
                .collect(),
        ))
        .capabilities(Capability::CapabilityIam)
        .capabilities(Capability::CapabilityAutoExpand)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateStack {stack}: {e:?}"));
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let out = c
            .cfn
            .describe_stacks()
            .stack_name(stack)
            .send()
            .await
            .expect("DescribeStacks");
        let s = &out.stacks()[0];
        match s.stack_status() {
            Some(StackStatus::CreateComplete) => {
                return s
                    .outputs()
                    .iter()
                    .map(|o| {
                        (
                            o.output_key().unwrap_or_default().to_string(),
                            o.output_value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect();
            }
            Some(StackStatus::CreateInProgress) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(500)).await
            }
            other => panic!(
                "stack {stack} ended {other:?}: {:?}",
                s.stack_status_reason()
            ),
        }
    }
}

/// An SQS queue subscribed to `topic`; returns the queue URL.
async fn subscribe_queue(c: &Clients, topic: &str) -> String {
    let url = c
        .sqs
        .create_queue()
        .queue_name(unique("infra-alarms"))
        .send()
        .await
        .expect("CreateQueue")
        .queue_url()
        .expect("queue url")
        .to_string();
    let attrs = c
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("GetQueueAttributes");
    let arn = attrs
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .expect("queue arn")
        .clone();
    c.sns
        .subscribe()
        .topic_arn(topic)
        .protocol("sqs")
        .endpoint(arn)
        .send()
        .await
        .expect("Subscribe");
    url
}

/// Runs `health-canary check --config FILE --publish` against LocalStack once; returns its exit
/// code and output (for the failure message).
async fn run_canary(config: &std::path::Path) -> (Option<i32>, String) {
    let config = config.to_string_lossy().into_owned();
    let endpoint = crate::support::localstack_endpoint();
    tokio::task::spawn_blocking(move || {
        let out = crate::support::run_cli(
            &["check", "--config", &config, "--publish"],
            &[
                ("AWS_ENDPOINT_URL", endpoint.as_str()),
                ("AWS_ACCESS_KEY_ID", "test"),
                ("AWS_SECRET_ACCESS_KEY", "test"),
                ("AWS_REGION", "us-east-1"),
            ],
        );
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

/// Polls until the alarm is `want`; with `run = Some((config, exit))` the canary runs before each
/// poll (as the schedule would, faster) and must exit with `exit`.
async fn wait_for_state(
    c: &Clients,
    run: Option<(&std::path::Path, i32)>,
    alarm: &str,
    want: StateValue,
) -> Duration {
    let start = Instant::now();
    // Generous bound against hangs: LocalStack evaluates each alarm once per period (10 s here).
    let deadline = start + Duration::from_secs(150);
    loop {
        if let Some((config, exit)) = run {
            let (code, output) = run_canary(config).await;
            assert_eq!(code, Some(exit), "health-canary check --publish:\n{output}");
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

/// Reads the queue until an alarm notification for `alarm` with state `want` arrives; returns
/// the alarm JSON SNS carried.
async fn wait_for_notification(
    c: &Clients,
    queue: &str,
    alarm: &str,
    want: &str,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        let out = c
            .sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(2)
            .send()
            .await
            .expect("ReceiveMessage");
        for m in out.messages() {
            let envelope: serde_json::Value =
                serde_json::from_str(m.body().unwrap_or_default()).expect("SNS envelope JSON");
            let inner: serde_json::Value =
                serde_json::from_str(envelope["Message"].as_str().unwrap_or_default())
                    .unwrap_or(serde_json::Value::Null);
            if inner["AlarmName"] == alarm && inner["NewStateValue"] == want {
                return inner;
            }
            seen.push(inner);
        }
    }
    panic!("no {want} notification for {alarm} reached the queue; saw {seen:#?}")
}

/// Runs `scenario` on the stack's name, then deletes the stack whatever happened: its alarms
/// would otherwise keep LocalStack's scheduler busy every 10 s for everyone sharing it.
async fn with_stack<F, Fut>(scenario: F)
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let stack = unique("health-canary-alarms");
    let outcome = tokio::spawn(scenario(stack.clone())).await;
    let c = clients().await;
    let _ = c.cfn.delete_stack().stack_name(&stack).send().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[tokio::test]
async fn component_alarm_notifies_the_topic_and_canary_stopped_fires_when_runs_stop() {
    with_stack(alarm_scenario).await;
}

async fn alarm_scenario(stack: String) {
    let c = clients().await;
    let canary = unique("infra-canary");
    let namespace = format!("HealthCanaryTest/{}", unique("ns"));
    let target = "system";
    let outputs = deploy(
        &c,
        &stack,
        &template("infra/alarms.yaml"),
        &[
            ("CanaryName", &canary),
            ("Namespace", &namespace),
            ("Targets", target),
            ("ComponentTarget", target),
            ("Components", "market_data,telegram"),
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
    assert!(topic.starts_with("arn:aws:sns:"), "{topic}");
    let queue = subscribe_queue(&c, &topic).await;

    // The slots: two listed components, one target, heartbeat, errors; nothing for empty slots.
    let alarms =
        c.cw.describe_alarms()
            .alarm_name_prefix(&canary)
            .send()
            .await
            .expect("DescribeAlarms");
    let mut names: Vec<&str> = alarms
        .metric_alarms()
        .iter()
        .filter_map(|a| a.alarm_name())
        .collect();
    names.sort();
    let component_alarm = format!("{canary}-component-{target}-market_data");
    let stopped_alarm = format!("{canary}-canary-stopped");
    assert_eq!(
        names,
        [
            stopped_alarm.clone(),
            component_alarm.clone(),
            format!("{canary}-component-{target}-telegram"),
            format!("{canary}-lambda-errors"),
            format!("{canary}-target-{target}"),
        ]
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
    );

    // The watched service: the seed format, healthy first, then market_data and market_updater FAIL.
    let fixture = |name: &str| template(&format!("tests/fixtures/formats/component_map/{name}"));
    let healthy = crate::support::serve_fixed(200, "application/json", fixture("pass.json")).await;
    let failing = crate::support::serve_fixed(200, "application/json", fixture("fail.json")).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config_for = |name: &str, url: String| {
        let path = dir.path().join(name);
        let json = serde_json::json!({
            "canary": canary,
            "targets": [{"name": target, "url": url, "retries": 0}],
            "metrics": {"namespace": namespace, "measurements": "none"},
        });
        std::fs::write(&path, json.to_string()).expect("write config");
        path
    };
    let healthy_config = config_for("healthy.json", healthy.url("/api/health/system"));
    let failing_config = config_for("failing.json", failing.url("/api/health/system"));

    // Healthy runs: the heartbeat keeps canary-stopped OK.
    let ok_after = wait_for_state(
        &c,
        Some((&healthy_config, 0)),
        &stopped_alarm,
        StateValue::Ok,
    )
    .await;
    eprintln!("canary-stopped OK after {ok_after:?} of healthy runs");

    // market_data FAILs: its alarm goes to ALARM and the action reaches the subscriber.
    let alarm_after = wait_for_state(
        &c,
        Some((&failing_config, 1)),
        &component_alarm,
        StateValue::Alarm,
    )
    .await;
    eprintln!("component alarm ALARM after {alarm_after:?} of failing runs");
    let note = wait_for_notification(&c, &queue, &component_alarm, "ALARM").await;
    assert_eq!(note["Trigger"]["MetricName"], COMPONENT_STATUS);
    assert_eq!(note["Trigger"]["Namespace"], namespace.as_str());
    assert_eq!(note["OldStateValue"], "OK");
    assert!(
        note["AlarmDescription"]
            .as_str()
            .unwrap_or_default()
            .contains("component market_data of system is FAIL"),
        "{note}"
    );

    // The runs stop: no heartbeat, so canary-stopped fires and notifies.
    // telegram still PASSes: its alarm, on its own Component dimension, stays OK.
    assert_eq!(
        alarm_state(&c, &format!("{canary}-component-{target}-telegram")).await,
        Some(StateValue::Ok)
    );
    let dims = note["Trigger"]["Dimensions"].to_string();
    assert!(
        dims.contains(DIM_COMPONENT) && dims.contains("market_data"),
        "{dims}"
    );

    // The runs stop: no heartbeat, so canary-stopped fires and notifies.
    let stopped_after = wait_for_state(&c, None, &stopped_alarm, StateValue::Alarm).await;
    eprintln!("canary-stopped ALARM {stopped_after:?} after the last run");
    let note = wait_for_notification(&c, &queue, &stopped_alarm, "ALARM").await;
    assert_eq!(note["Trigger"]["MetricName"], CANARY_HEARTBEAT);
    assert_eq!(note["OldStateValue"], "OK");
}

/// Puts the nested templates into LocalStack's S3, as `sam package` would into S3, and returns
/// their TemplateURLs. Plain path-style PUTs: LocalStack does not check S3 signatures.
async fn upload_nested_templates() -> (String, String) {
    let endpoint = crate::support::localstack_endpoint();
    let bucket = unique("infra-templates");
    let http = reqwest::Client::new();
    let put = |url: String, body: String| {
        let http = http.clone();
        async move {
            let r = http.put(&url).body(body).send().await.expect("S3 PUT");
            assert!(r.status().is_success(), "PUT {url}: {}", r.status());
        }
    };
    put(format!("{endpoint}/{bucket}"), String::new()).await;
    let mut urls = Vec::new();
    for name in ["alarms.yaml", "dashboard.yaml"] {
        put(
            format!("{endpoint}/{bucket}/{name}"),
            template(&format!("infra/{name}")),
        )
        .await;
        // LocalStack maps the virtual-host S3 form onto its own S3.
        urls.push(format!("https://{bucket}.s3.amazonaws.com/{name}"));
    }
    (urls[0].clone(), urls[1].clone())
}

#[tokio::test]
async fn root_template_deploys_everything_but_the_function() {
    use serde_yaml_ng::Value;
    let c = clients().await;
    let (alarms_url, dashboard_url) = upload_nested_templates().await;
    let canary = unique("infra-root");
    let stack = unique("health-canary-root");

    // LocalStack cannot create the Lambda function here: deploy the rest of the root template.
    let mut t: Value = serde_yaml_ng::from_str(&template("template.yaml")).expect("template.yaml");
    let resources = t["Resources"].as_mapping_mut().expect("Resources");
    assert!(
        resources.remove("Function").is_some(),
        "template has a Function"
    );
    // Nor a DynamoDB table (its DynamoDB needs a download); tests/aws/state_table.rs creates
    // the table from the same definition on moto.
    assert!(
        resources.remove("StateTable").is_some(),
        "template has a StateTable"
    );
    // The role's table statement names the table by ARN: a stand-in ARN keeps it deployable.
    let statements = resources["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
        ["Statement"]
        .as_sequence_mut()
        .expect("role statements");
    let table = statements
        .iter_mut()
        .find(|s| s["Sid"].as_str() == Some("AlertState"))
        .expect("the role has an AlertState statement");
    table["Resource"] =
        Value::from("arn:aws:dynamodb:us-east-1:000000000000:table/state-table-on-moto");
    resources["Alarms"]["Properties"]["Parameters"]["FunctionName"] = Value::from("");
    resources["Alarms"]["Properties"]["Location"] = Value::from(alarms_url);
    resources["Dashboard"]["Properties"]["Location"] = Value::from(dashboard_url);
    t["Outputs"]
        .as_mapping_mut()
        .expect("Outputs")
        .remove("FunctionName");
    t["Outputs"]
        .as_mapping_mut()
        .expect("Outputs")
        .remove("StateTableName");
    let body = serde_yaml_ng::to_string(&t).expect("YAML");

    let outcome = tokio::spawn({
        let stack = stack.clone();
        let canary = canary.clone();
        async move {
            let c = clients().await;
            let outputs = deploy(
                &c,
                &stack,
                &body,
                &[
                    ("HealthUrl", "https://status.example.com/api/health/system"),
                    ("CanaryName", &canary),
                    ("AlertEmail", "ops@example.com"),
                    ("AlertPhone", "+15555550100"),
                ],
            )
            .await;
            let topic = outputs.get("TopicArn").expect("TopicArn output").clone();

            // Alarms: one per seed component and the target, named after the URL's host (the
            // target name in simple mode), with the 5-minute schedule's period; no Errors alarm
            // without a function.
            let alarms =
                c.cw.describe_alarms()
                    .alarm_name_prefix(&canary)
                    .send()
                    .await
                    .expect("DescribeAlarms");
            let mut names: Vec<String> = alarms
                .metric_alarms()
                .iter()
                .filter_map(|a| a.alarm_name().map(str::to_string))
                .collect();
            names.sort();
            let host = "status.example.com";
            let mut want: Vec<String> = [
                "market_data",
                "market_updater",
                "signal_monitor",
                "telegram",
                "trade_system",
            ]
            .iter()
            .map(|comp| format!("{canary}-component-{host}-{comp}"))
            .chain([
                format!("{canary}-canary-stopped"),
                format!("{canary}-target-{host}"),
            ])
            .collect();
            want.sort();
            assert_eq!(names, want);
            for a in alarms.metric_alarms() {
                assert_eq!(a.period(), Some(300), "{:?}", a.alarm_name());
                let notifies = !a.alarm_actions().is_empty();
                let stopped = a
                    .alarm_name()
                    .is_some_and(|n| n.ends_with("-canary-stopped"));
                assert_eq!(
                    notifies,
                    stopped,
                    "{:?}: only canary-stopped notifies by default",
                    a.alarm_name()
                );
                if stopped {
                    assert_eq!(a.alarm_actions(), std::slice::from_ref(&topic));
                }
            }

            // Subscriptions: email gets everything, SMS only FAIL, FLAPPING and RESOLVED.
            let subs = c
                .sns
                .list_subscriptions_by_topic()
                .topic_arn(&topic)
                .send()
                .await
                .expect("ListSubscriptionsByTopic");
            let mut protocols: Vec<&str> = subs
                .subscriptions()
                .iter()
                .filter_map(|s| s.protocol())
                .collect();
            protocols.sort();
            assert_eq!(protocols, ["email", "sms"]);
            let sms = subs
                .subscriptions()
                .iter()
                .find(|s| s.protocol() == Some("sms"))
                .and_then(|s| s.subscription_arn())
                .expect("sms subscription");
            let attrs = c
                .sns
                .get_subscription_attributes()
                .subscription_arn(sms)
                .send()
                .await
                .expect("GetSubscriptionAttributes");
            let policy: serde_json::Value = serde_json::from_str(
                attrs
                    .attributes()
                    .and_then(|a| a.get("FilterPolicy"))
                    .expect("FilterPolicy"),
            )
            .expect("FilterPolicy JSON");
            assert_eq!(
                policy,
                serde_json::json!({"severity": ["FAIL", "FLAPPING", "RESOLVED"]})
            );

            // Both nested stacks were created. (LocalStack accepts AWS::CloudWatch::Dashboard
            // without creating one, so the dashboard's body is checked by tests/local/contract.rs.)
            let resources = c
                .cfn
                .describe_stack_resources()
                .stack_name(&stack)
                .send()
                .await
                .expect("DescribeStackResources");
            let mut nested: Vec<(String, String)> = resources
                .stack_resources()
                .iter()
                .filter(|r| r.resource_type() == Some("AWS::CloudFormation::Stack"))
                .map(|r| {
                    (
                        r.logical_resource_id().unwrap_or_default().to_string(),
                        r.resource_status()
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_default(),
                    )
                })
                .collect();
            nested.sort();
            assert_eq!(
                nested,
                [
                    ("Alarms".to_string(), "CREATE_COMPLETE".to_string()),
                    ("Dashboard".to_string(), "CREATE_COMPLETE".to_string())
                ]
            );
        }
    })
    .await;
    let _ = c.cfn.delete_stack().stack_name(&stack).send().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
