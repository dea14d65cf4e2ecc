//! The alert engine's settings as typed values: thresholds, reminders, flapping, the delivery
//! lease, retention and weekly maintenance windows. Plain data; the config maps onto it (the
//! defaults a user can change live in `check::config::defaults`).

use crate::check::config::defaults::{
    DEFAULT_FAILURE_THRESHOLD, DEFAULT_FLAP_CHANGES, DEFAULT_FLAP_WINDOW_MINUTES,
    DEFAULT_NOTIFY_WARN, DEFAULT_RECOVERY_THRESHOLD, DEFAULT_REMINDER_MINUTES,
};
use crate::sinks::alert::silence::MaintenanceWindow;
use chrono::Duration;

/// Default delivery lease: how long a run owns a notice it is publishing; see [`lease_for`]
/// (this is its value for the default 10 s AWS operation timeout).
pub const DEFAULT_LEASE_SECONDS: i64 = 25;
/// Time a lease keeps beyond the two AWS calls it covers (scheduling, clock differences).
pub const LEASE_MARGIN_SECONDS: i64 = 5;
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
            window: Duration::minutes(i64::from(DEFAULT_FLAP_WINDOW_MINUTES)),
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
            reminder: Some(Duration::minutes(i64::from(DEFAULT_REMINDER_MINUTES))),
            notify_warn: DEFAULT_NOTIFY_WARN,
            flapping: Some(Flapping::default()),
            lease: Duration::seconds(DEFAULT_LEASE_SECONDS),
            retention: Duration::days(DEFAULT_RETENTION_DAYS),
            maintenance: Vec::new(),
        }
    }
}

/// The delivery lease for AWS calls of up to `aws_timeout` each: a run owns the notice it is
/// publishing for the Publish and the write that records it, plus a margin, so no other run
/// sends it meanwhile; a run that died mid-publish leaves it to the first run after that.
pub fn lease_for(aws_timeout: std::time::Duration) -> Duration {
    let calls = Duration::from_std(aws_timeout * 2).unwrap_or(Duration::MAX);
    calls + Duration::seconds(LEASE_MARGIN_SECONDS)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_covers_a_publish_and_its_record_and_follows_the_aws_timeout() {
        assert_eq!(
            lease_for(std::time::Duration::from_secs(10)),
            Duration::seconds(DEFAULT_LEASE_SECONDS)
        );
        assert_eq!(
            lease_for(std::time::Duration::from_secs(3)),
            Duration::seconds(11)
        );
    }
}
