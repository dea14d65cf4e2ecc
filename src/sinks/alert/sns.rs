//! The SNS publisher: one `Publish` per message, `MessageStructure=json` (email, sms, default)
//! with `severity` and `canary` attributes for subscription filter policies.

use crate::sinks::alert::message::Message;
use aws_sdk_sns::types::MessageAttributeValue;

/// Builds a String message attribute.
fn attribute(value: &str) -> Result<MessageAttributeValue, String> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| format!("cannot build message attribute: {e}"))
}

/// Publishes `message` to `topic_arn`; returns the SNS message id.
pub async fn publish(
    sns: &aws_sdk_sns::Client,
    topic_arn: &str,
    message: &Message,
) -> Result<String, String> {
    let out = sns
        .publish()
        .topic_arn(topic_arn)
        .subject(&message.subject)
        .message_structure("json")
        .message(message.structured())
        .message_attributes("severity", attribute(message.kind.as_str())?)
        .message_attributes("canary", attribute(&message.canary)?)
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot publish the {} alert to {topic_arn}: {}",
                message.kind.as_str(),
                aws_sdk_sns::error::DisplayErrorContext(e)
            )
        })?;
    Ok(out.message_id().unwrap_or_default().to_string())
}
