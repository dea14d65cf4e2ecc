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
/// Default schedule interval, in minutes.
pub const DEFAULT_INTERVAL_MINUTES: u32 = 5;
/// Allowed schedule intervals, in minutes (at most a day).
pub const INTERVAL_MINUTES_RANGE: RangeInclusive<u32> = 1..=1440;
/// Whether WARN notices are sent when nobody says.
pub const DEFAULT_NOTIFY_WARN: bool = false;
