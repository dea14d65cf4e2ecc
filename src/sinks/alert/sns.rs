//! The SNS notifier: one `Publish` per notice, `MessageStructure=json` (default, email, sms,
//! https) with `severity`, `target` and `canary` attributes for subscription filter policies; its
//! error tells a message SNS certainly did not publish from one it may have published.

use crate::sinks::alert::engine::{Notifier, NotifyError, Outgoing};
use crate::sinks::alert::message::{render, About, Message};
use aws_sdk_sns::config::interceptors::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_sns::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sns::error::{BoxError, SdkError};
use aws_sdk_sns::types::MessageAttributeValue;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Sends notices to one SNS topic, rendering each with what the config says about its target.
#[derive(Clone, Debug)]
pub struct SnsNotifier<'a> {
    /// The SNS client.
    pub client: &'a aws_sdk_sns::Client,
    /// The topic ARN.
    pub topic_arn: &'a str,
    /// Per target name: its URL and hints (targets no longer configured have none).
    pub about: BTreeMap<&'a str, About<'a>>,
}

impl Notifier for SnsNotifier<'_> {
    async fn publish(&self, out: &Outgoing<'_>) -> Result<String, NotifyError> {
        let about = self.about.get(out.target).copied().unwrap_or_default();
        let message = render(out, &about);
        let id = publish(self.client, self.topic_arn, &message).await?;
        tracing::info!(
            canary = %out.canary,
            target_name = %out.target,
            severity = message.kind.as_str(),
            late = out.late,
            maybe_repeat = out.maybe_repeat,
            message_id = %id,
            "alert sent"
        );
        Ok(id)
    }
}

/// Builds a String message attribute.
fn attribute(value: &str) -> Result<MessageAttributeValue, NotifyError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| NotifyError::Rejected(format!("cannot build a message attribute: {e}")))
}

/// Publishes `message` to `topic_arn`; returns the SNS message id.
pub async fn publish(
    sns: &aws_sdk_sns::Client,
    topic_arn: &str,
    message: &Message,
) -> Result<String, NotifyError> {
    let attempts = Unanswered::default();
    let mut request = sns
        .publish()
        .topic_arn(topic_arn)
        .subject(&message.subject)
        .message_structure("json")
        .message(message.structured());
    for (name, value) in message.attributes() {
        request = request.message_attributes(name, attribute(&value)?);
    }
    let sent = request
        .customize()
        .interceptor(attempts.clone())
        .send()
        .await;
    match sent {
        Ok(out) => Ok(out.message_id().unwrap_or_default().to_string()),
        Err(e) => {
            let maybe = may_have_published(&e, attempts.any());
            let detail = format!(
                "{topic_arn}: {}",
                aws_sdk_sns::error::DisplayErrorContext(e)
            );
            Err(if maybe {
                NotifyError::Unknown(detail)
            } else {
                NotifyError::Rejected(detail)
            })
        }
    }
}

/// Whether a failed Publish may still have been accepted: some attempt was sent and got no
/// answer (`unanswered`), or the final error is not an answer from SNS. An error answer to the
/// last attempt alone proves nothing when an earlier one went unanswered, because the SDK retries.
fn may_have_published<E, R>(error: &SdkError<E, R>, unanswered: bool) -> bool {
    match error {
        SdkError::ServiceError(_) | SdkError::ConstructionFailure(_) => unanswered,
        // No answer, or one that could not be read (a success SNS sent but we could not parse
        // counts as an unknown outcome too).
        _ => true,
    }
}

/// An interceptor for one Publish call: records whether any attempt was transmitted and then
/// ended without an HTTP response. Attempts that fail before transmission (signing, missing
/// credentials) never reached SNS and do not count.
#[derive(Clone, Debug, Default)]
struct Unanswered {
    /// The current attempt has been handed to the HTTP client.
    transmitted: Arc<AtomicBool>,
    /// Some attempt was transmitted and got no response.
    any: Arc<AtomicBool>,
}

impl Unanswered {
    fn any(&self) -> bool {
        self.any.load(Ordering::SeqCst)
    }
}

impl Intercept for Unanswered {
    fn name(&self) -> &'static str {
        "UnansweredPublishAttempts"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.transmitted.store(true, Ordering::SeqCst);
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // `swap` resets the flag for the next attempt.
        if self.transmitted.swap(false, Ordering::SeqCst) && context.response().is_none() {
            self.any.store(true, Ordering::SeqCst);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The classification only looks at the variant; the payloads are placeholders.
    type Error = SdkError<std::io::Error, ()>;

    fn answered_with_an_error() -> Error {
        SdkError::service_error(std::io::Error::other("Throttling"), ())
    }

    #[test]
    fn an_error_answer_is_a_rejection_unless_an_earlier_attempt_went_unanswered() {
        let cases: Vec<(&str, Error, bool, bool)> = vec![
            ("error answer", answered_with_an_error(), false, false),
            (
                "error answer after a lost attempt",
                answered_with_an_error(),
                true,
                true,
            ),
            (
                "request never built",
                SdkError::construction_failure("no credentials"),
                false,
                false,
            ),
            (
                "timeout",
                SdkError::timeout_error("operation timed out"),
                false,
                true,
            ),
            (
                "unreadable answer",
                SdkError::response_error("bad XML", ()),
                false,
                true,
            ),
        ];
        for (name, error, unanswered, want) in cases {
            assert_eq!(may_have_published(&error, unanswered), want, "{name}");
        }
    }
}
