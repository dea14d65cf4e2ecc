//! The templates deployed into LocalStack: `infra/alarms.yaml` driven by the canary's own runs
//! (`phones`), the root `template.yaml` with its defaults and its optional parts (`stacks`), and
//! the environment the template gives the function reaching a real run (`settings`). Here: what
//! they share (clients, stacks created and deleted, SQS inboxes subscribed to a topic).

mod phones;
mod settings;
mod stacks;

use crate::support::cfn::{self, Stack};
use aws_sdk_cloudformation::types::{Capability, Parameter, StackStatus};
use serde_json::Value as Json;
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
