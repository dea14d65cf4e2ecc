//! One run of the alert engine over a store and a notifier: per target, apply the run and claim
//! the next notice in one conditional write (re-reading and re-deciding when another run won),
//! then publish and record each claimed notice. All decisions are the pure policy's and outbox's.

use crate::sinks::alert::outbox::{self, Claimed};
use crate::sinks::alert::record::{NoticeKind, OutboxNotice, TargetRecord};
use crate::sinks::alert::settings::Settings;
use crate::sinks::alert::silence::{is_silenced, Silence};
use crate::sinks::alert::store::{SaveError, Store, StoreError};
use crate::sinks::alert::transition::{decide, Observation};
use chrono::{DateTime, Utc};
use std::future::Future;

/// How often a run re-reads and re-decides after losing a race for one write. Each loss means
/// another run's write landed, so a handful suffices for any realistic number of overlapping
/// invocations; past it the run gives up on the target and says so.
pub const MAX_RACES: u32 = 8;

/// Why a publish did not go through.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum NotifyError {
    /// SNS definitely did not accept it (validation, authorization, throttling answered, no
    /// request made at all): nobody got it.
    #[error("rejected: {0}")]
    Rejected(String),
    /// It may or may not have been accepted (timeout, connection lost after sending).
    #[error("outcome unknown: {0}")]
    Unknown(String),
}

impl NotifyError {
    /// Whether SNS may have published the message despite the error (a resend may repeat it).
    pub fn may_have_published(&self) -> bool {
        matches!(self, NotifyError::Unknown(_))
    }
}

/// A notice on its way out, with what the message must say about its delivery.
#[derive(Clone, Copy, Debug)]
pub struct Outgoing<'a> {
    /// The canary's name.
    pub canary: &'a str,
    /// The target the notice is about.
    pub target: &'a str,
    /// The notice, as stored.
    pub notice: &'a OutboxNotice,
    /// Queued by an earlier run: the message says it is late and when it was due.
    pub late: bool,
    /// An earlier attempt may have reached SNS: the message says it may repeat one.
    pub maybe_repeat: bool,
    /// When it is sent (the run's delivery time).
    pub now: DateTime<Utc>,
}

/// Where notices go (SNS in AWS; a recorder in the demo and the simulation).
pub trait Notifier: Send + Sync {
    /// Publishes one notice; returns the message id.
    fn publish(
        &self,
        out: &Outgoing<'_>,
    ) -> impl Future<Output = Result<String, NotifyError>> + Send;
}

/// What went wrong for one target in one run; nothing is lost by any of these (the state and
/// the outbox stay in the table for the next run).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum AlertError {
    /// The table could not be read or written.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// Other runs kept winning the write; the next run applies its own observation.
    #[error("lost {MAX_RACES} races for the alert state in a row")]
    Raced,
    /// A notice could not be published.
    #[error("cannot publish the {kind} notice: {error}")]
    Publish {
        /// The notice's kind word.
        kind: &'static str,
        /// Why.
        error: NotifyError,
    },
}

/// A notice this run delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// What it announced.
    pub kind: NoticeKind,
    /// Its outbox id.
    pub id: String,
    /// The id SNS gave the message.
    pub message_id: String,
    /// Whether it was marked late.
    pub late: bool,
    /// Whether it was marked as possibly repeating an earlier message.
    pub maybe_repeat: bool,
}

/// What a run did for one target.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetOutcome {
    /// The target's name.
    pub target: String,
    /// Whether this run's observation was applied (not when it was older than the last applied).
    pub applied: bool,
    /// Whether the target was silenced at delivery time (nothing was sent).
    pub silenced: bool,
    /// Notices delivered, in order.
    pub sent: Vec<Sent>,
    /// What went wrong.
    pub errors: Vec<AlertError>,
}

/// The clock and settings of one run.
#[derive(Clone, Copy, Debug)]
pub struct RunContext<'a> {
    /// The canary's name (the table's partition).
    pub canary: &'a str,
    /// When the run checked its targets: the time the policy decides at.
    pub checked_at: DateTime<Utc>,
    /// When the run delivers: leases and silences at delivery are judged at this time.
    pub now: DateTime<Utc>,
    /// The engine's settings.
    pub settings: &'a Settings,
    /// After this instant no further notice is claimed (the invocation's deadline, less the time
    /// one publish and its record take); what is left goes out with the next run.
    pub claim_until: Option<std::time::Instant>,
}

impl RunContext<'_> {
    /// Whether there is still time to claim and deliver another notice.
    fn may_claim(&self) -> bool {
        self.claim_until
            .is_none_or(|until| std::time::Instant::now() < until)
    }
}

/// Runs the engine for every observed target, concurrently. Silences are read once; when they
/// cannot be read nothing is applied or sent (a silence could be broken) and every target
/// reports the error.
pub async fn run<S: Store, N: Notifier>(
    store: &S,
    notifier: &N,
    ctx: &RunContext<'_>,
    observations: &[(String, Observation)],
) -> Vec<TargetOutcome> {
    let silences = match store.silences(ctx.canary).await {
        Ok(s) => s,
        Err(e) => {
            return observations
                .iter()
                .map(|(name, _)| TargetOutcome {
                    target: name.clone(),
                    errors: vec![AlertError::Store(e.clone())],
                    ..TargetOutcome::default()
                })
                .collect()
        }
    };
    let runs = observations
        .iter()
        .map(|(name, obs)| run_target(store, notifier, ctx, &silences, name, obs));
    futures::future::join_all(runs).await
}

/// One target: apply and claim, then deliver.
async fn run_target<S: Store, N: Notifier>(
    store: &S,
    notifier: &N,
    ctx: &RunContext<'_>,
    silences: &[Silence],
    name: &str,
    obs: &Observation,
) -> TargetOutcome {
    let windows = &ctx.settings.maintenance;
    let mut out = TargetOutcome {
        target: name.to_string(),
        silenced: is_silenced(name, ctx.now, silences, windows),
        ..TargetOutcome::default()
    };
    let silenced_at_check = is_silenced(name, ctx.checked_at, silences, windows);
    match apply_and_claim(store, ctx, name, obs, silenced_at_check, out.silenced).await {
        Ok((applied, record, claimed, fresh)) => {
            out.applied = applied;
            deliver(
                store, notifier, ctx, name, record, claimed, &fresh, &mut out,
            )
            .await;
        }
        Err(e) => out.errors.push(e),
    }
    out
}

/// What the first write left: whether it applied the run, the record as written, the notice
/// it claimed, and the ids of the notices this run queued (not late).
type Applied = (bool, TargetRecord, Option<Claimed>, Vec<String>);

/// Reads the record, applies the run, claims the first deliverable notice, and writes it all
/// conditionally on the version read; on a lost race, reads and decides again.
async fn apply_and_claim<S: Store>(
    store: &S,
    ctx: &RunContext<'_>,
    name: &str,
    obs: &Observation,
    silenced_at_check: bool,
    silenced_now: bool,
) -> Result<Applied, AlertError> {
    for _ in 0..MAX_RACES {
        let current = store.load(ctx.canary, name).await?.unwrap_or_default();
        let transition = decide(
            &current.state,
            obs,
            ctx.checked_at,
            ctx.settings,
            silenced_at_check,
        );
        let applied = transition.is_some();
        let mut next = match transition {
            Some(t) => outbox::apply(&current, t, &obs.detail),
            None => TargetRecord {
                version: current.version + 1,
                ..current.clone()
            },
        };
        let fresh: Vec<String> = next
            .outbox
            .iter()
            .filter(|n| !current.outbox.iter().any(|o| o.id == n.id))
            .map(|n| n.id.clone())
            .collect();
        let claimed = if silenced_now || !ctx.may_claim() {
            None
        } else {
            outbox::claim_next(&mut next, ctx.now, ctx.settings.lease)
        };
        if next.state == current.state && next.outbox == current.outbox {
            return Ok((false, current, None, fresh));
        }
        match store.save(ctx.canary, name, &next, &current).await {
            Ok(()) => return Ok((applied, next, claimed, fresh)),
            Err(SaveError::Conflict) => continue,
            Err(SaveError::Store(e)) => return Err(e.into()),
        }
    }
    Err(AlertError::Raced)
}

/// Publishes the claimed notice, records the outcome (claiming the next one in the same write),
/// and goes on until the outbox is empty, a lease is held elsewhere, or something fails.
#[allow(clippy::too_many_arguments)]
async fn deliver<S: Store, N: Notifier>(
    store: &S,
    notifier: &N,
    ctx: &RunContext<'_>,
    name: &str,
    mut record: TargetRecord,
    mut claimed: Option<Claimed>,
    fresh: &[String],
    out: &mut TargetOutcome,
) {
    // Bounded: each round removes a notice or stops, and the outbox holds at most MAX_OUTBOX.
    for _ in 0..=outbox::MAX_OUTBOX {
        let Some(c) = claimed.take() else { return };
        let outgoing = Outgoing {
            canary: ctx.canary,
            target: name,
            notice: &c.notice,
            late: !fresh.contains(&c.notice.id),
            maybe_repeat: c.maybe_repeat,
            now: ctx.now,
        };
        let kind = c.notice.kind;
        match notifier.publish(&outgoing).await {
            Ok(message_id) => {
                out.sent.push(Sent {
                    kind,
                    id: c.notice.id.clone(),
                    message_id,
                    late: outgoing.late,
                    maybe_repeat: outgoing.maybe_repeat,
                });
                let id = c.notice.id.clone();
                let silenced = out.silenced;
                let result = record_outcome(store, ctx, name, record, |r| {
                    outbox::delivered(r, &id);
                    if silenced || !ctx.may_claim() {
                        None
                    } else {
                        outbox::claim_next(r, ctx.now, ctx.settings.lease)
                    }
                })
                .await;
                match result {
                    Ok((r, next)) => {
                        record = r;
                        claimed = next;
                    }
                    Err(e) => {
                        out.errors.push(e);
                        return;
                    }
                }
            }
            Err(error) => {
                let definite = !error.may_have_published();
                out.errors.push(AlertError::Publish {
                    kind: kind.as_str(),
                    error,
                });
                if definite {
                    let id = c.notice.id.clone();
                    let released = record_outcome(store, ctx, name, record, |r| {
                        outbox::rejected(r, &id);
                        None::<()>
                    })
                    .await;
                    if let Err(e) = released {
                        out.errors.push(e);
                    }
                }
                // Unknown outcome: the lease stays, so the next run resends it marked as a
                // possible repeat. Either way, nothing behind it may overtake it.
                return;
            }
        }
    }
}

/// Applies `change` to the record and writes it conditionally, re-reading on a lost race.
/// Returns the record as written and whatever `change` returned.
async fn record_outcome<S: Store, T>(
    store: &S,
    ctx: &RunContext<'_>,
    name: &str,
    mut record: TargetRecord,
    mut change: impl FnMut(&mut TargetRecord) -> Option<T>,
) -> Result<(TargetRecord, Option<T>), AlertError> {
    for _ in 0..MAX_RACES {
        let mut next = record.clone();
        next.version += 1;
        let result = change(&mut next);
        match store.save(ctx.canary, name, &next, &record).await {
            Ok(()) => return Ok((next, result)),
            Err(SaveError::Conflict) => {
                record = store.load(ctx.canary, name).await?.unwrap_or_default();
            }
            Err(SaveError::Store(e)) => return Err(e.into()),
        }
    }
    Err(AlertError::Raced)
}
