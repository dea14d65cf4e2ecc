//! The root template deployed into LocalStack with its defaults and with its optional parts.

use super::{alarms_of, clients, deploy, sms_filter_policy, unique, with_stack, Clients};
use crate::support::cfn;
use health_canary::sinks::metrics::contract::CANARY_HEARTBEAT;
use serde_json::Value as Json;
use std::collections::HashMap;

/// The root template as `sam package` would leave it for CloudFormation: the nested templates in
/// (LocalStack's) S3. Without what this LocalStack cannot create: the function (no Lambda
/// runtime) and its config layer, whose zip only `sam package` makes and which nothing else uses
/// (scripts/infra-check builds both and checks the layer's content); the Slack and Teams
/// channels (no provider for AWS::Chatbot; tests/local/contract.rs checks their wiring); and the
/// DynamoDB state table (LocalStack's DynamoDB needs a download; tests/aws/state_table.rs creates
/// the table from the same definition on moto).
async fn root_template() -> String {
    use serde_yaml_ng::Value;
    let endpoint = crate::support::localstack_endpoint();
    let bucket = unique("infra-templates");
    // The canary's own HTTP client (reqwest over its TLS configuration: it links no other).
    let http = health_canary::check::probe::build_client().expect("HTTP client");
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
    for gone in [
        "Function",
        "ConfigLayer",
        "SlackChannel",
        "TeamsChannel",
        "StateTable",
    ] {
        assert!(resources.remove(gone).is_some(), "template has {gone}");
    }
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
    let outputs = t["Outputs"].as_mapping_mut().expect("Outputs");
    for gone in ["FunctionName", "StateTableName"] {
        assert!(outputs.remove(gone).is_some(), "template outputs {gone}");
    }
    serde_yaml_ng::to_string(&t).expect("YAML")
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
