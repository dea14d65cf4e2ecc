//! `check --wait`: the deploy gate. The check runs again every interval until it passes (WARN
//! passes unless `--fail-on-warn`) or the time is up; the last report is what the caller prints.

use crate::check::config::Config;
use crate::check::report::{Report, Status};
use crate::entry::exit::exit_code;
use std::time::{Duration, Instant};

/// The shortest `--wait` or `--interval`: a gate that polls faster than this only adds load.
pub const MIN_DURATION: Duration = Duration::from_secs(1);
/// `--interval` when not given.
pub const DEFAULT_INTERVAL: &str = "10s";

/// How long to keep checking, and how often.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait {
    /// Give up once this much time has passed since the first check began.
    pub within: Duration,
    /// Time between the end of one check and the start of the next.
    pub every: Duration,
}

/// What to do after a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// It passed: stop, exit 0.
    Pass,
    /// Check again after this long (the interval, or less when the time is nearly up).
    Again(Duration),
    /// The time is up: stop with the last report, exit 1.
    GiveUp,
}

/// After a check ending `elapsed` after the first began with `status`: pass, again, or give up.
/// The last check starts when the time is up, so a service that recovers just in time passes.
pub fn next(wait: &Wait, status: Status, fail_on_warn: bool, elapsed: Duration) -> Next {
    if exit_code(status, fail_on_warn) == 0 {
        return Next::Pass;
    }
    match wait.within.checked_sub(elapsed) {
        Some(left) if !left.is_zero() => Next::Again(wait.every.min(left)),
        _ => Next::GiveUp,
    }
}

/// How a wait ended.
#[derive(Debug)]
pub struct Waited {
    /// The last report.
    pub report: Report,
    /// How many checks ran.
    pub checks: u32,
    /// Whether the last one passed.
    pub passed: bool,
}

/// `--wait 5m` as a duration of at least [`MIN_DURATION`]; the message says how to write one.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if d >= MIN_DURATION => Ok(d),
        Ok(_) => Err("must be at least 1s".to_string()),
        Err(e) => Err(format!("{e}: use a duration like 90s, 5m or 1h30m")),
    }
}

/// A duration as people read it, to the second (`4m 40s`).
pub fn readable(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

/// Runs the check until it passes or `wait.within` is up; `progress` hears one line for each check
/// that did not pass and will be retried.
pub async fn until_pass(
    config: &Config,
    client: &reqwest::Client,
    wait: &Wait,
    fail_on_warn: bool,
    progress: &mut dyn FnMut(String),
) -> Waited {
    let started = Instant::now();
    let mut checks = 0;
    loop {
        checks += 1;
        let report = crate::check::run_check(config, client, None).await;
        let elapsed = started.elapsed();
        match next(wait, report.status, fail_on_warn, elapsed) {
            Next::Again(delay) => {
                progress(format!(
                    "check {checks}: {}; checking again in {} (giving up in {})",
                    report.status,
                    readable(delay),
                    readable(wait.within.saturating_sub(elapsed))
                ));
                tokio::time::sleep(delay).await;
            }
            done => {
                return Waited {
                    report,
                    checks,
                    passed: done == Next::Pass,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn passes_on_pass_and_on_warn_unless_warn_fails() {
        let wait = Wait {
            within: secs(60),
            every: secs(10),
        };
        assert_eq!(next(&wait, Status::Pass, true, secs(99)), Next::Pass);
        assert_eq!(next(&wait, Status::Warn, false, secs(5)), Next::Pass);
        assert_eq!(
            next(&wait, Status::Warn, true, secs(5)),
            Next::Again(secs(10))
        );
        assert_eq!(
            next(&wait, Status::Fail, false, secs(5)),
            Next::Again(secs(10))
        );
    }

    #[test]
    fn the_last_check_starts_when_the_time_is_up_then_it_gives_up() {
        let wait = Wait {
            within: secs(60),
            every: secs(10),
        };
        assert_eq!(
            next(&wait, Status::Fail, false, secs(55)),
            Next::Again(secs(5))
        );
        assert_eq!(next(&wait, Status::Fail, false, secs(60)), Next::GiveUp);
        assert_eq!(next(&wait, Status::Fail, false, secs(75)), Next::GiveUp);
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(parse_duration("5m"), Ok(secs(300)));
        assert_eq!(parse_duration("90s"), Ok(secs(90)));
        assert_eq!(parse_duration("1h 30m"), Ok(secs(5400)));
        assert_eq!(parse_duration(DEFAULT_INTERVAL), Ok(secs(10)));
        assert!(parse_duration("500ms").unwrap_err().contains("at least 1s"));
        assert!(parse_duration("soon").unwrap_err().contains("like 90s, 5m"));
        assert_eq!(readable(Duration::from_millis(280_400)), "4m 40s");
    }
}
