//! Durable alert state kept in CloudWatch itself: each run publishes five small per-canary
//! metrics (high resolution, timestamped with the run's check time) and the next run reads the
//! newest snapshot back with GetMetricData. No table, bucket or parameter to provision.

use crate::sinks::alert::policy::{Previous, State};
use crate::sinks::metrics::contract::{
    ALERT_FAILING_RUNS, ALERT_INCIDENT_OPEN, ALERT_INCIDENT_START, ALERT_LAST_NOTIFIED,
    ALERT_WARN_NOTIFIED, DIM_CANARY,
};
use aws_sdk_cloudwatch::primitives::DateTime as AwsDateTime;
use aws_sdk_cloudwatch::types::{
    Dimension, Metric, MetricDataQuery, MetricDatum, MetricStat, ScanBy, StandardUnit,
};
use chrono::{DateTime, Duration, TimeZone, Utc};

/// Shortest look-back for the previous snapshot, whatever the interval.
const MIN_LOOKBACK_MINUTES: i64 = 15;
/// High-resolution data is kept below one-minute granularity for three hours.
const HIGH_RES_RETENTION_MINUTES: i64 = 180;
/// The read-back granularity while high-resolution data lasts. Runs of one canary at least this
/// far apart never share a bucket (scheduled runs are minutes apart); one-second buckets would
/// work too but cost 10x the data points to scan.
pub const STATE_PERIOD_SECONDS: i32 = 10;

/// Why the alert state could not be read or written; `Display` is the line logs show.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// GetMetricData failed (after the SDK's retries).
    #[error("cannot read alert state: {0}")]
    Read(String),
    /// PutMetricData failed (after the SDK's retries).
    #[error("cannot write alert state: {0}")]
    Write(String),
}

/// The five state values of one snapshot, by metric name, as published.
pub fn to_values(state: &State) -> [(&'static str, f64); 5] {
    let epoch = |t: Option<DateTime<Utc>>| t.map_or(0.0, |t| t.timestamp() as f64);
    [
        (
            ALERT_INCIDENT_OPEN,
            f64::from(u8::from(state.incident_open)),
        ),
        (ALERT_FAILING_RUNS, f64::from(state.failing_runs)),
        (ALERT_INCIDENT_START, epoch(state.since)),
        (ALERT_LAST_NOTIFIED, epoch(state.last_notified)),
        (
            ALERT_WARN_NOTIFIED,
            f64::from(u8::from(state.warn_notified)),
        ),
    ]
}

/// Rebuilds a state from one snapshot's values (missing or out-of-range values read as "none").
pub fn from_values(values: &[(&str, f64)]) -> State {
    let get = |name: &str| {
        values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .filter(|v| v.is_finite())
    };
    let time = |name: &str| {
        get(name)
            .filter(|v| *v > 0.0)
            .and_then(|v| Utc.timestamp_opt(v as i64, 0).single())
    };
    State {
        failing_runs: get(ALERT_FAILING_RUNS)
            .map_or(0, |v| v.clamp(0.0, f64::from(u32::MAX)) as u32),
        incident_open: get(ALERT_INCIDENT_OPEN).is_some_and(|v| v >= 0.5),
        since: time(ALERT_INCIDENT_START),
        last_notified: time(ALERT_LAST_NOTIFIED),
        warn_notified: get(ALERT_WARN_NOTIFIED).is_some_and(|v| v >= 0.5),
    }
}

/// How far back the reader looks: three schedule intervals, at least 15 minutes.
pub fn lookback(interval_minutes: u32) -> Duration {
    Duration::minutes((3 * i64::from(interval_minutes)).max(MIN_LOOKBACK_MINUTES))
}

/// Whether a snapshot written at `written` is older than the previous run's should be: more
/// than one and a half intervals before `now`.
pub fn is_stale(written: DateTime<Utc>, now: DateTime<Utc>, interval_minutes: u32) -> bool {
    now - written > Duration::seconds(i64::from(interval_minutes) * 90)
}

/// The read window in epoch seconds, both ends on `period` boundaries, the last bucket
/// containing `now`.
pub fn aligned_window(now: DateTime<Utc>, back: Duration, period: i32) -> (i64, i64) {
    let p = i64::from(period.max(1));
    let start = (now - back).timestamp().div_euclid(p) * p;
    let end = now.timestamp().div_euclid(p) * p + p;
    (start, end)
}

fn aws_time(t: DateTime<Utc>) -> AwsDateTime {
    AwsDateTime::from_secs(t.timestamp())
}

fn dimension(canary: &str) -> Dimension {
    // The same sanitising as every other datum, so the state series sits beside the canary's own.
    let value = crate::sinks::metrics::sanitize::sanitize(
        canary,
        crate::sinks::metrics::sanitize::Key::DimensionValue,
    );
    Dimension::builder().name(DIM_CANARY).value(value).build()
}

/// Publishes one snapshot, timestamped `at` (the run's check time), at one-second resolution so
/// runs closer than a minute apart never merge into one data point.
pub async fn write(
    cw: &aws_sdk_cloudwatch::Client,
    namespace: &str,
    canary: &str,
    state: &State,
    at: DateTime<Utc>,
) -> Result<(), StateError> {
    let data: Vec<MetricDatum> = to_values(state)
        .into_iter()
        .map(|(name, value)| {
            let unit = if name == ALERT_FAILING_RUNS {
                StandardUnit::Count
            } else {
                StandardUnit::None
            };
            MetricDatum::builder()
                .metric_name(name)
                .dimensions(dimension(canary))
                .timestamp(aws_time(at))
                .value(value)
                .unit(unit)
                .storage_resolution(1)
                .build()
        })
        .collect();
    cw.put_metric_data()
        .namespace(namespace)
        .set_metric_data(Some(data))
        .send()
        .await
        .map_err(|e| {
            StateError::Write(aws_sdk_cloudwatch::error::DisplayErrorContext(e).to_string())
        })?;
    Ok(())
}

/// Reads the newest snapshot written before `now` within the look-back window. No snapshot is a
/// fresh canary (`Known(default)`); an old one is `Stale`; a failed call is an error.
pub async fn read(
    cw: &aws_sdk_cloudwatch::Client,
    namespace: &str,
    canary: &str,
    now: DateTime<Utc>,
    interval_minutes: u32,
) -> Result<Previous, StateError> {
    let back = lookback(interval_minutes);
    let period = if back.num_minutes() <= HIGH_RES_RETENTION_MINUTES {
        STATE_PERIOD_SECONDS
    } else {
        60
    };
    let names = to_values(&State::default()).map(|(n, _)| n);
    let queries: Vec<MetricDataQuery> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let metric = Metric::builder()
                .namespace(namespace)
                .metric_name(*name)
                .dimensions(dimension(canary))
                .build();
            MetricDataQuery::builder()
                .id(format!("s{i}"))
                .metric_stat(
                    MetricStat::builder()
                        .metric(metric)
                        .period(period)
                        .stat("Maximum")
                        .build(),
                )
                .return_data(true)
                .build()
        })
        .collect();
    // Buckets aligned to the period, the last one covering `now`: a window ending at `now`
    // would drop the bucket holding a run written a few seconds ago, and the next run would
    // decide as if there had been none. Nothing of this run is in that bucket yet: its state is
    // written after it decides.
    let (start, end) = aligned_window(now, back, period);
    let result = cw
        .get_metric_data()
        .set_metric_data_queries(Some(queries))
        .start_time(AwsDateTime::from_secs(start))
        .end_time(AwsDateTime::from_secs(end))
        .scan_by(ScanBy::TimestampDescending)
        .send()
        .await;
    let out = result.map_err(|e| {
        StateError::Read(aws_sdk_cloudwatch::error::DisplayErrorContext(e).to_string())
    })?;
    let mut series: Vec<(&'static str, Vec<(i64, f64)>)> = Vec::new();
    for r in out.metric_data_results() {
        let Some(i) = r
            .id()
            .and_then(|id| id.strip_prefix('s'))
            .and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        let Some(name) = names.get(i) else { continue };
        let points = r
            .timestamps()
            .iter()
            .map(|t| t.secs())
            .zip(r.values().iter().copied())
            .collect();
        series.push((name, points));
    }
    Ok(snapshot(&series, now, interval_minutes))
}

/// Picks the newest snapshot out of the read-back series (metric name → (epoch, value)): the
/// newest time at which `AlertFailingRuns` has a point, and every metric's value at that time.
pub fn snapshot(
    series: &[(&'static str, Vec<(i64, f64)>)],
    now: DateTime<Utc>,
    interval_minutes: u32,
) -> Previous {
    let newest = series
        .iter()
        .filter(|(n, _)| *n == ALERT_FAILING_RUNS)
        .flat_map(|(_, pts)| pts.iter().map(|(t, _)| *t))
        .max();
    let Some(at) = newest else {
        return Previous::Known(State::default());
    };
    let values: Vec<(&str, f64)> = series
        .iter()
        .filter_map(|(n, pts)| pts.iter().find(|(t, _)| *t == at).map(|(_, v)| (*n, *v)))
        .collect();
    let state = from_values(&values);
    match Utc.timestamp_opt(at, 0).single() {
        Some(written) if !is_stale(written, now, interval_minutes) => Previous::Known(state),
        _ => Previous::Stale(state),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::alert::testing::at;

    fn open_state() -> State {
        State {
            failing_runs: 4,
            incident_open: true,
            since: Some(at(0)),
            last_notified: Some(at(5)),
            warn_notified: true,
        }
    }

    #[test]
    fn read_window_is_aligned_and_its_last_bucket_holds_now() {
        let now = at(0) + Duration::seconds(7);
        let (start, end) = aligned_window(now, Duration::minutes(15), 10);
        assert_eq!(start % 10, 0);
        assert_eq!(end % 10, 0);
        assert!(end - 10 <= now.timestamp() && now.timestamp() < end);
        assert!(start <= (now - Duration::minutes(15)).timestamp());
    }

    #[test]
    fn state_survives_the_trip_through_five_numbers() {
        for s in [State::default(), open_state()] {
            assert_eq!(from_values(&to_values(&s)), s);
        }
        assert_eq!(
            to_values(&open_state()),
            [
                ("AlertIncidentOpen", 1.0),
                ("AlertFailingRuns", 4.0),
                ("AlertIncidentStart", at(0).timestamp() as f64),
                ("AlertLastNotified", at(5).timestamp() as f64),
                ("AlertWarnNotified", 1.0),
            ]
        );
    }

    #[test]
    fn nonsense_values_read_as_nothing_known() {
        let values = [
            (ALERT_INCIDENT_OPEN, f64::NAN),
            (ALERT_FAILING_RUNS, -3.0),
            (ALERT_INCIDENT_START, -1.0),
            (ALERT_LAST_NOTIFIED, f64::INFINITY),
        ];
        assert_eq!(from_values(&values), State::default());
    }

    #[test]
    fn snapshot_takes_the_newest_run_and_flags_an_old_one_as_stale() {
        let older = at(-10).timestamp();
        let newer = at(-5).timestamp();
        let series: Vec<(&'static str, Vec<(i64, f64)>)> = to_values(&open_state())
            .into_iter()
            .map(|(n, v)| (n, vec![(newer, v), (older, 0.0)]))
            .collect();
        assert_eq!(snapshot(&series, at(0), 5), Previous::Known(open_state()));
        assert_eq!(
            snapshot(&series, at(3), 5),
            Previous::Stale(open_state()),
            "8 minutes old on a 5-minute schedule: the previous run's snapshot is missing"
        );
        assert_eq!(snapshot(&[], at(0), 5), Previous::Known(State::default()));
    }

    #[test]
    fn looks_back_three_intervals_but_at_least_fifteen_minutes() {
        assert_eq!(lookback(1), Duration::minutes(15));
        assert_eq!(lookback(5), Duration::minutes(15));
        assert_eq!(lookback(60), Duration::minutes(180));
    }
}
