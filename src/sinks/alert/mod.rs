//! Alerts, per target: the pure policy (`transition`), the outbox, the engine over a `store`
//! (DynamoDB in AWS, in memory for the demo and the simulation) and a notifier (SNS), the
//! messages, silences and maintenance windows, the engine's settings and the run's time budget.
//! [`process`] runs the engine over one report.

pub mod budget;
pub mod dynamo;
pub mod engine;
pub mod memory;
pub mod message;
pub mod outbox;
pub mod record;
pub mod settings;
pub mod silence;
pub mod sns;
pub mod store;
pub mod transition;

use crate::aws::Aws;
use crate::check::config::AlertConfig;
use crate::check::report::Report;
use dynamo::DynamoStore;
use engine::{Notifier, RunContext, TargetOutcome};
use message::About;
use settings::{lease_for, Settings};
use sns::SnsNotifier;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use store::Store;
use transition::Observation;

pub use engine::AlertError;

/// What the alert side says when no topic is configured.
pub const ALERTS_OFF: &str = "alerts off: no topic";

/// Time kept after the last claim for the publish and its record write, beyond two AWS calls.
const CLAIM_MARGIN: Duration = Duration::from_secs(2);

/// Why the alert side of a run did not do everything it had to: per target, what failed.
/// Nothing is lost by any of these: state and undelivered notices stay in the table for the
/// next run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{}", errors_text(.errors), .done.as_deref().map(|d| format!("; but {d}")).unwrap_or_default())]
pub struct AlertsFailed {
    /// What the run did achieve (notices it sent), if anything.
    pub done: Option<String>,
    /// Each failing target with its error.
    pub errors: Vec<(String, AlertError)>,
}

fn errors_text(errors: &[(String, AlertError)]) -> String {
    errors
        .iter()
        .map(|(target, e)| format!("{target}: {e}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The alert side of a delivery in AWS: the engine over the DynamoDB state table and the SNS
/// topic, the lease following the AWS timeout, no notice claimed once `deadline` is too close
/// for one more publish and record. Alerts are off without a topic.
pub async fn deliver(
    alerts: &AlertConfig,
    report: &Report,
    aws: &Aws,
    deadline: Option<Instant>,
) -> Result<String, AlertsFailed> {
    let (Some(topic_arn), Some(table)) = (&alerts.topic_arn, &alerts.state_table) else {
        return Ok(ALERTS_OFF.into());
    };
    let settings = Settings {
        lease: lease_for(aws.timeout()),
        ..alerts.engine.clone()
    };
    let store = DynamoStore::new(aws.dynamodb().await.clone(), table, settings.retention);
    let notifier = SnsNotifier {
        client: aws.sns().await,
        topic_arn,
        about: about(report, &alerts.hints),
    };
    let ctx = RunContext {
        canary: &report.canary,
        checked_at: report.checked_at,
        now: chrono::Utc::now(),
        settings: &settings,
        claim_until: deadline.and_then(|d| d.checked_sub(aws.timeout() * 2 + CLAIM_MARGIN)),
    };
    process(&store, &notifier, &ctx, report).await
}

/// What messages say about each target: its URL (from the report) and its hints (from the
/// config).
pub fn about<'a>(
    report: &'a Report,
    hints: &'a BTreeMap<String, BTreeMap<String, String>>,
) -> BTreeMap<&'a str, About<'a>> {
    report
        .targets
        .iter()
        .map(|t| {
            let about = About {
                url: Some(t.url.as_str()),
                hints: hints.get(&t.name),
            };
            (t.name.as_str(), about)
        })
        .collect()
}

/// Runs the alert engine for every target of `report` (checked at `report.checked_at`) and
/// says in one line what it sent; `Err` when a target's state could not be read or written or
/// a due notice could not be published.
pub async fn process<S: Store, N: Notifier>(
    store: &S,
    notifier: &N,
    ctx: &RunContext<'_>,
    report: &Report,
) -> Result<String, AlertsFailed> {
    let observations: Vec<(String, Observation)> = report
        .targets
        .iter()
        .map(|t| (t.name.clone(), Observation::of(t)))
        .collect();
    let outcomes = engine::run(store, notifier, ctx, &observations).await;
    let done = sent_text(&outcomes);
    let errors: Vec<(String, AlertError)> = outcomes
        .into_iter()
        .flat_map(|o| {
            let target = o.target;
            o.errors.into_iter().map(move |e| (target.clone(), e))
        })
        .collect();
    if errors.is_empty() {
        Ok(done.unwrap_or_else(|| "no notice due".into()))
    } else {
        Err(AlertsFailed { done, errors })
    }
}

/// `sent FAIL for trading, RESOLVED for api (late); 1 target silenced`, or `None` when the run
/// sent nothing and silenced nothing.
pub fn sent_text(outcomes: &[TargetOutcome]) -> Option<String> {
    let sent: Vec<String> = outcomes
        .iter()
        .flat_map(|o| {
            o.sent.iter().map(move |s| {
                let mut marks = Vec::new();
                if s.late {
                    marks.push("late");
                }
                if s.maybe_repeat {
                    marks.push("may repeat");
                }
                let marks = if marks.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", marks.join(", "))
                };
                format!("{} for {}{marks}", s.kind.as_str(), o.target)
            })
        })
        .collect();
    let silenced = outcomes.iter().filter(|o| o.silenced).count();
    let mut parts = Vec::new();
    if !sent.is_empty() {
        parts.push(format!("sent {}", sent.join(", ")));
    }
    match silenced {
        0 => {}
        1 => parts.push("1 target silenced".into()),
        n => parts.push(format!("{n} targets silenced")),
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}
