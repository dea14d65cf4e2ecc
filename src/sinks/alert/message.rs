//! Alert rendering: one notice and the report → subject (one ASCII line, ≤ 100 chars), a plain
//! text email readable on a phone, and an SMS (≤ 140 ASCII chars). Pure; names and reasons from
//! the watched service are treated as hostile (control characters stripped, lengths bounded).

use crate::check::report::{measurements_text, ComponentResult, Report, Status, TargetResult};
use crate::check::text::{ascii, printable};
use crate::sinks::alert::policy::{Kind, Notice};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// SNS's limit on an email subject.
pub const SUBJECT_MAX: usize = 100;
/// The SMS budget: one 140-byte ASCII segment, so a message is never split or re-encoded.
pub const SMS_MAX: usize = 140;
/// How many measurements of one component the email lists.
const MEASUREMENTS_SHOWN: usize = 8;

/// Troubleshooting hints: target name → component name → hint (from `Target.hints`).
pub type Hints = BTreeMap<String, BTreeMap<String, String>>;

/// A rendered alert, ready for SNS `Publish` with `MessageStructure=json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// What it announces; its word is the `severity` attribute.
    pub kind: Kind,
    /// The canary name (the `canary` attribute).
    pub canary: String,
    /// One ASCII line, at most 100 characters.
    pub subject: String,
    /// Plain text for email (also the `default` for other protocols).
    pub email: String,
    /// At most 140 ASCII characters.
    pub sms: String,
}

impl Message {
    /// The JSON document for `MessageStructure=json`: `default`, `email` and `sms` keys.
    pub fn structured(&self) -> String {
        serde_json::json!({
            "default": self.email,
            "email": self.email,
            "sms": self.sms,
        })
        .to_string()
    }
}

/// One thing that is not healthy, as the subject and SMS name it.
struct Item {
    label: String,
    reason: Option<String>,
}

/// Renders a notice about `report` into subject, email and SMS.
pub fn render(notice: &Notice, report: &Report, hints: &Hints) -> Message {
    let canary = ascii(&report.canary, 40);
    let at = report.checked_at;
    let items = items(notice.kind, report);
    let duration = notice.since.map(|s| human_duration(s, at));

    let (subject_head, sms_head) = match notice.kind {
        Kind::Fail => (format!("[FAIL] {canary}: "), format!("FAIL {canary}: ")),
        Kind::Warn => (format!("[WARN] {canary}: "), format!("WARN {canary}: ")),
        Kind::Reminder => {
            let d = duration.clone().unwrap_or_else(|| "a while".into());
            (
                format!("[REMINDER] {canary} failing {d}: "),
                format!("REMINDER {canary} failing {d}: "),
            )
        }
        Kind::Resolved => {
            let back = if report.status == Status::Pass {
                "all components back to PASS"
            } else {
                "no critical FAIL left"
            };
            let after = duration
                .as_ref()
                .map(|d| format!(" after {d}"))
                .unwrap_or_default();
            let line = format!("[RESOLVED] {canary}: {back}{after}");
            (line.clone(), format!("RESOLVED {canary}: {back}{after}"))
        }
    };

    let subject = if notice.kind == Kind::Resolved {
        fit(&subject_head, &[], SUBJECT_MAX)
    } else {
        let labels: Vec<String> = items.iter().map(|i| i.label.clone()).collect();
        fit(&subject_head, &labels, SUBJECT_MAX)
    };

    let time = format!(" {}Z", at.format("%H:%M"));
    let sms = if notice.kind == Kind::Resolved {
        fit(&sms_head, &[], SMS_MAX - time.len()) + &time
    } else {
        let parts: Vec<String> = items
            .iter()
            .map(|i| match &i.reason {
                Some(r) => format!("{}({})", i.label, ascii(r, 24)),
                None => i.label.clone(),
            })
            .collect();
        fit(&sms_head, &parts, SMS_MAX - time.len()) + &time
    };

    Message {
        kind: notice.kind,
        canary: report.canary.clone(),
        subject,
        email: email(notice, report, hints, &items, duration.as_deref()),
        sms,
    }
}

/// The unhealthy things a notice of this kind names: failing ones for FAIL/REMINDER, warning
/// ones for WARN and RESOLVED. A target with no unhealthy component is named itself.
fn items(kind: Kind, report: &Report) -> Vec<Item> {
    let wanted = match kind {
        Kind::Fail | Kind::Reminder => Status::Fail,
        Kind::Warn | Kind::Resolved => Status::Warn,
    };
    let several = report.targets.len() > 1;
    let mut out = Vec::new();
    // Paging targets first: a critical FAIL is what the notice is about.
    let mut targets: Vec<&TargetResult> = report.targets.iter().collect();
    targets.sort_by_key(|t| std::cmp::Reverse(t.overall_contribution()));
    for t in targets {
        // A non-critical target's FAIL is WARN-level: it never pages.
        let effective = |s: Status| {
            if !t.critical && s == Status::Fail {
                Status::Warn
            } else {
                s
            }
        };
        if t.overall_contribution() != wanted {
            continue;
        }
        let bad: Vec<&ComponentResult> = t
            .components
            .iter()
            .filter(|c| effective(c.status) == wanted)
            .collect();
        if bad.is_empty() {
            out.push(Item {
                label: ascii(&t.name, 40),
                reason: t.reason.clone(),
            });
        }
        for c in bad {
            let label = if several {
                format!("{}/{}", ascii(&t.name, 30), ascii(&c.name, 40))
            } else {
                ascii(&c.name, 40)
            };
            out.push(Item {
                label,
                reason: c.reason.clone(),
            });
        }
    }
    out
}

/// `head` followed by as many `parts` as fit in `max` characters, then `+N more`.
fn fit(head: &str, parts: &[String], max: usize) -> String {
    let mut out = truncate(head, max);
    for (i, p) in parts.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        let rest = parts.len() - i - 1;
        let more = if rest > 0 {
            format!(" +{rest} more")
        } else {
            String::new()
        };
        if out.len() + sep.len() + p.len() + more.len() <= max {
            out.push_str(sep);
            out.push_str(p);
        } else {
            let more = format!(" +{} more", parts.len() - i);
            if out.len() + more.len() <= max {
                out.push_str(&more);
            }
            break;
        }
    }
    out.trim_end_matches([' ', ':']).to_string()
}

/// `text` cut to `max` bytes (it is ASCII here).
fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// `25 min`, `1 h 5 min`, `2 d 3 h`.
pub fn human_duration(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let mins = (to - from).num_minutes().max(0);
    match mins {
        m if m < 60 => format!("{m} min"),
        m if m < 24 * 60 => format!("{} h {} min", m / 60, m % 60),
        m => format!("{} d {} h", m / (24 * 60), (m / 60) % 24),
    }
}

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The email body: headline, times, then every target and component, unhealthy first.
fn email(
    notice: &Notice,
    report: &Report,
    hints: &Hints,
    items: &[Item],
    duration: Option<&str>,
) -> String {
    let mut out = String::new();
    let canary = printable(&report.canary);
    let names: Vec<&str> = items.iter().map(|i| i.label.as_str()).collect();
    // Writing to a String cannot fail; the results are ignored for that reason.
    let _ = match notice.kind {
        Kind::Fail => writeln!(out, "FAIL - {canary}\nFailing: {}", names.join(", ")),
        Kind::Reminder => writeln!(
            out,
            "REMINDER - {canary} still failing\nFailing: {}",
            names.join(", ")
        ),
        Kind::Warn => writeln!(out, "WARN - {canary}\nWarning: {}", names.join(", ")),
        Kind::Resolved => writeln!(
            out,
            "RESOLVED - {canary}\nNo critical target or component is failing any more.{}",
            if names.is_empty() {
                String::new()
            } else {
                format!("\nStill warning: {}", names.join(", "))
            }
        ),
    };
    let _ = writeln!(out, "\nChecked:  {}", utc(report.checked_at));
    if let Some(since) = notice.since {
        let label = if notice.kind == Kind::Resolved {
            "Lasted"
        } else {
            "Failing for"
        };
        let _ = writeln!(out, "Incident: since {}", utc(since));
        if let Some(d) = duration {
            let _ = writeln!(out, "{label}: {d}");
        }
    }
    let _ = writeln!(out, "Overall:  {}", report.status);
    if let Some(caveat) = notice.caveat {
        let _ = writeln!(out, "\nNote: {caveat}.");
    }

    let mut targets: Vec<&TargetResult> = report.targets.iter().collect();
    targets.sort_by_key(|t| std::cmp::Reverse(t.status));
    let none = BTreeMap::new();
    for t in targets {
        let target_hints = hints.get(&t.name).unwrap_or(&none);
        let _ = writeln!(
            out,
            "\n== {} - {}{}",
            printable(&t.name),
            t.status,
            if t.critical { "" } else { " (not critical)" }
        );
        let _ = writeln!(out, "URL: {}", printable(&t.url));
        let facts = t.facts();
        if !facts.is_empty() {
            let _ = writeln!(out, "{facts}");
        }
        if let Some(r) = &t.reason {
            let _ = writeln!(out, "Reason: {}", printable(r));
        }
        if let Some(h) = target_hints.get(&t.name) {
            if t.status != Status::Pass {
                let _ = writeln!(out, "Hint: {}", printable(h));
            }
        }
        let mut comps: Vec<&ComponentResult> = t.components.iter().collect();
        comps.sort_by_key(|c| std::cmp::Reverse(c.status));
        for c in comps {
            let _ = writeln!(out, "\n  {} {}", c.status, printable(&c.name));
            if let Some(r) = &c.reason {
                let _ = writeln!(out, "    Reason: {}", printable(r));
            }
            if !c.measurements.is_empty() {
                let shown = &c.measurements[..c.measurements.len().min(MEASUREMENTS_SHOWN)];
                let more = c.measurements.len().saturating_sub(MEASUREMENTS_SHOWN);
                let tail = if more > 0 {
                    format!(" (+{more} more)")
                } else {
                    String::new()
                };
                let _ = writeln!(out, "    {}{tail}", measurements_text(shown));
            }
            if c.status != Status::Pass {
                if let Some(h) = target_hints.get(&c.name) {
                    let _ = writeln!(out, "    Hint: {}", printable(h));
                }
            }
        }
        let bad: Vec<_> = t
            .conditions
            .iter()
            .filter(|c| c.status != Status::Pass)
            .collect();
        if !bad.is_empty() {
            let _ = writeln!(out, "\n  Conditions not met:");
            for c in bad {
                let observed = c
                    .observed
                    .as_ref()
                    .map(|v| format!(" (observed {})", printable(&v.to_string())))
                    .unwrap_or_default();
                let _ = writeln!(out, "  {} {}{observed}", c.status, printable(&c.expression));
                if let Some(r) = &c.reason {
                    let _ = writeln!(out, "    {}", printable(r));
                }
            }
        }
    }
    let _ = writeln!(
        out,
        "\n-- health-canary {} at {}",
        printable(&report.canary),
        utc(report.checked_at)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::report::Status::{Fail as F, Pass as P, Warn as W};
    use crate::sinks::alert::testing::{at, component, report, target};

    fn notice(kind: Kind, since: Option<DateTime<Utc>>) -> Notice {
        Notice {
            kind,
            since,
            caveat: None,
        }
    }

    fn seed_report(when: DateTime<Utc>) -> Report {
        Report::new(
            "prod-trading".into(),
            when,
            vec![target(
                "trading",
                true,
                vec![
                    component("market_data", F, Some("stale 33")),
                    component("signal_monitor", F, Some("not running")),
                    component("telegram", P, None),
                    component("trade_system", W, Some("open orders over max")),
                ],
            )],
        )
    }

    fn hints() -> Hints {
        let mut h = Hints::new();
        h.entry("trading".into()).or_default().insert(
            "market_data".into(),
            "Restart market updater: docker compose --profile aws restart market-updater-aws"
                .into(),
        );
        h.entry("trading".into())
            .or_default()
            .insert("telegram".into(), "Check TELEGRAM_BOT_TOKEN".into());
        h
    }

    fn is_clean_ascii(s: &str) -> bool {
        s.chars().all(|c| c.is_ascii() && !c.is_ascii_control())
    }

    #[test]
    fn renders_subject_and_sms_for_each_kind() {
        let r = seed_report(at(5));
        let cases = [
            (
                notice(Kind::Fail, Some(at(5))),
                "[FAIL] prod-trading: market_data, signal_monitor",
                "FAIL prod-trading: market_data(stale 33), signal_monitor(not running) 12:05Z",
            ),
            (
                notice(Kind::Reminder, Some(at(-60))),
                "[REMINDER] prod-trading failing 1 h 5 min: market_data, signal_monitor",
                "REMINDER prod-trading failing 1 h 5 min: market_data(stale 33), signal_monitor(not running) 12:05Z",
            ),
        ];
        for (n, subject, sms) in cases {
            let m = render(&n, &r, &hints());
            assert_eq!(m.subject, subject);
            assert_eq!(m.sms, sms);
            assert_eq!(m.kind, n.kind);
        }
        let m = render(&notice(Kind::Warn, None), &report(W, at(5)), &hints());
        assert_eq!(m.subject, "[WARN] prod-trading: market_data");
        assert_eq!(
            m.sms,
            "WARN prod-trading: market_data(some symbols stale) 12:05Z"
        );
        let m = render(
            &notice(Kind::Resolved, Some(at(-20))),
            &report(P, at(5)),
            &hints(),
        );
        assert_eq!(
            m.subject,
            "[RESOLVED] prod-trading: all components back to PASS after 25 min"
        );
        assert_eq!(
            m.sms,
            "RESOLVED prod-trading: all components back to PASS after 25 min 12:05Z"
        );
        let m = render(
            &notice(Kind::Resolved, Some(at(0))),
            &report(W, at(5)),
            &hints(),
        );
        assert_eq!(
            m.subject,
            "[RESOLVED] prod-trading: no critical FAIL left after 5 min"
        );
        assert!(
            m.email.contains("Still warning: market_data"),
            "{}",
            m.email
        );
    }

    #[test]
    fn subject_fits_100_ascii_chars_with_50_failing_components() {
        let comps = (0..50)
            .map(|i| {
                component(
                    &format!("component_with_a_long_name_{i:02}"),
                    F,
                    Some("down"),
                )
            })
            .collect();
        let r = Report::new("prod-trading".into(), at(0), vec![target("t", true, comps)]);
        for kind in [Kind::Fail, Kind::Reminder] {
            let m = render(&notice(kind, Some(at(-90))), &r, &Hints::new());
            assert!(m.subject.len() <= SUBJECT_MAX, "{}", m.subject);
            assert!(is_clean_ascii(&m.subject), "{}", m.subject);
            assert!(m.subject.ends_with(" more"), "{}", m.subject);
            assert!(m.sms.len() <= SMS_MAX, "{}", m.sms);
        }
        let m = render(&notice(Kind::Fail, Some(at(0))), &r, &Hints::new());
        assert_eq!(
            m.subject,
            "[FAIL] prod-trading: component_with_a_long_name_00, component_with_a_long_name_01 +48 more"
        );
        assert_eq!(
            m.email
                .matches("\n  FAIL component_with_a_long_name_")
                .count(),
            50
        );
    }

    #[test]
    fn sms_stays_140_ascii_with_emoji_and_control_characters_in_names() {
        let comps = (0..12)
            .map(|i| {
                component(
                    &format!("🔥db\u{7}\n{i}💥"),
                    F,
                    Some("connection\r\nrefused 🚨 by upstream\u{1b}[31m"),
                )
            })
            .collect();
        let r = Report::new(
            "prod-🚀-canary\u{0}".into(),
            at(0),
            vec![target("t", true, comps)],
        );
        let m = render(&notice(Kind::Fail, Some(at(0))), &r, &Hints::new());
        assert!(m.sms.len() <= SMS_MAX, "{} chars: {}", m.sms.len(), m.sms);
        assert!(is_clean_ascii(&m.sms), "{}", m.sms);
        assert!(is_clean_ascii(&m.subject), "{}", m.subject);
        assert!(
            m.sms
                .starts_with("FAIL prod-?-canary: ?db 0?(connection refused ? by~), "),
            "{}",
            m.sms
        );
        assert!(m.sms.ends_with(" more 12:00Z"), "{}", m.sms);
        assert!(
            !m.email.chars().any(|c| c.is_control() && c != '\n'),
            "control characters leaked into the email"
        );
    }

    #[test]
    fn email_lists_every_component_with_reason_numbers_latency_times_and_hints() {
        let mut n = notice(Kind::Fail, Some(at(0)));
        n.caveat = Some(crate::sinks::alert::policy::CAVEAT_UNKNOWN);
        let m = render(&n, &seed_report(at(5)), &hints());
        for needle in [
            "FAIL - prod-trading\nFailing: market_data, signal_monitor\n",
            "Checked:  2026-01-08 12:05:00 UTC\n",
            "Incident: since 2026-01-08 12:00:00 UTC\n",
            "Failing for: 5 min\n",
            "Note: alert state unavailable - this may repeat an earlier alert.\n",
            "== trading - FAIL\n",
            "HTTP 200 · 153 ms · component_map\n",
            "  FAIL market_data\n    Reason: stale 33\n    stale_symbols=33\n    Hint: Restart market updater: docker compose --profile aws restart market-updater-aws\n",
            "  FAIL signal_monitor\n    Reason: not running\n",
            "  WARN trade_system\n    Reason: open orders over max\n",
            "  PASS telegram\n    stale_symbols=33\n",
        ] {
            assert!(m.email.contains(needle), "missing {needle:?} in:\n{}", m.email);
        }
        // A hint is for fixing something: a passing component's hint is not shown.
        assert!(!m.email.contains("TELEGRAM_BOT_TOKEN"), "{}", m.email);
        // Failing components come before passing ones, for a phone screen.
        assert!(m.email.find("FAIL market_data") < m.email.find("PASS telegram"));
        let doc: serde_json::Value = serde_json::from_str(&m.structured()).unwrap();
        assert_eq!(doc["email"], m.email);
        assert_eq!(doc["default"], m.email);
        assert_eq!(doc["sms"], m.sms);
    }

    #[test]
    fn fail_subject_names_only_paging_targets_and_a_target_without_components() {
        let mut down = target("api", true, vec![]);
        down.status = F;
        down.reason = Some("connection refused".into());
        down.http_status = None;
        let r = Report::new(
            "c".into(),
            at(0),
            vec![
                target("batch", false, vec![component("db", F, Some("x"))]),
                down,
            ],
        );
        let m = render(&notice(Kind::Fail, Some(at(0))), &r, &Hints::new());
        assert_eq!(m.subject, "[FAIL] c: api");
        assert_eq!(m.sms, "FAIL c: api(connection refused) 12:00Z");
        assert!(
            m.email.contains("== batch - FAIL (not critical)\n"),
            "{}",
            m.email
        );
    }
}
