//! The run's time budget, pure: how long probing may take so that the alert path after it (read
//! silences and state, write, publish, record) still fits before the invocation's deadline, and
//! whether a configuration's worst case fits the function timeout at all.

use crate::check::config::Target;
use std::time::Duration;

/// Sequential AWS calls after probing, each bounded by the AWS operation timeout: the silences
/// query, the target's read, the conditional write, the publish, and the delivery record.
/// (Targets are handled concurrently, and metrics are published beside the alerts.)
pub const CALLS_AFTER_PROBING: u32 = 5;
/// Time kept for everything that is not an AWS call (judging, rendering, logging, the runtime).
pub const MARGIN: Duration = Duration::from_secs(2);

/// Why a configuration cannot finish within the function timeout.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error(
    "target '{target}' may take {probe_s} s to probe (every attempt timing out, with the retry \
     delays) and the alert path after it {reserve_s} s ({calls} AWS calls of up to {aws_s} s, \
     plus {margin_s} s): {needed_s} s, more than the function timeout of {timeout_s} s; lower \
     its timeout_seconds or retries, or raise the function timeout to at least {needed_s} s"
)]
pub struct DoesNotFit {
    /// The slowest target's name.
    pub target: String,
    /// The worst-case probing time, whole seconds (rounded up).
    pub probe_s: u64,
    /// The alert path's reserve, whole seconds (rounded up).
    pub reserve_s: u64,
    /// AWS calls in the reserve.
    pub calls: u32,
    /// One AWS call's timeout, whole seconds (rounded up).
    pub aws_s: u64,
    /// The margin, whole seconds.
    pub margin_s: u64,
    /// The function timeout, whole seconds.
    pub timeout_s: u64,
    /// The smallest function timeout that fits, whole seconds.
    pub needed_s: u64,
}

/// The time the alert path needs after probing, with AWS calls of up to `aws_timeout` each.
pub fn reserve(aws_timeout: Duration) -> Duration {
    aws_timeout * CALLS_AFTER_PROBING + MARGIN
}

/// How long probing may take when `remaining` is left before the invocation's deadline; zero
/// when not even the alert path fits (the run then skips probing and still delivers what is
/// owed from earlier runs).
pub fn probe_budget(remaining: Duration, aws_timeout: Duration) -> Duration {
    remaining.saturating_sub(reserve(aws_timeout))
}

/// The longest one target's probe may take: every attempt timing out, with the delays between.
pub fn probe_worst(t: &Target) -> Duration {
    t.timeout * (t.retries + 1) + t.retry_delay * t.retries
}

/// Whether the slowest target's worst-case probe fits the function timeout with the alert path
/// after it (targets are probed concurrently; more targets than the concurrency share the
/// run's budget, and any still running when it is spent FAIL with that reason).
pub fn check_fits(
    targets: &[Target],
    aws_timeout: Duration,
    function_timeout: Duration,
) -> Result<(), DoesNotFit> {
    let Some(slowest) = targets.iter().max_by_key(|t| probe_worst(t)) else {
        return Ok(());
    };
    let probe_worst = probe_worst(slowest);
    let reserve = reserve(aws_timeout);
    let needed = probe_worst + reserve;
    if needed <= function_timeout {
        return Ok(());
    }
    Err(DoesNotFit {
        target: slowest.name.clone(),
        probe_s: ceil_secs(probe_worst),
        reserve_s: ceil_secs(reserve),
        calls: CALLS_AFTER_PROBING,
        aws_s: ceil_secs(aws_timeout),
        margin_s: ceil_secs(MARGIN),
        timeout_s: function_timeout.as_secs(),
        needed_s: ceil_secs(needed),
    })
}

/// Allowed Lambda function timeouts, in whole seconds.
pub const FUNCTION_TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 1..=900;

/// A `CANARY_FUNCTION_TIMEOUT_SECONDS` value as a duration, or what is wrong with it.
pub fn function_timeout(value: &str) -> Result<Duration, String> {
    match value.trim().parse::<u64>() {
        Ok(s) if FUNCTION_TIMEOUT_RANGE.contains(&s) => Ok(Duration::from_secs(s)),
        _ => Err(format!(
            "CANARY_FUNCTION_TIMEOUT_SECONDS: '{value}' is not whole seconds from 1 to 900"
        )),
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn probing_gets_what_is_left_after_the_alert_path() {
        // 5 calls of 10 s and 2 s of margin: 52 s reserved.
        assert_eq!(probe_budget(S(60), S(10)), S(8));
        assert_eq!(probe_budget(S(300), S(3)), S(283));
        assert_eq!(
            probe_budget(S(40), S(10)),
            Duration::ZERO,
            "nothing left to probe with"
        );
    }

    fn target(name: &str, timeout: u64, retries: u32, delay_ms: u64) -> Target {
        let c = crate::check::config::load(
            None,
            Some(&format!(
                r#"{{"targets":[{{"name":"{name}","url":"https://a.example/","timeout_seconds":{timeout},"retries":{retries},"retry_delay_ms":{delay_ms}}}]}}"#
            )),
            &crate::check::config::Overrides::default(),
            &|_| None,
        )
        .unwrap();
        c.targets[0].clone()
    }

    #[test]
    fn a_config_that_cannot_fit_is_refused_with_its_numbers() {
        let quick = target("quick", 10, 1, 2000);
        assert_eq!(probe_worst(&quick), S(22));
        assert_eq!(
            check_fits(std::slice::from_ref(&quick), S(5), S(60)),
            Ok(()),
            "22 + 27 <= 60"
        );
        let slow = target("slow", 120, 3, 30_000);
        let e = check_fits(&[quick, slow], S(10), S(60)).unwrap_err();
        assert_eq!(
            (
                e.target.as_str(),
                e.probe_s,
                e.reserve_s,
                e.needed_s,
                e.timeout_s
            ),
            ("slow", 570, 52, 622, 60)
        );
        let text = e.to_string();
        for n in [
            "target 'slow' may take 570 s",
            "52 s",
            "5 AWS calls of up to 10 s",
            "function timeout of 60 s",
            "at least 622 s",
        ] {
            assert!(text.contains(n), "{text} names {n}");
        }
    }

    #[test]
    fn the_function_timeout_is_whole_seconds_up_to_fifteen_minutes() {
        assert_eq!(function_timeout(" 90 "), Ok(S(90)));
        for bad in ["0", "901", "1.5", "soon"] {
            assert!(function_timeout(bad).unwrap_err().contains(bad), "{bad}");
        }
    }
}
