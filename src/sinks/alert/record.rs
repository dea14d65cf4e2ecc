//! What the alert engine stores per (canary, target): the target's alert state, its open and
//! last closed incident, and the outbox of notices not yet delivered, under one version number.

use crate::check::report::{Status, TargetResult};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Components listed in a notice; the rest are counted in [`NoticeDetail::more`].
pub const DETAIL_COMPONENTS: usize = 20;
/// Characters kept of one reason in a stored notice.
pub const DETAIL_REASON_CHARS: usize = 300;
/// Characters kept of one component name in a stored notice.
pub const DETAIL_NAME_CHARS: usize = 120;

/// The kind of a notice; its word is the `severity` message attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum NoticeKind {
    /// An incident opens: the target has failed `failure_threshold` runs in a row.
    Fail,
    /// The incident is still open after the reminder interval.
    Reminder,
    /// The incident closed: `recovery_threshold` non-failing runs in a row.
    Resolved,
    /// The target started warning (only with `notify_warn`).
    Warn,
    /// The target keeps changing between failing and not failing; quiet until it settles.
    Flapping,
}

impl NoticeKind {
    /// The upper-case word used in subjects and the `severity` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Fail => "FAIL",
            NoticeKind::Reminder => "REMINDER",
            NoticeKind::Resolved => "RESOLVED",
            NoticeKind::Warn => "WARN",
            NoticeKind::Flapping => "FLAPPING",
        }
    }
}

/// One component as a notice names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentLine {
    /// The component's name (cut to [`DETAIL_NAME_CHARS`]).
    pub name: String,
    /// Its status in the run that created the notice.
    pub status: Status,
    /// Why (cut to [`DETAIL_REASON_CHARS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What the run that created a notice saw of its target, bounded so a stored notice stays
/// small: the status, the target-level reason, the worst components first, and how many more.
/// The URL is never kept (its query and userinfo may hold secrets).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeDetail {
    /// The target's status as it contributes to the canary (a non-critical FAIL is WARN).
    pub status: Status,
    /// The target-level reason (transport error, HTTP status, unreadable body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Unhealthy components, worst first, at most [`DETAIL_COMPONENTS`].
    #[serde(default)]
    pub components: Vec<ComponentLine>,
    /// Unhealthy components left out.
    #[serde(default)]
    pub more: u32,
}

impl NoticeDetail {
    /// The detail of one target's result.
    pub fn of(target: &TargetResult) -> NoticeDetail {
        let mut bad: Vec<_> = target
            .components
            .iter()
            .filter(|c| c.status != Status::Pass)
            .collect();
        // Stable: FAIL before WARN, configuration order within each.
        bad.sort_by_key(|c| std::cmp::Reverse(c.status));
        let more = bad.len().saturating_sub(DETAIL_COMPONENTS);
        NoticeDetail {
            status: target.overall_contribution(),
            reason: target
                .reason
                .as_deref()
                .map(|r| cut(r, DETAIL_REASON_CHARS)),
            components: bad
                .into_iter()
                .take(DETAIL_COMPONENTS)
                .map(|c| ComponentLine {
                    name: cut(&c.name, DETAIL_NAME_CHARS),
                    status: c.status,
                    reason: c.reason.as_deref().map(|r| cut(r, DETAIL_REASON_CHARS)),
                })
                .collect(),
            more: u32::try_from(more).unwrap_or(u32::MAX),
        }
    }
}

fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// One incident of one target: from the first failing run of the streak that reached the
/// threshold (or the flapping episode that opened it) to the run that closed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// The first failing run's check time; with the target name, the incident's id.
    pub started: DateTime<Utc>,
    /// The check time of the run that opened it (threshold reached, or flapping).
    pub opened: DateTime<Utc>,
    /// The check time of the run that closed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<DateTime<Utc>>,
    /// Whether its opening page (FAIL or FLAPPING) was queued; not while silenced.
    #[serde(default)]
    pub announced: bool,
    /// Whether its FAIL was queued (at most one per incident).
    #[serde(default)]
    pub fail_queued: bool,
    /// When the last FAIL, FLAPPING or REMINDER was queued (reminders count from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_notified: Option<DateTime<Utc>>,
    /// Notices about it that were delivered.
    #[serde(default)]
    pub notices_sent: u32,
}

/// The alert state of one target between runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetState {
    /// The check time of the newest run applied; older or equal runs are not applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_checked: Option<DateTime<Utc>>,
    /// Whether the last applied run was failing (`None` before the first run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing: Option<bool>,
    /// Failing runs in a row.
    #[serde(default)]
    pub failing_runs: u32,
    /// Non-failing runs in a row.
    #[serde(default)]
    pub passing_runs: u32,
    /// The first failing run of the current failing streak.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streak_start: Option<DateTime<Utc>>,
    /// Check times of the changes (failing ↔ not failing) within the flapping window.
    #[serde(default)]
    pub changes: Vec<DateTime<Utc>>,
    /// Whether the target is flapping now.
    #[serde(default)]
    pub flapping: bool,
    /// Whether this flapping episode's FLAPPING notice was queued.
    #[serde(default)]
    pub flap_notified: bool,
    /// Whether a WARN notice was queued for the current warning period.
    #[serde(default)]
    pub warn_notified: bool,
    /// The open incident.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<Incident>,
    /// The incident closed last (its RESOLVED may still be in the outbox).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_closed: Option<Incident>,
}

/// A notice in the outbox: queued with the state change that made it due, delivered by the run
/// that holds its lease, removed once SNS accepted it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxNotice {
    /// Unique within the target: the creating run's check time and the kind.
    pub id: String,
    /// What it announces.
    pub kind: NoticeKind,
    /// When it became due: the check time of the run that queued it.
    pub created: DateTime<Utc>,
    /// The incident it belongs to (its start), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<DateTime<Utc>>,
    /// What the creating run saw of the target.
    pub detail: NoticeDetail,
    /// Publish attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// While set and in the future, a run owns the notice and is publishing it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<DateTime<Utc>>,
    /// An earlier attempt may have reached SNS (timed out, or its run died before recording
    /// the outcome): the next message says it may repeat an earlier one.
    #[serde(default)]
    pub maybe_sent: bool,
}

/// Everything stored for one target, under one version: each write is conditional on it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetRecord {
    /// Incremented by every write; 0 means never written.
    pub version: u64,
    /// The alert state.
    pub state: TargetState,
    /// Notices not yet delivered, oldest first.
    #[serde(default)]
    pub outbox: Vec<OutboxNotice>,
}

/// One incident as `health-canary incidents` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentRecord {
    /// The target's name.
    pub target: String,
    /// The incident.
    pub incident: Incident,
}
