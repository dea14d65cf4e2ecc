//! Silences: ad-hoc silences (one target or all, from a start to an end, with a reason and who
//! added it) and weekly maintenance windows in a named time zone. Pure: `now` is passed in.

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

/// The longest maintenance window: one week (a window covers at most every day once).
pub const MAX_WINDOW: Duration = Duration::days(7);

/// What a silence or window applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every target of the canary.
    All,
    /// One target, by its configured name.
    Target(String),
}

impl Scope {
    /// Whether this scope covers `target`.
    pub fn covers(&self, target: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Target(t) => t == target,
        }
    }

    /// The stored form: `*` for all targets, else the target name.
    pub fn as_stored(&self) -> &str {
        match self {
            Scope::All => "*",
            Scope::Target(t) => t,
        }
    }

    /// Reads the stored form back (`*` is every target).
    pub fn from_stored(s: &str) -> Scope {
        if s == "*" {
            Scope::All
        } else {
            Scope::Target(s.to_string())
        }
    }
}

/// An ad-hoc silence, as added by `health-canary silence add`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Silence {
    /// Unique within the canary (see [`Silence::id_for`]).
    pub id: String,
    /// The targets it silences.
    pub scope: Scope,
    /// When it starts silencing.
    pub start: DateTime<Utc>,
    /// When it stops silencing (exclusive).
    pub end: DateTime<Utc>,
    /// Why, as the operator wrote it.
    pub reason: String,
    /// Who added it.
    pub created_by: String,
}

impl Silence {
    /// Whether it silences `target` at `now`.
    pub fn silences(&self, target: &str, now: DateTime<Utc>) -> bool {
        self.scope.covers(target) && self.start <= now && now < self.end
    }

    /// An id for a silence added at `now`: sortable by creation time, unique unless two are
    /// added in the same millisecond (the store refuses a duplicate id rather than overwrite).
    pub fn id_for(now: DateTime<Utc>) -> String {
        format!("s{}", now.timestamp_millis())
    }
}

/// Why a maintenance window is invalid.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WindowError {
    /// No weekday given.
    #[error("a maintenance window needs at least one weekday")]
    NoDays,
    /// Zero, negative or longer than a week.
    #[error("a maintenance window lasts from 1 minute to 7 days, not {minutes} minutes")]
    Length {
        /// The length asked for.
        minutes: i64,
    },
}

/// A weekly maintenance window: on each of `days`, from `start` local time in `zone`, for
/// `length`. Local time follows daylight saving; a start that does not exist on a spring-forward
/// day begins at the first valid minute after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaintenanceWindow {
    /// The targets it silences.
    pub scope: Scope,
    /// The weekdays it starts on (local).
    pub days: Vec<Weekday>,
    /// The local start time.
    pub start: NaiveTime,
    /// How long it lasts (1 minute to 7 days).
    pub length: Duration,
    /// The time zone `start` and `days` are read in.
    pub zone: Tz,
}

impl MaintenanceWindow {
    /// A validated window.
    pub fn new(
        scope: Scope,
        days: Vec<Weekday>,
        start: NaiveTime,
        length: Duration,
        zone: Tz,
    ) -> Result<MaintenanceWindow, WindowError> {
        if days.is_empty() {
            return Err(WindowError::NoDays);
        }
        if length < Duration::minutes(1) || length > MAX_WINDOW {
            return Err(WindowError::Length {
                minutes: length.num_minutes(),
            });
        }
        Ok(MaintenanceWindow {
            scope,
            days,
            start,
            length,
            zone,
        })
    }

    /// Whether the window silences `target` at `now`.
    pub fn silences(&self, target: &str, now: DateTime<Utc>) -> bool {
        self.scope.covers(target) && self.covers(now)
    }

    /// Whether `now` falls inside one of the window's weekly occurrences.
    pub fn covers(&self, now: DateTime<Utc>) -> bool {
        let today = now.with_timezone(&self.zone).date_naive();
        // An occurrence that covers now started at most a week ago (the longest window).
        (0..=7).any(|back| {
            let day = today - Duration::days(back);
            self.days.contains(&day.weekday())
                && self
                    .start_on(day)
                    .is_some_and(|start| start <= now && now < start + self.length)
        })
    }

    /// The UTC instant the occurrence on local date `day` starts.
    fn start_on(&self, day: chrono::NaiveDate) -> Option<DateTime<Utc>> {
        let local = day.and_time(self.start);
        // Ambiguous (autumn): the first of the two instants. Missing (spring gap, at most an hour
        // in every zone that has one): the first quarter hour after it that exists.
        (0..=4).find_map(|q| {
            self.zone
                .from_local_datetime(&(local + Duration::minutes(15 * q)))
                .earliest()
                .map(|t| t.with_timezone(&Utc))
        })
    }
}

/// Whether `target` is silenced at `now` by an ad-hoc silence or a maintenance window.
pub fn is_silenced(
    target: &str,
    now: DateTime<Utc>,
    silences: &[Silence],
    windows: &[MaintenanceWindow],
) -> bool {
    silences.iter().any(|s| s.silences(target, now))
        || windows.iter().any(|w| w.silences(target, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn sunday_night(zone: Tz) -> MaintenanceWindow {
        MaintenanceWindow::new(
            Scope::All,
            vec![Weekday::Sun],
            NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
            Duration::hours(3),
            zone,
        )
        .unwrap()
    }

    #[test]
    fn weekly_window_covers_its_local_hours_across_midnight() {
        let w = sunday_night(chrono_tz::Europe::Berlin);
        // 2026-01-11 is a Sunday; Berlin is UTC+1 in January: 22:00 local = 21:00 UTC.
        assert!(!w.covers(utc(2026, 1, 11, 20, 59)));
        assert!(w.covers(utc(2026, 1, 11, 21, 0)));
        assert!(w.covers(utc(2026, 1, 11, 23, 59)), "past local midnight");
        assert!(!w.covers(utc(2026, 1, 12, 0, 0)), "the end is exclusive");
        assert!(!w.covers(utc(2026, 1, 18, 20, 0)));
        assert!(w.covers(utc(2026, 1, 18, 21, 30)), "and again a week later");
    }

    #[test]
    fn weekly_window_follows_daylight_saving() {
        let w = sunday_night(chrono_tz::Europe::Berlin);
        // 2026-07-05 is a Sunday; Berlin is UTC+2 in July: 22:00 local = 20:00 UTC.
        assert!(w.covers(utc(2026, 7, 5, 20, 0)));
        assert!(!w.covers(utc(2026, 7, 5, 23, 0)));
    }

    #[test]
    fn window_starting_in_the_spring_gap_begins_after_it() {
        // 2026-03-08 (Sunday): New York skips 02:00-03:00.
        let w = MaintenanceWindow::new(
            Scope::All,
            vec![Weekday::Sun],
            NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
            Duration::hours(1),
            chrono_tz::America::New_York,
        )
        .unwrap();
        // 03:00 EDT = 07:00 UTC is the first instant after the gap.
        assert!(!w.covers(utc(2026, 3, 8, 6, 59)));
        assert!(w.covers(utc(2026, 3, 8, 7, 0)));
    }

    #[test]
    fn rejects_a_window_without_days_or_longer_than_a_week() {
        let t = NaiveTime::from_hms_opt(0, 0, 0).unwrap();
        let z = chrono_tz::UTC;
        assert_eq!(
            MaintenanceWindow::new(Scope::All, vec![], t, Duration::hours(1), z),
            Err(WindowError::NoDays)
        );
        assert_eq!(
            MaintenanceWindow::new(Scope::All, vec![Weekday::Mon], t, Duration::days(8), z),
            Err(WindowError::Length {
                minutes: 8 * 24 * 60
            })
        );
    }

    #[test]
    fn silence_covers_its_target_between_start_and_end_only() {
        let s = Silence {
            id: Silence::id_for(utc(2026, 1, 8, 12, 0)),
            scope: Scope::Target("trading".into()),
            start: utc(2026, 1, 8, 12, 0),
            end: utc(2026, 1, 8, 14, 0),
            reason: "deploy".into(),
            created_by: "ops".into(),
        };
        assert!(s.silences("trading", utc(2026, 1, 8, 12, 0)));
        assert!(!s.silences("trading", utc(2026, 1, 8, 14, 0)));
        assert!(!s.silences("billing", utc(2026, 1, 8, 13, 0)));
        assert!(is_silenced(
            "trading",
            utc(2026, 1, 8, 13, 0),
            std::slice::from_ref(&s),
            &[]
        ));
        assert!(!is_silenced("billing", utc(2026, 1, 8, 13, 0), &[s], &[]));
        assert_eq!(Scope::from_stored("*"), Scope::All);
        assert_eq!(
            Scope::from_stored(Scope::Target("a".into()).as_stored()),
            Scope::Target("a".into())
        );
    }
}
