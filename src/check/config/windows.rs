//! Validating `alerts.maintenance` (raw → typed weekly windows): weekdays, a local start time, a
//! length, a time zone from the IANA database, and the target it silences (every target when
//! none is named). Every problem is reported with its index.

use super::defaults::{MAX_WINDOWS, WINDOW_MINUTES_RANGE};
use super::problems::Problems;
use super::raw::RawWindow;
use crate::sinks::alert::silence::{MaintenanceWindow, Scope};
use chrono::{Duration, NaiveTime, Weekday};

/// Every window of `raw`, validated; `targets` are the configured target names.
pub(super) fn maintenance(
    raw: Vec<RawWindow>,
    targets: &[&str],
    p: &mut Problems,
) -> Vec<MaintenanceWindow> {
    if raw.len() > MAX_WINDOWS {
        p.push(
            "alerts.maintenance",
            format!("{} windows, at most {MAX_WINDOWS}", raw.len()),
        );
    }
    raw.into_iter()
        .enumerate()
        .filter_map(|(i, w)| window(i, w, targets, p))
        .collect()
}

/// One window, or `None` with its problems recorded.
fn window(
    i: usize,
    raw: RawWindow,
    targets: &[&str],
    p: &mut Problems,
) -> Option<MaintenanceWindow> {
    let field = |name: &str| format!("alerts.maintenance[{i}].{name}");
    let before = p.len();
    let days: Vec<Weekday> = raw
        .days
        .iter()
        .filter_map(|d| match d.trim().parse::<Weekday>() {
            Ok(day) => Some(day),
            Err(_) => {
                p.push(
                    &field("days"),
                    format!("'{d}' is not a weekday (mon, tue, … or monday, tuesday, …)"),
                );
                None
            }
        })
        .collect();
    if raw.days.is_empty() {
        p.push(&field("days"), "list at least one weekday");
    }
    let start = NaiveTime::parse_from_str(raw.start.trim(), "%H:%M")
        .map_err(|_| {
            p.push(
                &field("start"),
                format!("'{}' is not a local time as HH:MM (24 h)", raw.start),
            )
        })
        .ok();
    p.check_range(
        &field("duration_minutes"),
        &raw.duration_minutes,
        &WINDOW_MINUTES_RANGE,
    );
    let zone_name = raw.time_zone.as_deref().unwrap_or("UTC");
    let zone = zone_name
        .parse::<chrono_tz::Tz>()
        .map_err(|_| {
            p.push(
                &field("time_zone"),
                format!("'{zone_name}' is not an IANA time zone (e.g. Europe/Berlin, UTC)"),
            )
        })
        .ok();
    let scope = match raw.target {
        None => Scope::All,
        Some(t) => {
            if !targets.contains(&t.as_str()) {
                p.push(
                    &field("target"),
                    format!("'{t}' is not a configured target name"),
                );
            }
            Scope::Target(t)
        }
    };
    if p.len() > before {
        return None;
    }
    let length = Duration::minutes(i64::from(raw.duration_minutes));
    // Both checked above: a start and a zone were parsed, the days and length are in range.
    MaintenanceWindow::new(scope, days, start?, length, zone?).ok()
}
