//! The run's time budget, pure: how long probing may take so that the alert path after it (read
//! silences and state, write, publish, record) still fits before the invocation's deadline, and
//! whether a configuration's worst case fits the function timeout at all.

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
    "probing may take {probe_s} s and the alert path after it {reserve_s} s ({calls} AWS calls of \
     up to {aws_s} s, plus {margin_s} s), more than the function timeout of {timeout_s} s: lower \
     the targets' timeout or retries, or raise the function timeout to at least {needed_s} s"
)]
pub struct DoesNotFit {
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

/// Whether a worst-case probing time fits the function timeout with the alert path after it.
pub fn check_fits(
    probe_worst: Duration,
    aws_timeout: Duration,
    function_timeout: Duration,
) -> Result<(), DoesNotFit> {
    let reserve = reserve(aws_timeout);
    let needed = probe_worst + reserve;
    if needed <= function_timeout {
        return Ok(());
    }
    Err(DoesNotFit {
        probe_s: ceil_secs(probe_worst),
        reserve_s: ceil_secs(reserve),
        calls: CALLS_AFTER_PROBING,
        aws_s: ceil_secs(aws_timeout),
        margin_s: ceil_secs(MARGIN),
        timeout_s: function_timeout.as_secs(),
        needed_s: ceil_secs(needed),
    })
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

    #[test]
    fn a_config_that_cannot_fit_is_refused_with_its_numbers() {
        assert_eq!(check_fits(S(30), S(5), S(60)), Ok(()), "30 + 27 <= 60");
        let e = check_fits(S(120) * 4, S(10), S(60)).unwrap_err();
        assert_eq!(
            (e.probe_s, e.reserve_s, e.needed_s, e.timeout_s),
            (480, 52, 532, 60)
        );
        let text = e.to_string();
        for n in [
            "480 s",
            "52 s",
            "5 AWS calls of up to 10 s",
            "60 s",
            "at least 532 s",
        ] {
            assert!(text.contains(n), "{text} names {n}");
        }
    }
}
