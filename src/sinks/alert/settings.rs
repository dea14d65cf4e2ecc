//! The alert engine's settings as typed values: thresholds, reminders, flapping, the delivery
//! lease, retention and weekly maintenance windows. Plain data; the config maps onto it.

use crate::sinks::alert::silence::MaintenanceWindow;
use chrono::Duration;

/// Default failing runs in a row before FAIL: the first failing run pages (as before v2).
pub const DEFAULT_FAILURE_THRESHOLD: u32 = 1;
/// Default non-failing runs in a row before RESOLVED: the first good run resolves (as before v2).
pub const DEFAULT_RECOVERY_THRESHOLD: u32 = 1;
/// Default minutes between REMINDERs while an incident is open.
pub const DEFAULT_REMINDER_MINUTES: i64 = 60;
/// Default flapping window. Nagios judges flapping over the last 21 checks; at the usual
/// 5-minute schedule an hour is 12 of them, and an hour is also what an operator thinks in.
pub const DEFAULT_FLAP_WINDOW_MINUTES: i64 = 60;
/// Default changes (failing ↔ not failing) within the window that count as flapping. Five in an
/// hour is three short outages: more than that and FAIL/RESOLVED pairs stop carrying news.
pub const DEFAULT_FLAP_CHANGES: u32 = 5;
/// Default delivery lease: how long a run owns a notice it is publishing. Longer than one SNS
/// call with its retries (10 s by default), shorter than the shortest schedule interval, so a
/// run that died mid-publish leaves the notice to the very next run.
pub const DEFAULT_LEASE_SECONDS: i64 = 45;
/// Default time a closed incident or an expired silence stays in the table before its TTL.
pub const DEFAULT_RETENTION_DAYS: i64 = 90;
/// Scheduler jitter tolerated when a reminder falls due: EventBridge fires a few seconds either
/// side of the minute, so a run 59:58 after the last notice still sends the 60-minute reminder.
pub const REMINDER_SLACK_SECONDS: i64 = 30;

/// Flapping detection: `changes` or more changes within `window` make a target flap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flapping {
    /// How far back changes are counted, and how long a target must stay unchanged to settle.
    pub window: Duration,
    /// Changes within the window that start a flapping episode (at least 2).
    pub changes: u32,
}

impl Default for Flapping {
    fn default() -> Self {
        Flapping {
            window: Duration::minutes(DEFAULT_FLAP_WINDOW_MINUTES),
            changes: DEFAULT_FLAP_CHANGES,
        }
    }
}

/// Everything the alert engine needs to decide and deliver.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Failing runs in a row before an incident opens and FAIL is sent (at least 1).
    pub failure_threshold: u32,
    /// Non-failing runs in a row before an open incident closes and RESOLVED is sent (at least 1).
    pub recovery_threshold: u32,
    /// Time between REMINDERs while an incident is open; `None` for no reminders.
    pub reminder: Option<Duration>,
    /// Whether a WARN notice is sent when a target starts warning.
    pub notify_warn: bool,
    /// Flapping detection; `None` turns it off.
    pub flapping: Option<Flapping>,
    /// How long a run owns a notice it is publishing (see [`DEFAULT_LEASE_SECONDS`]).
    pub lease: Duration,
    /// How long closed incidents and expired silences are kept before the table's TTL.
    pub retention: Duration,
    /// Recurring weekly windows in which nothing is sent.
    pub maintenance: Vec<MaintenanceWindow>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            failure_threshold: DEFAULT_FAILURE_THRESHOLD,
            recovery_threshold: DEFAULT_RECOVERY_THRESHOLD,
            reminder: Some(Duration::minutes(DEFAULT_REMINDER_MINUTES)),
            notify_warn: false,
            flapping: Some(Flapping::default()),
            lease: Duration::seconds(DEFAULT_LEASE_SECONDS),
            retention: Duration::days(DEFAULT_RETENTION_DAYS),
            maintenance: Vec::new(),
        }
    }
}

impl Settings {
    /// The failure threshold, never below 1.
    pub fn failure_threshold(&self) -> u32 {
        self.failure_threshold.max(1)
    }

    /// The recovery threshold, never below 1.
    pub fn recovery_threshold(&self) -> u32 {
        self.recovery_threshold.max(1)
    }
}
