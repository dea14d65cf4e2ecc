//! The templates deployed into LocalStack: `infra/alarms.yaml` driven by the canary's own runs,
//! its notifications read back from SQS queues (one subscribed with exactly the template's SMS
//! filter policy: what a phone would get); the root `template.yaml` with its defaults and with its
//! optional parts; and the environment the template gives the function reaching a real run.

use crate::metrics::{aws_env, list_series, seed_body};
use crate::support::cfn::{self, scalar, Stack};
use aws_sdk_cloudformation::types::{Capability, Parameter, StackStatus};
use aws_sdk_cloudwatch::types::StateValue;
use health_canary::sinks::metrics::contract::CANARY_HEARTBEAT;
use serde_json::{json, Value as Json};
use std::collections::HashMap;
use std::path::Path;
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
    let deadline = Instant::now() + Duration::from_secs(180);
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

/// Runs `scenario` on a new stack name, then deletes the stack whatever happened: its alarms
/// would otherwise keep LocalStack's scheduler busy for everyone sharing it.
async fn with_stack<F, Fut>(prefix: &str, scenario: F)
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let stack = unique(prefix);
    let outcome = tokio::spawn(scenario(stack.clone())).await;
    let c = clients().await;
    let _ = c.cfn.delete_stack().stack_name(&stack).send().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// The SMS subscription's filter policy exactly as template.yaml gives it.
fn sms_filter_policy() -> String {
    let t = cfn::load("template.yaml");
    let sms = Stack::new(&t, &[("AlertPhone", "+15555550100")])
        .properties("SmsSubscription")
        .expect("SMS subscription");
    assert_eq!(sms["FilterPolicyScope"].as_str(), Some("MessageAttributes"));
    serde_json::to_string(&sms["FilterPolicy"]).expect("filter policy JSON")
}

/// An SQS queue subscribed to `topic`, with `filter_policy` on message attributes when given.
async fn subscribe_queue(c: &Clients, topic: &str, filter_policy: Option<String>) -> Inbox {
    let url = c
        .sqs
        .create_queue()
        .queue_name(unique("infra-inbox"))
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
    let mut subscribe = c
        .sns
        .subscribe()
        .topic_arn(topic)
        .protocol("sqs")
        .endpoint(arn);
    if let Some(policy) = filter_policy {
        subscribe = subscribe
            .attributes("FilterPolicy", policy)
            .attributes("FilterPolicyScope", "MessageAttributes");
    }
    subscribe.send().await.expect("Subscribe");
    Inbox {
        url,
        seen: Vec::new(),
    }
}

/// Everything an SQS subscriber has received (SNS envelopes), read and deleted as it arrives.
struct Inbox {
    url: String,
    seen: Vec<Json>,
}

impl Inbox {
    /// Reads until `pred` holds for a received envelope or `wait` passes; returns it.
    async fn wait_for(
        &mut self,
        c: &Clients,
        wait: Duration,
        pred: impl Fn(&Json) -> bool,
    ) -> Option<Json> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(found) = self.seen.iter().find(|e| pred(e)) {
                return Some(found.clone());
            }
            if Instant::now() >= deadline {
                return None;
            }
            let out = c
                .sqs
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(10)
                .wait_time_seconds(2)
                .send()
                .await
                .expect("ReceiveMessage");
            for m in out.messages() {
                self.seen.push(
                    serde_json::from_str(m.body().unwrap_or_default()).expect("SNS envelope"),
                );
                if let Some(handle) = m.receipt_handle() {
                    let _ = c
                        .sqs
                        .delete_message()
                        .queue_url(&self.url)
                        .receipt_handle(handle)
                        .send()
                        .await;
                }
            }
        }
    }

    /// Like `wait_for`, but a failure names what did arrive.
    async fn expect(&mut self, c: &Clients, what: &str, pred: impl Fn(&Json) -> bool) -> Json {
        match self.wait_for(c, Duration::from_secs(60), pred).await {
            Some(found) => found,
            None => panic!("no {what} reached the queue; it received {:#?}", self.seen),
        }
    }
}

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
async fn phones_hear_the_canary_stop_and_restart_and_its_fail_but_not_its_warn() {
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
    let fixture = |name: &str| cfn::text(&format!("tests/fixtures/formats/seed_components/{name}"));
    let mut servers = Vec::new();
    for name in ["pass.json", "warn.json", "fail.json"] {
        servers.push(crate::support::serve_fixed(200, "application/json", fixture(name)).await);
    }
    let dir = tempfile::tempdir().expect("temp dir");
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
            json!({"topic_arn": s.topic, "notify_warn": true}),
        ),
        fail: config("fail.json", 2, json!({"topic_arn": s.topic})),
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

/// The root template as `sam package` would leave it for CloudFormation: the nested templates in
/// (LocalStack's) S3. Without what this LocalStack cannot create: the function (no Lambda
/// runtime) and its config layer, whose zip only `sam package` makes and which nothing else uses
/// (scripts/infra-check builds both and checks the layer's content); and the Slack and Teams
/// channels (no provider for AWS::Chatbot; tests/local/contract.rs checks their wiring).
async fn root_template() -> String {
    use serde_yaml_ng::Value;
    let endpoint = crate::support::localstack_endpoint();
    let bucket = unique("infra-templates");
    let http = reqwest::Client::new();
    // Plain path-style PUTs: LocalStack does not check S3 signatures.
    let put = |url: String, body: String| {
        let http = http.clone();
        async move {
            let r = http.put(&url).body(body).send().await.expect("S3 PUT");
            assert!(r.status().is_success(), "PUT {url}: {}", r.status());
        }
    };
    put(format!("{endpoint}/{bucket}"), String::new()).await;
    let mut t: Value = serde_yaml_ng::from_str(&cfn::text("template.yaml")).expect("template.yaml");
    let resources = t["Resources"].as_mapping_mut().expect("Resources");
    for gone in ["Function", "ConfigLayer", "SlackChannel", "TeamsChannel"] {
        assert!(resources.remove(gone).is_some(), "template has {gone}");
    }
    resources["Alarms"]["Properties"]["Parameters"]["FunctionName"] = Value::from("");
    for (id, file) in [("Alarms", "alarms.yaml"), ("Dashboard", "dashboard.yaml")] {
        put(
            format!("{endpoint}/{bucket}/{file}"),
            cfn::text(&format!("infra/{file}")),
        )
        .await;
        // LocalStack maps the virtual-host S3 form onto its own S3.
        resources[id]["Properties"]["Location"] =
            Value::from(format!("https://{bucket}.s3.amazonaws.com/{file}"));
    }
    t["Outputs"]
        .as_mapping_mut()
        .expect("Outputs")
        .remove("FunctionName");
    serde_yaml_ng::to_string(&t).expect("YAML")
}

/// The stack's alarms by name.
async fn alarms_of(
    c: &Clients,
    stack: &str,
) -> HashMap<String, aws_sdk_cloudwatch::types::MetricAlarm> {
    let out =
        c.cw.describe_alarms()
            .alarm_name_prefix(format!("{stack}-"))
            .send()
            .await
            .expect("DescribeAlarms");
    out.metric_alarms()
        .iter()
        .filter_map(|a| Some((a.alarm_name()?.to_string(), a.clone())))
        .collect()
}

/// Logical ID → status of the stack's resources.
async fn resource_states(c: &Clients, stack: &str) -> HashMap<String, String> {
    let out = c
        .cfn
        .describe_stack_resources()
        .stack_name(stack)
        .send()
        .await
        .expect("DescribeStackResources");
    out.stack_resources()
        .iter()
        .map(|r| {
            (
                r.logical_resource_id().unwrap_or_default().to_string(),
                r.resource_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn root_template_deploys_with_its_defaults() {
    with_stack("health-canary-root", |stack| async move {
        let c = clients().await;
        let outputs = deploy(&c, &stack, &root_template().await, &[]).await;
        let topic = outputs.get("TopicArn").expect("TopicArn output").clone();

        // No canary name: the alarms query the whole namespace, canary-stopped included.
        let alarms = alarms_of(&c, &stack).await;
        let mut names: Vec<&str> = alarms.keys().map(String::as_str).collect();
        names.sort();
        let want = ["canary-stopped", "component-status", "target-status"].map(|s| format!("{stack}-{s}"));
        assert_eq!(names, want.iter().map(String::as_str).collect::<Vec<_>>(), "no errors alarm without a function");
        for (alarm, sql) in [
            (&want[0], "SELECT SUM(CanaryHeartbeat) FROM \"HealthCanary\""),
            (&want[1], "SELECT MAX(ComponentStatus) FROM \"HealthCanary\" GROUP BY Canary, Target, Component ORDER BY MAX() DESC"),
            (&want[2], "SELECT MAX(TargetStatus) FROM \"HealthCanary\" GROUP BY Canary, Target ORDER BY MAX() DESC"),
        ] {
            let a = &alarms[alarm];
            assert_eq!(a.metrics()[0].expression(), Some(sql), "{alarm}");
            assert_eq!(a.metrics()[0].period(), Some(300), "{alarm}: the 5-minute schedule");
            let notifies = !a.alarm_actions().is_empty();
            assert_eq!(notifies, alarm == &want[0], "{alarm}: only canary-stopped notifies by default");
            if notifies {
                assert_eq!(a.alarm_actions(), std::slice::from_ref(&topic));
            }
        }
        assert_eq!(subscriptions_of(&c, &topic).await, []);
        assert_created(&c, &stack, &["Topic", "FunctionRole"]).await;
        let states = resource_states(&c, &stack).await;
        for id in ["ChatRole", "EmailSubscription", "SmsSubscription"] {
            assert!(!states.contains_key(id), "{id} without its parameters: {states:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn root_template_deploys_with_its_optional_parts() {
    with_stack("health-canary-full", |stack| async move {
        let c = clients().await;
        let canary = unique("infra-full");
        let account = "000000000000";
        let parameter = format!("arn:aws:ssm:us-east-1:{account}:parameter/{canary}/token");
        let secret =
            format!("arn:aws:secretsmanager:us-east-1:{account}:secret:{canary}/partner-AbCdEf");
        let outputs = deploy(
            &c,
            &stack,
            &root_template().await,
            &[
                ("CanaryName", &canary),
                ("ScheduleMinutes", "1"),
                ("FailureThreshold", "3"),
                ("StatusAlarmActions", "true"),
                ("AlertEmail", "ops@example.com"),
                ("AlertPhone", "+15555550100"),
                ("ConfigSsmParameter", &format!("/{canary}/config")),
                ("SecretParameterArns", &parameter),
                ("SecretArns", &secret),
                ("SubnetIds", "subnet-0a1b2c3d"),
                ("SecurityGroupIds", "sg-0a1b2c3d"),
                ("SlackWorkspaceId", "T0123ABCD"),
                ("SlackChannelId", "C0123ABCD"),
                ("TeamsTenantId", "00000000-0000-0000-0000-000000000001"),
                ("TeamsTeamId", "00000000-0000-0000-0000-000000000002"),
                ("TeamsChannelId", "19:abc@thread.tacv2"),
            ],
        )
        .await;
        let topic = outputs.get("TopicArn").expect("TopicArn output").clone();

        // A named canary: canary-stopped watches its heartbeat; the status alarms follow the
        // failure threshold and notify when asked to.
        let alarms = alarms_of(&c, &stack).await;
        let stopped = &alarms[&format!("{stack}-canary-stopped")];
        assert_eq!(stopped.metric_name(), Some(CANARY_HEARTBEAT));
        assert_eq!(stopped.dimensions()[0].value(), Some(canary.as_str()));
        assert_eq!(stopped.period(), Some(60));
        for s in ["component-status", "target-status"] {
            let a = &alarms[&format!("{stack}-{s}")];
            assert_eq!(a.evaluation_periods(), Some(3), "{s}");
            assert_eq!(a.alarm_actions(), std::slice::from_ref(&topic), "{s}");
            let sql = a.metrics()[0].expression().unwrap_or_default();
            assert!(sql.contains(&format!("WHERE Canary = '{canary}'")), "{sql}");
        }

        // Email gets everything; the phone's filter policy reads back as the template gives it.
        let policy = serde_json::from_str::<Json>(&sms_filter_policy()).expect("JSON");
        assert_eq!(
            subscriptions_of(&c, &topic).await,
            [
                ("email".to_string(), None),
                ("sms".to_string(), Some(policy))
            ]
        );
        // Everything else the options add is created, the chat channels' role included.
        let ids = [
            "ChatRole",
            "FunctionRole",
            "EmailSubscription",
            "SmsSubscription",
        ];
        assert_created(&c, &stack, &ids).await;
    })
    .await;
}

/// The topic's subscriptions, by protocol, with their filter policies.
async fn subscriptions_of(c: &Clients, topic: &str) -> Vec<(String, Option<Json>)> {
    let subs = c
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(topic)
        .send()
        .await
        .expect("ListSubscriptionsByTopic");
    let mut out = Vec::new();
    for sub in subs.subscriptions() {
        let arn = sub.subscription_arn().expect("subscription ARN");
        let attrs = c
            .sns
            .get_subscription_attributes()
            .subscription_arn(arn)
            .send()
            .await
            .expect("GetSubscriptionAttributes");
        let policy = attrs
            .attributes()
            .and_then(|a| a.get("FilterPolicy"))
            .map(|p| serde_json::from_str(p).expect("FilterPolicy JSON"));
        out.push((sub.protocol().unwrap_or_default().to_string(), policy));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Asserts the stack created these resources (and its nested stacks).
async fn assert_created(c: &Clients, stack: &str, ids: &[&str]) {
    let states = resource_states(c, stack).await;
    for id in ids.iter().chain(&["Alarms", "Dashboard", "LogGroup"]) {
        let state = states.get(*id).map(String::as_str);
        assert_eq!(state, Some("CREATE_COMPLETE"), "{id}: {states:?}");
    }
}

// The function runs as a blocking child process: a second worker keeps the test server serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_setting_in_canary_json_and_not_in_the_parameters_reaches_the_running_canary() {
    let server = crate::support::serve_fixed(200, "application/json", seed_body()).await;
    let canary = unique("infra-config");
    let namespace = format!("HealthCanaryTest/{}", unique("cfg"));

    // The function's environment exactly as the template gives it for a deploy that sets only the
    // namespace: every other CANARY_* setting empty, the config file in the layer.
    let t = cfn::load("template.yaml");
    let function = Stack::new(&t, &[("Namespace", &namespace)])
        .properties("Function")
        .expect("the function");
    let env: Vec<(String, String)> = function["Environment"]["Variables"]
        .as_mapping()
        .expect("variables")
        .iter()
        .map(|(k, v)| (scalar(k).unwrap_or_default(), scalar(v).unwrap_or_default()))
        .collect();
    let file = env
        .iter()
        .find(|(k, _)| k == "CANARY_CONFIG_FILE")
        .map(|(_, v)| v.clone());
    assert_eq!(file.as_deref(), Some("/opt/canary.json"));

    // The layer's mount point is the only thing simulated: /opt is a temporary directory.
    let opt = tempfile::tempdir().expect("temp dir");
    let config = json!({
        "canary": canary,
        "targets": [{"name": "trading", "url": server.url("/api/health/system"), "retries": 0}],
        "metrics": {"measurements": ["stale_symbols"]},
    });
    std::fs::write(opt.path().join("canary.json"), config.to_string()).expect("write canary.json");
    let env: Vec<(String, String)> = env
        .into_iter()
        // No topic here (alerts are covered above and in tests/aws/alerts.rs); see lambda.rs on
        // LocalStack and concurrent CloudWatch calls.
        .filter(|(k, _)| k != "CANARY_TOPIC_ARN")
        .map(|(k, v)| match v.strip_prefix("/opt/") {
            Some(rest) => (k, opt.path().join(rest).to_string_lossy().into_owned()),
            None => (k, v),
        })
        .collect();

    let event = cfn::text("tests/fixtures/scheduled-event.json").into_bytes();
    let run = crate::lambda::run_function(event, &env, Duration::from_secs(300)).await;
    assert_eq!(run.kind, "response", "{}\n{}", run.body, run.stderr);
    let summary: Json = serde_json::from_str(&run.body).expect("summary JSON");
    // The config's name and measurement list won: the template left both empty.
    assert_eq!(summary["canary"], json!(canary));
    assert_eq!(summary["status"], json!("FAIL"));
    let series = list_series(&test_cloudwatch().await, &namespace).await;
    let names: std::collections::BTreeSet<&str> = series
        .iter()
        .filter(|(_, dims)| dims.iter().any(|(k, v)| k == "Canary" && v == &canary))
        .map(|(name, _)| name.as_str())
        .collect();
    assert!(
        names.contains("ComponentStatus") && names.contains("StaleSymbols"),
        "{names:?}"
    );
    assert!(
        !names.contains("MaxAgeMinutes") && !names.contains("FreshSymbols"),
        "{names:?}"
    );
}

async fn test_cloudwatch() -> aws_sdk_cloudwatch::Client {
    aws_sdk_cloudwatch::Client::new(&aws_config::load_from_env().await)
}
