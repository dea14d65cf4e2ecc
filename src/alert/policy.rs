//! The alert policy: a pure state machine from (previous state, this run's report) to at most
//! one notification and the state the next run starts from. No I/O, no clock: `now` is passed in.

use crate::config::AlertConfig;
use crate::report::{Report, Status};
use chrono::{DateTime, Duration, Utc};

/// Scheduler jitter tolerated when a reminder falls due: EventBridge fires a few seconds either
/// side of the minute, so a run 59:58 after the last notification still sends the 60-minute
/// reminder instead of waiting a whole extra interval.
pub const REMINDER_SLACK_SECONDS: i64 = 30;

/// Caveat attached when the state could not be read at all (fail open).
pub const CAVEAT_UNKNOWN: &str = "alert state unavailable - this may repeat an earlier alert";
/// Caveat attached when the newest visible state is not the previous run's.
pub const CAVEAT_STALE: &str =
    "the previous run's alert state is not visible yet - this may repeat an earlier alert";

/// What the canary remembers between runs. Every field is a number in CloudWatch (see
/// `alert::state`), so the state survives cold starts with no extra infrastructure.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    /// Consecutive runs whose report was FAIL (0 when the last run was not failing).
    pub failing_runs: u32,
    /// Whether an incident is open (its FAIL alert has been sent, RESOLVED not yet).
    pub incident_open: bool,
    /// When the current failing streak started (the first failing run's check time).
    pub since: Option<DateTime<Utc>>,
    /// When the last FAIL or REMINDER was sent for the open incident.
    pub last_notified: Option<DateTime<Utc>>,
    /// Whether a WARN notice was sent for the current warning period.
    pub warn_notified: bool,
}

/// The state as the reader found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Previous {
    /// The previous run's state (or nothing stored: a fresh canary).
    Known(State),
    /// A state was found but it is older than the previous run should have written: CloudWatch
    /// is lagging or runs were missed. Decided on, but any notification carries a caveat.
    Stale(State),
    /// The state could not be read (why). Fail open: page on FAIL, never RESOLVE.
    Unknown(String),
}

/// The kind of a notification; also its `severity` message attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// An incident starts: a critical target or component entered FAIL.
    Fail,
    /// The incident is still open after `reminder_minutes`.
    Reminder,
    /// Everything that was failing is back to PASS or WARN.
    Resolved,
    /// Something is WARN (only with `notify_warn`).
    Warn,
}

impl Kind {
    /// The upper-case word used in subjects and the `severity` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Fail => "FAIL",
            Kind::Reminder => "REMINDER",
            Kind::Resolved => "RESOLVED",
            Kind::Warn => "WARN",
        }
    }
}

/// One notification to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// What it announces.
    pub kind: Kind,
    /// When the incident (failing streak) started, for durations.
    pub since: Option<DateTime<Utc>>,
    /// A warning about the state this decision was based on, shown in the message.
    pub caveat: Option<&'static str>,
}

/// This run's alert decision: nothing, or exactly one notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Nothing changed that anyone needs to hear about.
    Nothing,
    /// Send this.
    Notify(Notice),
}

/// Decides this run's notification and the next state. `None` as the next state means "write
/// nothing": the state was unreadable and nothing is failing, so the stored state (perhaps an
/// open incident awaiting its RESOLVED) must stay as it is.
pub fn decide(
    previous: &Previous,
    report: &Report,
    now: DateTime<Utc>,
    cfg: &AlertConfig,
) -> (Decision, Option<State>) {
    let failing = report.status == Status::Fail;
    let warning = report.status == Status::Warn;
    let (prev, caveat) = match previous {
        Previous::Known(s) => (s, None),
        Previous::Stale(s) => (s, Some(CAVEAT_STALE)),
        Previous::Unknown(_) => {
            if !failing {
                return (Decision::Nothing, None);
            }
            let next = State {
                failing_runs: cfg.failure_threshold.max(1),
                incident_open: true,
                since: Some(now),
                last_notified: Some(now),
                warn_notified: false,
            };
            let notice = Notice {
                kind: Kind::Fail,
                since: Some(now),
                caveat: Some(CAVEAT_UNKNOWN),
            };
            return (Decision::Notify(notice), Some(next));
        }
    };
    let notify = |kind, since| {
        Decision::Notify(Notice {
            kind,
            since,
            caveat,
        })
    };

    if failing {
        let since = match prev.since {
            Some(t) if prev.failing_runs > 0 => Some(t),
            _ => Some(now),
        };
        let mut next = State {
            failing_runs: prev.failing_runs.saturating_add(1),
            incident_open: prev.incident_open,
            since,
            last_notified: prev.last_notified,
            warn_notified: prev.warn_notified,
        };
        if prev.incident_open {
            if reminder_due(prev.last_notified, now, cfg.reminder_minutes) {
                next.last_notified = Some(now);
                return (notify(Kind::Reminder, since), Some(next));
            }
            return (Decision::Nothing, Some(next));
        }
        if next.failing_runs >= cfg.failure_threshold.max(1) {
            next.incident_open = true;
            next.last_notified = Some(now);
            return (notify(Kind::Fail, since), Some(next));
        }
        return (Decision::Nothing, Some(next));
    }

    // Not failing: the streak is over. A RESOLVED mentions any WARN, so it also counts as the
    // WARN notice for the warning that follows it.
    let mut next = State {
        warn_notified: warning && prev.warn_notified,
        ..State::default()
    };
    if prev.incident_open {
        next.warn_notified = warning;
        return (notify(Kind::Resolved, prev.since), Some(next));
    }
    if warning && cfg.notify_warn && !prev.warn_notified {
        next.warn_notified = true;
        return (notify(Kind::Warn, None), Some(next));
    }
    (Decision::Nothing, Some(next))
}

/// Whether a reminder is due: reminders are on and the last notification is at least
/// `reminder_minutes` old (less the scheduler slack). No record of a notification means due.
fn reminder_due(last: Option<DateTime<Utc>>, now: DateTime<Utc>, reminder_minutes: u32) -> bool {
    if reminder_minutes == 0 {
        return false;
    }
    match last {
        None => true,
        Some(t) => {
            now - t
                >= Duration::minutes(i64::from(reminder_minutes))
                    - Duration::seconds(REMINDER_SLACK_SECONDS)
        }
    }
}
