//! The command line over the alert state table: `silence add|list|remove` and `incidents`.
//! Which table and canary come from the flags, the environment or the config; the table work is
//! the alert store's; rendering (a readable table or JSON) is pure and tested here.

use crate::check::config::{self, defaults::DEFAULT_CANARY, env::process_env, Settings};
use crate::sinks::alert::dynamo::DynamoStore;
use crate::sinks::alert::message::human_duration;
use crate::sinks::alert::record::IncidentRecord;
use crate::sinks::alert::settings::DEFAULT_RETENTION_DAYS;
use crate::sinks::alert::silence::{Scope, Silence};
use crate::sinks::alert::store::{Store, StoreError};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

/// The longest silence `silence add` accepts (a longer quiet is a maintenance window, or a
/// target to remove from the config).
pub const MAX_SILENCE_DAYS: i64 = 90;

/// Why a state command could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum StateCommandError {
    /// The flags, environment or config do not say enough (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The table could not be read or written (exit 3).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The silence to remove does not exist (exit 1).
    #[error("no silence with id {0} (health-canary silence list shows them)")]
    NoSuchSilence(String),
}

/// Where the state lives: the table, the canary (its partition) and, when a config was given,
/// the configured target names (so a silence cannot name a target that does not exist).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateTarget {
    /// The DynamoDB table.
    pub table: String,
    /// The canary's name.
    pub canary: String,
    /// The configured targets, when a config was available.
    pub targets: Option<Vec<String>>,
}

/// Resolves the table and canary: flags (already applied to `settings`) win over the
/// environment, which wins over the config; a config, when one is given, also names the targets.
pub fn resolve(settings: &Settings) -> Result<StateTarget, StateCommandError> {
    let ov = &settings.overrides;
    let has_config =
        settings.config_file.is_some() || settings.config_json.is_some() || ov.url.is_some();
    let (canary, table, targets) = if has_config {
        let c = config::load(
            settings.config_file.as_deref(),
            settings.config_json.as_deref(),
            ov,
            &process_env,
        )
        .map_err(|e| StateCommandError::Usage(e.to_string()))?;
        let names = c.targets.iter().map(|t| t.name.clone()).collect();
        (c.canary, c.alerts.state_table, Some(names))
    } else {
        let canary = ov.canary.clone().unwrap_or_else(|| DEFAULT_CANARY.into());
        (canary, ov.state_table.clone(), None)
    };
    let table = table.ok_or_else(|| {
        StateCommandError::Usage(
            "no alert state table: give --table or CANARY_STATE_TABLE (the stack's \
             StateTableName output)"
                .into(),
        )
    })?;
    Ok(StateTarget {
        table,
        canary,
        targets,
    })
}

/// What `silence add` asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSilence {
    /// One target, or `None` for every target.
    pub target: Option<String>,
    /// How long, as written (`2h`, `90m`, `1d 12h`).
    pub duration: String,
    /// Why.
    pub reason: String,
    /// Who.
    pub by: String,
}

/// The silence `silence add` stores: from `now` for the given duration. Pure.
pub fn new_silence(
    ask: &NewSilence,
    now: DateTime<Utc>,
    targets: Option<&[String]>,
) -> Result<Silence, StateCommandError> {
    let length = parse_duration("--for", &ask.duration)?;
    if length < Duration::minutes(1) || length > Duration::days(MAX_SILENCE_DAYS) {
        return Err(StateCommandError::Usage(format!(
            "--for {}: a silence lasts from 1 minute to {MAX_SILENCE_DAYS} days",
            ask.duration
        )));
    }
    if ask.reason.trim().is_empty() {
        return Err(StateCommandError::Usage(
            "--reason: say why (it is shown to whoever looks at the silence)".into(),
        ));
    }
    let scope = match &ask.target {
        None => Scope::All,
        Some(t) => {
            if let Some(known) = targets.filter(|k| !k.contains(t)) {
                return Err(StateCommandError::Usage(format!(
                    "--target {t}: not a configured target (targets: {})",
                    known.join(", ")
                )));
            }
            Scope::Target(t.clone())
        }
    };
    Ok(Silence {
        id: Silence::id_for(now),
        scope,
        start: now,
        end: now + length,
        reason: ask.reason.trim().to_string(),
        created_by: ask.by.clone(),
    })
}

/// A duration as people write it (`2h`, `30m`, `7d`, `1h 30m`).
pub fn parse_duration(flag: &str, text: &str) -> Result<Duration, StateCommandError> {
    humantime::parse_duration(text.trim())
        .ok()
        .and_then(|d| Duration::from_std(d).ok())
        .ok_or_else(|| {
            StateCommandError::Usage(format!(
                "{flag} {text}: not a duration (write 2h, 30m, 7d or 1h 30m)"
            ))
        })
}

/// The store over the table the state target names.
pub async fn store(settings: &Settings, at: &StateTarget) -> DynamoStore {
    let aws = crate::aws::Aws::from_settings(settings);
    DynamoStore::new(
        aws.dynamodb().await.clone(),
        &at.table,
        Duration::days(DEFAULT_RETENTION_DAYS),
    )
}

/// Removes silence `id`.
pub async fn remove(store: &impl Store, canary: &str, id: &str) -> Result<(), StateCommandError> {
    if store.remove_silence(canary, id).await? {
        Ok(())
    } else {
        Err(StateCommandError::NoSuchSilence(id.to_string()))
    }
}

/// `active`, `scheduled` or `expired` at `now`.
fn silence_state(s: &Silence, now: DateTime<Utc>) -> &'static str {
    if now < s.start {
        "scheduled"
    } else if now < s.end {
        "active"
    } else {
        "expired"
    }
}

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Silences as a table (oldest start first) or JSON.
pub fn render_silences(silences: &[Silence], now: DateTime<Utc>, as_json: bool) -> String {
    let mut sorted: Vec<&Silence> = silences.iter().collect();
    sorted.sort_by_key(|s| (s.start, s.id.clone()));
    if as_json {
        let list: Vec<_> = sorted
            .iter()
            .map(|s| {
                json!({
                    "id": s.id,
                    "target": match &s.scope { Scope::All => None, Scope::Target(t) => Some(t) },
                    "start": s.start,
                    "end": s.end,
                    "state": silence_state(s, now),
                    "reason": s.reason,
                    "created_by": s.created_by,
                })
            })
            .collect();
        return format!("{:#}\n", json!(list));
    }
    if sorted.is_empty() {
        return "no silences\n".into();
    }
    let rows: Vec<Vec<String>> = sorted
        .iter()
        .map(|s| {
            vec![
                s.id.clone(),
                match &s.scope {
                    Scope::All => "(all targets)".into(),
                    Scope::Target(t) => t.clone(),
                },
                utc(s.start),
                utc(s.end),
                silence_state(s, now).into(),
                s.created_by.clone(),
                s.reason.clone(),
            ]
        })
        .collect();
    table(
        &["ID", "TARGET", "FROM", "UNTIL", "STATE", "BY", "REASON"],
        &rows,
    )
}

/// The incidents `incidents --since` shows: every open one, and those closed within `since`;
/// open first, then newest first.
pub fn recent(
    mut incidents: Vec<IncidentRecord>,
    now: DateTime<Utc>,
    since: Duration,
) -> Vec<IncidentRecord> {
    incidents.retain(|i| i.incident.ended.is_none_or(|end| end >= now - since));
    incidents.sort_by_key(|i| {
        (
            i.incident.ended.is_some(),
            std::cmp::Reverse(i.incident.started),
        )
    });
    incidents
}

/// Incidents as a table or JSON (durations of open incidents up to `now`).
pub fn render_incidents(incidents: &[IncidentRecord], now: DateTime<Utc>, as_json: bool) -> String {
    if as_json {
        let list: Vec<_> = incidents
            .iter()
            .map(|r| {
                let i = &r.incident;
                json!({
                    "target": r.target,
                    "started": i.started,
                    "opened": i.opened,
                    "ended": i.ended,
                    "open": i.ended.is_none(),
                    "duration_seconds": (i.ended.unwrap_or(now) - i.started).num_seconds(),
                    "announced": i.announced,
                    "notices_sent": i.notices_sent,
                })
            })
            .collect();
        return format!("{:#}\n", json!(list));
    }
    if incidents.is_empty() {
        return "no open or recent incidents\n".into();
    }
    let rows: Vec<Vec<String>> = incidents
        .iter()
        .map(|r| {
            let i = &r.incident;
            vec![
                r.target.clone(),
                utc(i.started),
                i.ended.map_or_else(|| "open".into(), utc),
                human_duration(i.started, i.ended.unwrap_or(now)),
                i.notices_sent.to_string(),
            ]
        })
        .collect();
    table(
        &["TARGET", "STARTED", "ENDED", "DURATION", "NOTICES"],
        &rows,
    )
}

/// Left-aligned columns two spaces apart, names made printable.
fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let clean: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| crate::check::text::printable(c)).collect())
        .collect();
    let widths: Vec<usize> = (0..head.len())
        .map(|i| {
            clean
                .iter()
                .map(|r| r[i].chars().count())
                .chain([head[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(head.to_vec());
    for r in &clean {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::alert::record::Incident;
    use chrono::TimeZone;

    fn at(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 8, 12, 0, 0).unwrap() + Duration::minutes(minutes)
    }

    fn ask(target: Option<&str>, duration: &str, reason: &str) -> NewSilence {
        NewSilence {
            target: target.map(Into::into),
            duration: duration.into(),
            reason: reason.into(),
            by: "ops".into(),
        }
    }

    #[test]
    fn a_new_silence_starts_now_and_lasts_as_long_as_asked() {
        let s = new_silence(&ask(Some("trading"), "2h", " deploy "), at(0), None).unwrap();
        assert_eq!(s.scope, Scope::Target("trading".into()));
        assert_eq!((s.start, s.end), (at(0), at(120)));
        assert_eq!(s.reason, "deploy");
        assert_eq!(s.id, "s1767873600000");
        let all = new_silence(&ask(None, "1h 30m", "db move"), at(0), None).unwrap();
        assert_eq!((all.scope, all.end), (Scope::All, at(90)));
    }

    #[test]
    fn a_bad_silence_request_says_what_to_fix() {
        let known = vec!["trading".to_string(), "billing".to_string()];
        let cases = [
            (ask(Some("trading"), "soon", "x"), "not a duration"),
            (ask(Some("trading"), "30s", "x"), "from 1 minute to 90 days"),
            (ask(Some("trading"), "91d", "x"), "from 1 minute to 90 days"),
            (ask(Some("trading"), "2h", "  "), "say why"),
            (
                ask(Some("tradng"), "2h", "x"),
                "not a configured target (targets: trading, billing)",
            ),
        ];
        for (a, want) in cases {
            let e = new_silence(&a, at(0), Some(&known))
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{a:?}: {e}");
        }
    }

    #[test]
    fn silences_render_as_a_table_with_their_state_or_as_json() {
        let s = |id: &str, from: i64, to: i64, scope: Scope| Silence {
            id: id.into(),
            scope,
            start: at(from),
            end: at(to),
            reason: "deploy\nnow".into(),
            created_by: "ops".into(),
        };
        let list = vec![
            s("s2", 60, 120, Scope::All),
            s("s1", -60, 30, Scope::Target("trading".into())),
            s("s0", -120, -60, Scope::All),
        ];
        let text = render_silences(&list, at(0), false);
        assert_eq!(
            text,
            "ID  TARGET         FROM                  UNTIL                 STATE      BY   REASON\n\
             s0  (all targets)  2026-01-08 10:00 UTC  2026-01-08 11:00 UTC  expired    ops  deploy now\n\
             s1  trading        2026-01-08 11:00 UTC  2026-01-08 12:30 UTC  active     ops  deploy now\n\
             s2  (all targets)  2026-01-08 13:00 UTC  2026-01-08 14:00 UTC  scheduled  ops  deploy now\n"
        );
        let doc: serde_json::Value =
            serde_json::from_str(&render_silences(&list, at(0), true)).unwrap();
        assert_eq!(doc[1]["target"], "trading");
        assert_eq!(doc[1]["state"], "active");
        assert_eq!(doc[0]["target"], serde_json::Value::Null);
        assert_eq!(render_silences(&[], at(0), false), "no silences\n");
    }

    #[test]
    fn incidents_list_open_ones_first_then_recent_closed_ones() {
        let i = |target: &str, start: i64, end: Option<i64>, sent: u32| IncidentRecord {
            target: target.into(),
            incident: Incident {
                started: at(start),
                opened: at(start),
                ended: end.map(at),
                announced: true,
                fail_queued: true,
                last_notified: None,
                notices_sent: sent,
            },
        };
        let all = vec![
            i("api", -600, Some(-590), 2),
            i("trading", -30, Some(-5), 2),
            i("billing", -95, None, 3),
            i("ancient", -20_000, Some(-19_000), 2),
        ];
        let shown = recent(all, at(0), Duration::days(7));
        let names: Vec<&str> = shown.iter().map(|r| r.target.as_str()).collect();
        assert_eq!(
            names,
            ["billing", "trading", "api"],
            "ancient ended 13 days ago"
        );
        let shown = recent(shown, at(0), Duration::hours(1));
        assert_eq!(shown.len(), 2, "open, and closed within the hour");
        assert_eq!(
            render_incidents(&shown, at(0), false),
            "TARGET   STARTED               ENDED                 DURATION    NOTICES\n\
             billing  2026-01-08 10:25 UTC  open                  1 h 35 min  3\n\
             trading  2026-01-08 11:30 UTC  2026-01-08 11:55 UTC  25 min      2\n"
        );
        let doc: serde_json::Value =
            serde_json::from_str(&render_incidents(&shown, at(0), true)).unwrap();
        assert_eq!(doc[0]["open"], true);
        assert_eq!(doc[0]["duration_seconds"], 95 * 60);
        assert_eq!(doc[1]["notices_sent"], 2);
    }
}
