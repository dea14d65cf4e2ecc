//! The per-target alert policy, pure: `(previous state, this run's observation, check time,
//! settings, silenced?) → (next state, notices to queue)`. No I/O, no clock.

use crate::check::report::{Status, TargetResult};
use crate::sinks::alert::record::{Incident, NoticeDetail, NoticeKind, TargetState};
use crate::sinks::alert::settings::{Settings, REMINDER_SLACK_SECONDS};
use chrono::{DateTime, Duration, Utc};

/// What one run saw of one target, as the policy needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    /// The target pages: a critical target judged FAIL.
    pub failing: bool,
    /// The target warns: WARN, or a non-critical target's FAIL.
    pub warning: bool,
    /// What a notice about this run says.
    pub detail: NoticeDetail,
}

impl Observation {
    /// The observation of one judged target.
    pub fn of(target: &TargetResult) -> Observation {
        let contribution = target.overall_contribution();
        Observation {
            failing: contribution == Status::Fail,
            warning: contribution == Status::Warn,
            detail: NoticeDetail::of(target),
        }
    }
}

/// The outcome of applying one run: the next state and the notices it makes due, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    /// The state the next run starts from.
    pub state: TargetState,
    /// Notices to queue, in the order they must be delivered.
    pub notices: Vec<NoticeKind>,
}

/// Applies one run to a target's state. `None` when the run is not newer than the last one
/// applied (a late, duplicate or clock-skewed run): state never moves backwards.
///
/// Silenced runs move the state but queue nothing except the RESOLVED of an incident whose
/// opening page was queued (the sender holds it until the silence ends). An incident opened
/// while silenced pages at the first unsilenced failing run.
pub fn decide(
    prev: &TargetState,
    obs: &Observation,
    at: DateTime<Utc>,
    settings: &Settings,
    silenced: bool,
) -> Option<Transition> {
    if prev.last_checked.is_some_and(|last| last >= at) {
        return None;
    }
    let mut s = prev.clone();
    let mut notices = Vec::new();
    s.last_checked = Some(at);
    if prev.failing.is_some_and(|was| was != obs.failing) {
        s.changes.push(at);
    }
    s.failing = Some(obs.failing);
    if obs.failing {
        s.failing_runs = s.failing_runs.saturating_add(1);
        s.passing_runs = 0;
        s.streak_start.get_or_insert(at);
    } else {
        s.passing_runs = s.passing_runs.saturating_add(1);
        s.failing_runs = 0;
        s.streak_start = None;
    }
    flapping(&mut s, at, settings, silenced, &mut notices);
    if !s.flapping {
        steady(&mut s, obs.failing, at, settings, silenced, &mut notices);
    }
    warn(&mut s, obs.warning, settings, silenced, &mut notices);
    Some(Transition { state: s, notices })
}

/// Updates the flapping episode: starts it when the window holds enough changes (queuing one
/// FLAPPING and opening an incident if none is open), ends it when the window holds none.
fn flapping(
    s: &mut TargetState,
    at: DateTime<Utc>,
    settings: &Settings,
    silenced: bool,
    notices: &mut Vec<NoticeKind>,
) {
    let Some(f) = settings.flapping else {
        s.changes.clear();
        s.flapping = false;
        s.flap_notified = false;
        return;
    };
    s.changes.retain(|t| *t > at - f.window);
    if s.flapping && s.changes.is_empty() {
        // Settled: no change for a whole window; the steady rules say FAIL or RESOLVED.
        s.flapping = false;
        s.flap_notified = false;
    } else if !s.flapping && s.changes.len() >= f.changes.max(2) as usize {
        s.flapping = true;
    }
    if !s.flapping {
        return;
    }
    // The episode starts at its first change after the previous incident ended (incidents of
    // one target never share a start: the start is their id).
    let after = s.last_closed.as_ref().and_then(|i| i.ended);
    let started = s
        .changes
        .iter()
        .copied()
        .find(|t| after.is_none_or(|end| *t > end))
        .unwrap_or(at);
    let incident = s
        .incident
        .get_or_insert_with(|| Incident::open(started, at));
    if !s.flap_notified && !silenced {
        notices.push(NoticeKind::Flapping);
        s.flap_notified = true;
        incident.announced = true;
        incident.last_notified = Some(at);
    }
}

/// The rules outside a flapping episode: FAIL at the threshold, REMINDERs while open,
/// RESOLVED after the recovery threshold.
fn steady(
    s: &mut TargetState,
    failing: bool,
    at: DateTime<Utc>,
    settings: &Settings,
    silenced: bool,
    notices: &mut Vec<NoticeKind>,
) {
    if failing {
        if s.incident.is_none() && s.failing_runs >= settings.failure_threshold() {
            s.incident = Some(Incident::open(s.streak_start.unwrap_or(at), at));
        }
        let Some(incident) = s.incident.as_mut() else {
            return;
        };
        if silenced {
            return;
        }
        if !incident.fail_queued {
            notices.push(NoticeKind::Fail);
            incident.fail_queued = true;
            incident.announced = true;
            incident.last_notified = Some(at);
        } else if reminder_due(incident.last_notified, at, settings.reminder) {
            notices.push(NoticeKind::Reminder);
            incident.last_notified = Some(at);
        }
        return;
    }
    if s.incident.is_some() && s.passing_runs >= settings.recovery_threshold() {
        if let Some(mut incident) = s.incident.take() {
            incident.ended = Some(at);
            if incident.announced {
                notices.push(NoticeKind::Resolved);
            }
            s.last_closed = Some(incident);
        }
    }
}

/// One WARN notice per warning period, with `notify_warn`; a RESOLVED queued by the same run
/// already says the target is warning, so it counts as the WARN notice.
fn warn(
    s: &mut TargetState,
    warning: bool,
    settings: &Settings,
    silenced: bool,
    notices: &mut Vec<NoticeKind>,
) {
    if !warning {
        s.warn_notified = false;
        return;
    }
    if s.warn_notified || silenced {
        return;
    }
    if notices.contains(&NoticeKind::Resolved) {
        s.warn_notified = true;
    } else if settings.notify_warn {
        notices.push(NoticeKind::Warn);
        s.warn_notified = true;
    }
}

impl Incident {
    /// A new incident, not yet announced.
    pub fn open(started: DateTime<Utc>, opened: DateTime<Utc>) -> Incident {
        Incident {
            started,
            opened,
            ended: None,
            announced: false,
            fail_queued: false,
            last_notified: None,
            notices_sent: 0,
        }
    }
}

/// Whether a reminder is due: reminders are on and the last notice is at least one interval
/// old (less the scheduler slack).
fn reminder_due(last: Option<DateTime<Utc>>, at: DateTime<Utc>, every: Option<Duration>) -> bool {
    match (every, last) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(every), Some(last)) => at - last >= every - Duration::seconds(REMINDER_SLACK_SECONDS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::alert::settings::Flapping;
    use chrono::TimeZone;
    use NoticeKind::{Fail as KF, Flapping as KP, Reminder as KR, Resolved as KS, Warn as KW};

    /// Run outcomes: F failing, P passing, W warning; lower case: silenced.
    fn runs(settings: &Settings, script: &str) -> Vec<Vec<NoticeKind>> {
        let mut s = TargetState::default();
        let start = Utc.with_ymd_and_hms(2026, 1, 8, 12, 0, 0).unwrap();
        script
            .chars()
            .enumerate()
            .map(|(i, c)| {
                let obs = Observation {
                    failing: c.eq_ignore_ascii_case(&'F'),
                    warning: c.eq_ignore_ascii_case(&'W'),
                    detail: NoticeDetail {
                        status: Status::Pass,
                        reason: None,
                        components: vec![],
                        more: 0,
                    },
                };
                let at = start + Duration::minutes(5 * i as i64);
                let t = decide(&s, &obs, at, settings, c.is_ascii_lowercase()).unwrap();
                s = t.state;
                t.notices
            })
            .collect()
    }

    fn settings(ft: u32, rt: u32, reminder: Option<i64>, flap: Option<(i64, u32)>) -> Settings {
        Settings {
            failure_threshold: ft,
            recovery_threshold: rt,
            reminder: reminder.map(Duration::minutes),
            notify_warn: true,
            flapping: flap.map(|(w, c)| Flapping {
                window: Duration::minutes(w),
                changes: c,
            }),
            ..Settings::default()
        }
    }

    /// The notices of each run, flattened to one letter per run (`.` for none).
    fn letters(got: &[Vec<NoticeKind>]) -> String {
        got.iter()
            .map(|n| match n.as_slice() {
                [] => '.',
                [KF] => 'F',
                [KR] => 'R',
                [KS] => 'S',
                [KW] => 'W',
                [KP] => 'X',
                _ => '*',
            })
            .collect()
    }

    #[test]
    fn sends_the_expected_notices_for_each_sequence() {
        let cases: &[(&str, Settings, &str, &str)] = &[
            (
                "defaults keep v1: one FAIL, one RESOLVED",
                settings(1, 1, Some(60), None),
                "PFFPP",
                ".F.S.",
            ),
            (
                "failure threshold 3",
                settings(3, 1, None, None),
                "FFPFFFF",
                ".....F.",
            ),
            (
                "recovery threshold 2 ignores one good run",
                settings(1, 2, None, None),
                "FPFPPF",
                "F...SF",
            ),
            (
                "reminders every 15 minutes",
                settings(1, 1, Some(15), None),
                "FFFFFFF",
                "F..R..R",
            ),
            (
                "a warning is noticed once per period",
                settings(1, 1, None, None),
                "PWWPW",
                ".W..W",
            ),
            (
                "RESOLVED into WARN counts as the WARN",
                settings(1, 1, None, None),
                "FWW",
                "FS.",
            ),
            (
                "silenced failure pages when the silence ends",
                settings(1, 1, None, None),
                "ffFF",
                "..F.",
            ),
            (
                "incident inside a silence sends nothing",
                settings(1, 1, None, None),
                "fppP",
                "....",
            ),
            (
                "RESOLVED is queued during a silence (held by the sender)",
                settings(1, 1, None, None),
                "Fpp",
                "FS.",
            ),
            (
                "flapping: one FLAPPING then quiet",
                settings(1, 1, None, Some((60, 5))),
                "FPFPFPFPFP",
                "FSFSFX....",
            ),
        ];
        for (what, s, script, want) in cases {
            assert_eq!(letters(&runs(s, script)), *want, "{what}");
        }
    }

    #[test]
    fn flapping_settles_into_resolved_or_fail_after_a_quiet_window() {
        let s = settings(1, 1, None, Some((20, 4)));
        // Four changes within 20 minutes: FLAPPING; settled once 20 minutes pass without one.
        let healthy = letters(&runs(&s, "FPFPFPPPPPP"));
        assert_eq!(healthy, "FSFSX....S.", "settles healthy: RESOLVED");
        let failing = letters(&runs(&s, "PFPFPFFFFFF"));
        assert_eq!(
            failing, ".FSFX......",
            "settles failing: the FAIL was sent, nothing new"
        );
        // An incident opened by FLAPPING gets its FAIL when it settles failing.
        let s = settings(3, 1, None, Some((20, 4)));
        assert_eq!(letters(&runs(&s, "FPFPFFFFFF")), "....X...F.");
    }

    #[test]
    fn a_run_not_newer_than_the_last_applied_changes_nothing() {
        let s = Settings::default();
        let obs = Observation {
            failing: true,
            warning: false,
            detail: NoticeDetail {
                status: Status::Fail,
                reason: None,
                components: vec![],
                more: 0,
            },
        };
        let at = Utc.with_ymd_and_hms(2026, 1, 8, 12, 0, 0).unwrap();
        let t = decide(&TargetState::default(), &obs, at, &s, false).unwrap();
        assert_eq!(t.notices, vec![KF]);
        assert_eq!(decide(&t.state, &obs, at, &s, false), None, "duplicate");
        assert_eq!(
            decide(&t.state, &obs, at - Duration::seconds(1), &s, false),
            None,
            "late"
        );
    }
}
