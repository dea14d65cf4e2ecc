//! The SNS publisher: one `Publish` per message, `MessageStructure=json` (email, sms, default)
//! with `severity` and `canary` attributes for subscription filter policies; its error tells a
//! message SNS certainly did not publish from one it may have published.

use crate::sinks::alert::message::Message;
use aws_sdk_sns::config::interceptors::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_sns::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sns::error::{BoxError, SdkError};
use aws_sdk_sns::types::MessageAttributeValue;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Why an alert was not published, or is not known to be.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    /// A message attribute could not be built; nothing was sent.
    #[error("cannot build message attribute: {0}")]
    Attribute(String),
    /// SNS did not publish the message: every attempt that reached it was answered with an error
    /// (throttling, authorisation, a missing topic, …), or no request could be made at all.
    #[error("cannot publish the {severity} alert to {topic}: {detail}")]
    Rejected {
        /// The alert's severity (`FAIL`, `RESOLVED`, …).
        severity: &'static str,
        /// The topic ARN.
        topic: String,
        /// The SDK's error, with its context.
        detail: String,
    },
    /// SNS may have published the message: an attempt was sent and got no readable answer (a
    /// timeout, a connection lost mid-request), so a resend may repeat it.
    #[error("cannot publish the {severity} alert to {topic}: {detail}")]
    Unknown {
        /// The alert's severity.
        severity: &'static str,
        /// The topic ARN.
        topic: String,
        /// The SDK's error, with its context.
        detail: String,
    },
}

impl NotifyError {
    /// Whether SNS may have published the message despite the error (a resend may repeat it).
    pub fn may_have_published(&self) -> bool {
        matches!(self, NotifyError::Unknown { .. })
    }
}

/// Builds a String message attribute.
fn attribute(value: &str) -> Result<MessageAttributeValue, NotifyError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| NotifyError::Attribute(e.to_string()))
}

/// Publishes `message` to `topic_arn`; returns the SNS message id.
pub async fn publish(
    sns: &aws_sdk_sns::Client,
    topic_arn: &str,
    message: &Message,
) -> Result<String, NotifyError> {
    let attempts = Unanswered::default();
    let sent = sns
        .publish()
        .topic_arn(topic_arn)
        .subject(&message.subject)
        .message_structure("json")
        .message(message.structured())
        .message_attributes("severity", attribute(message.kind.as_str())?)
        .message_attributes("canary", attribute(&message.canary)?)
        .customize()
        .interceptor(attempts.clone())
        .send()
        .await;
    match sent {
        Ok(out) => Ok(out.message_id().unwrap_or_default().to_string()),
        Err(e) => {
            let maybe = may_have_published(&e, attempts.any());
            let (severity, topic) = (message.kind.as_str(), topic_arn.to_string());
            let detail = aws_sdk_sns::error::DisplayErrorContext(e).to_string();
            Err(if maybe {
                NotifyError::Unknown {
                    severity,
                    topic,
                    detail,
                }
            } else {
                NotifyError::Rejected {
                    severity,
                    topic,
                    detail,
                }
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

    #[test]
    fn both_outcomes_read_the_same_and_only_unknown_may_have_published() {
        let (severity, topic, detail) = ("FAIL", "arn:aws:sns:us-east-1:1:t", "boom");
        let rejected = NotifyError::Rejected {
            severity,
            topic: topic.into(),
            detail: detail.into(),
        };
        let unknown = NotifyError::Unknown {
            severity,
            topic: topic.into(),
            detail: detail.into(),
        };
        assert_eq!(rejected.to_string(), unknown.to_string());
        assert_eq!(
            unknown.to_string(),
            "cannot publish the FAIL alert to arn:aws:sns:us-east-1:1:t: boom"
        );
        assert!(unknown.may_have_published() && !rejected.may_have_published());
    }
}
