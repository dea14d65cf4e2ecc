//! Every default and limit of the configuration, in one table: what a setting is when nobody sets
//! it, and the range it must stay in.

use std::ops::RangeInclusive;

/// Default canary name when none is configured.
pub const DEFAULT_CANARY: &str = "health-canary";
/// Longest canary or target name (a CloudWatch dimension value).
pub const MAX_NAME_LEN: usize = 255;
/// Default number of targets probed at once.
pub const DEFAULT_CONCURRENCY: usize = 32;
/// Allowed numbers of targets probed at once.
pub const CONCURRENCY_RANGE: RangeInclusive<usize> = 1..=256;

/// Default HTTP method of a target.
pub const DEFAULT_METHOD: &str = "GET";
/// Default per-target timeout.
pub const DEFAULT_TIMEOUT_SECONDS: f64 = 10.0;
/// Longest per-target timeout allowed: a run must fit in a Lambda invocation.
pub const MAX_TIMEOUT_SECONDS: f64 = 120.0;
/// Accepted HTTP statuses when a target lists none: the 2xx class.
pub const DEFAULT_EXPECTED_STATUS: (u16, u16) = (200, 299);
/// Default confirmation retries after a transport error or 5xx.
pub const DEFAULT_RETRIES: u32 = 1;
/// Allowed confirmation retries.
pub const RETRIES_RANGE: RangeInclusive<u32> = 0..=3;
/// Default delay before a confirmation retry, in milliseconds.
pub const DEFAULT_RETRY_DELAY_MS: u64 = 2000;
/// Allowed delays before a confirmation retry, in milliseconds.
pub const RETRY_DELAY_MS_RANGE: RangeInclusive<u64> = 0..=30_000;
/// Default body cap.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Largest body cap allowed.
pub const MAX_BODY_BYTES_LIMIT: usize = 16 * 1024 * 1024;
/// Whether a target's FAIL fails the canary when the target does not say.
pub const DEFAULT_CRITICAL: bool = true;

/// Default CloudWatch namespace.
pub const DEFAULT_NAMESPACE: &str = "HealthCanary";
/// Default metrics publisher (`api` = PutMetricData).
pub const DEFAULT_PUBLISHER: &str = "api";

/// Default minutes between REMINDERs while an incident lasts.
pub const DEFAULT_REMINDER_MINUTES: u32 = 60;
/// Allowed minutes between REMINDERs (0 = no reminders, at most a week).
pub const REMINDER_MINUTES_RANGE: RangeInclusive<u32> = 0..=10_080;
/// Default consecutive failing runs before the first FAIL alert.
pub const DEFAULT_FAILURE_THRESHOLD: u32 = 1;
/// Allowed consecutive failing runs before the first FAIL alert.
pub const FAILURE_THRESHOLD_RANGE: RangeInclusive<u32> = 1..=100;
/// Whether WARN notices are sent when nobody says.
pub const DEFAULT_NOTIFY_WARN: bool = false;
/// Default non-failing runs in a row before RESOLVED: the first good run resolves.
pub const DEFAULT_RECOVERY_THRESHOLD: u32 = 1;
/// Allowed non-failing runs in a row before RESOLVED.
pub const RECOVERY_THRESHOLD_RANGE: RangeInclusive<u32> = 1..=100;
/// Default flapping window, in minutes. Nagios judges flapping over its last 21 checks; at the
/// usual 5-minute schedule an hour is 12 of them, and an hour is what an operator thinks in.
pub const DEFAULT_FLAP_WINDOW_MINUTES: u32 = 60;
/// Allowed flapping windows, in minutes (5 minutes to a day).
pub const FLAP_WINDOW_MINUTES_RANGE: RangeInclusive<u32> = 5..=1440;
/// Default changes (failing ↔ not failing) within the window that count as flapping. Five in an
/// hour is three short outages: beyond that, FAIL/RESOLVED pairs stop carrying news.
pub const DEFAULT_FLAP_CHANGES: u32 = 5;
/// Allowed numbers of changes that count as flapping.
pub const FLAP_CHANGES_RANGE: RangeInclusive<u32> = 2..=100;
/// Allowed maintenance window lengths, in minutes (1 minute to a week).
pub const WINDOW_MINUTES_RANGE: RangeInclusive<u32> = 1..=10_080;
/// Maintenance windows a config may list.
pub const MAX_WINDOWS: usize = 50;
