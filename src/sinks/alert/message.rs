//! Alert messages, pure: one outgoing notice about one target → a subject (printable ASCII,
//! ≤ 100 characters, naming the target), a plain-text email readable on a phone, an SMS (≤ 140
//! ASCII bytes) and an Amazon Q Developer custom notification for chat channels, each bounded
//! whatever the watched service reports. Names and reasons from the service are treated as
//! hostile (control characters stripped, lengths bounded); a URL never shows its userinfo or
//! query.

use crate::check::text::{ascii, printable, single_line};
use crate::sinks::alert::engine::Outgoing;
use crate::sinks::alert::record::{ComponentLine, NoticeDetail, NoticeKind};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// SNS's limit on an email subject.
pub const SUBJECT_MAX: usize = 100;
/// The SMS budget: one 140-byte ASCII segment, so a message is never split or re-encoded.
pub const SMS_MAX: usize = 140;
/// SNS's limit on a whole published message (all variants of the JSON document together).
pub const PUBLISH_MAX: usize = 256 * 1024;
/// Characters of a target URL shown (scheme, host and path only).
const URL_MAX: usize = 200;
/// Characters of a chat title.
const CHAT_TITLE_MAX: usize = 200;

/// What the configuration says about the target a notice is about (absent when the target has
/// since been removed from the config).
#[derive(Clone, Copy, Debug, Default)]
pub struct About<'a> {
    /// The target's URL as configured.
    pub url: Option<&'a str>,
    /// Troubleshooting hints: component name (or the target's own name) → hint.
    pub hints: Option<&'a BTreeMap<String, String>>,
}

/// A rendered notice, ready for SNS `Publish` with `MessageStructure=json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// What it announces; its word is the `severity` attribute.
    pub kind: NoticeKind,
    /// The canary's name (the `canary` attribute).
    pub canary: String,
    /// The target's name (the `target` attribute).
    pub target: String,
    /// One ASCII line, at most [`SUBJECT_MAX`] characters.
    pub subject: String,
    /// Plain text for email (also the `default` for other protocols: SQS, Lambda).
    pub email: String,
    /// At most [`SMS_MAX`] ASCII characters.
    pub sms: String,
    /// The Amazon Q Developer custom notification (JSON) for chat channels, which subscribe to
    /// the topic over HTTPS.
    pub chat: String,
}

impl Message {
    /// The JSON document for `MessageStructure=json`: `default`, `email`, `sms` and `https`.
    pub fn structured(&self) -> String {
        serde_json::json!({
            "default": self.email,
            "email": self.email,
            "sms": self.sms,
            "https": self.chat,
        })
        .to_string()
    }

    /// The message attributes subscriptions filter on: `severity`, `target`, `canary`.
    pub fn attributes(&self) -> [(&'static str, String); 3] {
        [
            ("severity", self.kind.as_str().to_string()),
            ("target", attribute_value(&self.target)),
            ("canary", attribute_value(&self.canary)),
        ]
    }
}

/// A message attribute value: printable, never empty (SNS refuses an empty one).
fn attribute_value(text: &str) -> String {
    let v = single_line(text).trim().to_string();
    if v.is_empty() {
        "-".into()
    } else {
        v
    }
}

/// Renders one outgoing notice.
pub fn render(out: &Outgoing<'_>, about: &About<'_>) -> Message {
    let facts = Facts::of(out);
    Message {
        kind: out.notice.kind,
        canary: out.canary.to_string(),
        target: out.target.to_string(),
        subject: subject(&facts),
        email: email(&facts, about),
        sms: sms(&facts),
        chat: chat(&facts, about),
    }
}

/// What every variant says, gathered once.
struct Facts<'a> {
    kind: NoticeKind,
    canary: &'a str,
    target: &'a str,
    detail: &'a NoticeDetail,
    /// When the notice became due (the check time of the run that queued it).
    due: DateTime<Utc>,
    /// When it is sent.
    now: DateTime<Utc>,
    /// The incident's start, when the notice belongs to one.
    since: Option<DateTime<Utc>>,
    late: bool,
    maybe_repeat: bool,
    id: &'a str,
}

impl<'a> Facts<'a> {
    fn of(out: &'a Outgoing<'a>) -> Facts<'a> {
        Facts {
            kind: out.notice.kind,
            canary: out.canary,
            target: out.target,
            detail: &out.notice.detail,
            due: out.notice.created,
            now: out.now,
            since: out.notice.incident,
            late: out.late,
            maybe_repeat: out.maybe_repeat,
            id: &out.notice.id,
        }
    }

    /// How long the incident had lasted when the notice became due.
    fn lasted(&self) -> Option<String> {
        self.since.map(|s| human_duration(s, self.due))
    }

    /// The headline after the kind word: what happened to the target, in words.
    fn headline(&self) -> String {
        let lasted = self.lasted();
        match self.kind {
            NoticeKind::Fail => "failing".into(),
            NoticeKind::Reminder => match lasted {
                Some(d) => format!("still failing after {d}"),
                None => "still failing".into(),
            },
            NoticeKind::Resolved => match lasted {
                Some(d) => format!("no longer failing, after {d}"),
                None => "no longer failing".into(),
            },
            NoticeKind::Warn => "warning".into(),
            NoticeKind::Flapping => "flapping between failing and not failing".into(),
        }
    }

    /// The components the subject and SMS name: none for RESOLVED (news of recovery).
    fn named(&self) -> &'a [ComponentLine] {
        match self.kind {
            NoticeKind::Resolved => &[],
            _ => &self.detail.components,
        }
    }

    /// How many unhealthy components the run saw in all.
    fn unhealthy(&self) -> usize {
        self.detail.components.len() + self.detail.more as usize
    }
}

/// `[FAIL] canary/target: comp_a, comp_b +3 more`.
fn subject(f: &Facts<'_>) -> String {
    let who = who(f, 60);
    let head = match f.kind {
        NoticeKind::Fail | NoticeKind::Warn => format!("[{}] {who}: ", f.kind.as_str()),
        _ => format!("[{}] {who} {}: ", f.kind.as_str(), ascii(&f.headline(), 60)),
    };
    let labels: Vec<String> = labels(f, |c| ascii(&c.name, 40));
    let more = f.unhealthy().saturating_sub(labels.len());
    fit(&head, &labels, more, SUBJECT_MAX)
}

/// `FAIL canary/target: comp(reason), … 12:05Z`, marked when late or possibly repeated.
fn sms(f: &Facts<'_>) -> String {
    let head = match f.kind {
        NoticeKind::Fail | NoticeKind::Warn => format!("{} {}: ", f.kind.as_str(), who(f, 50)),
        _ => format!(
            "{} {} {}: ",
            f.kind.as_str(),
            who(f, 50),
            ascii(&f.headline(), 40)
        ),
    };
    let mut tail = format!(" {}Z", f.due.format("%H:%M"));
    if f.late {
        tail = format!(" late, due{tail}");
    }
    if f.maybe_repeat {
        tail.push_str(" may repeat");
    }
    let parts = labels(f, |c| match &c.reason {
        Some(r) => format!("{}({})", ascii(&c.name, 40), ascii(r, 24)),
        None => ascii(&c.name, 40),
    });
    let more = f.unhealthy().saturating_sub(parts.len());
    fit(&head, &parts, more, SMS_MAX - tail.len()) + &tail
}

/// `canary/target` in ASCII, at most `max` characters (the canary cut first).
fn who(f: &Facts<'_>, max: usize) -> String {
    let target = ascii(f.target, max / 2);
    let canary = ascii(f.canary, max.saturating_sub(target.len() + 1));
    format!("{canary}/{target}")
}

/// The labels of the components a subject or SMS names; the target itself (with its reason)
/// when the run saw no unhealthy component.
fn labels(f: &Facts<'_>, label: impl Fn(&ComponentLine) -> String) -> Vec<String> {
    let named = f.named();
    if named.is_empty() && f.kind != NoticeKind::Resolved {
        return f
            .detail
            .reason
            .as_deref()
            .map(|r| vec![ascii(r, 40)])
            .unwrap_or_default();
    }
    named.iter().map(label).collect()
}

/// `head` followed by as many `parts` as fit in `max` characters, then `+N more` (counting
/// `hidden` parts never listed too).
fn fit(head: &str, parts: &[String], hidden: usize, max: usize) -> String {
    let mut out: String = head.chars().take(max).collect();
    for (i, p) in parts.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        let rest = parts.len() - i - 1 + hidden;
        let more = if rest > 0 {
            format!(" +{rest} more")
        } else {
            String::new()
        };
        if out.len() + sep.len() + p.len() + more.len() <= max {
            out.push_str(sep);
            out.push_str(p);
        } else {
            // Nothing listed yet: say how many instead (the head ends with ": ").
            let more = if i == 0 {
                format!("{} components", parts.len() + hidden)
            } else {
                format!(" +{} more", parts.len() - i + hidden)
            };
            if out.len() + more.len() <= max {
                out.push_str(&more);
            }
            return out.trim_end_matches([' ', ':']).to_string();
        }
    }
    if parts.is_empty() && hidden > 0 {
        let more = format!("{hidden} components");
        if out.len() + more.len() <= max {
            out.push_str(&more);
        }
    }
    out.trim_end_matches([' ', ':']).to_string()
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

/// The URL as a message shows it: scheme, host, port and path; never userinfo, query or
/// fragment (where tokens live), and bounded.
pub fn shown_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            // Both fail only for URLs that cannot have userinfo; nothing to remove then.
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            printable_max(u.as_str(), URL_MAX)
        }
        Err(_) => "(not a URL)".into(),
    }
}

/// [`single_line`] cut to `max` characters (with `…`).
fn printable_max(text: &str, max: usize) -> String {
    let mut out: String = single_line(text).chars().take(max).collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// The delivery lines every long variant carries: late, and possibly a repeat.
fn delivery_lines(f: &Facts<'_>) -> Vec<String> {
    let mut lines = Vec::new();
    if f.late {
        lines.push(format!(
            "Late: due at {}, sent at {} (SNS or the alert state table was unavailable).",
            utc(f.due),
            utc(f.now)
        ));
    }
    if f.maybe_repeat {
        lines.push(
            "May repeat: an earlier attempt to send this notice may have reached you.".into(),
        );
    }
    lines
}

/// The incident line: since when, and for how long (until it ended, for RESOLVED).
fn incident_line(f: &Facts<'_>) -> Option<String> {
    let since = f.since?;
    let lasted = human_duration(since, f.due);
    Some(match f.kind {
        NoticeKind::Resolved => format!("Incident: {} to {} ({lasted})", utc(since), utc(f.due)),
        _ => format!("Incident: since {} ({lasted})", utc(since)),
    })
}

/// The plain-text email: headline, delivery and incident lines, the target, then the
/// unhealthy components worst first with reasons and hints, then how many more.
fn email(f: &Facts<'_>, about: &About<'_>) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail; the results are ignored for that reason.
    let target = printable(f.target);
    let _ = writeln!(
        out,
        "{} - {target} ({})\n{target} is {}",
        f.kind.as_str(),
        printable(f.canary),
        f.headline()
    );
    let delivery = delivery_lines(f);
    if !delivery.is_empty() {
        let _ = writeln!(out, "\n{}", delivery.join("\n"));
    }
    let _ = writeln!(out);
    if let Some(line) = incident_line(f) {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "Checked:  {}", utc(f.due));
    let _ = writeln!(out, "Status:   {}", f.detail.status);
    if let Some(url) = about.url {
        let _ = writeln!(out, "URL:      {}", shown_url(url));
    }
    if let Some(r) = &f.detail.reason {
        let _ = writeln!(out, "Reason:   {}", single_line(r));
    }
    if let Some(h) = hint(about, f.target) {
        let _ = writeln!(out, "Hint:     {h}");
    }
    components_text(f, about, &mut out);
    let _ = writeln!(
        out,
        "\n-- health-canary {} / {} · notice {}",
        printable(f.canary),
        printable(f.target),
        f.id
    );
    out
}

/// The components part of the email.
fn components_text(f: &Facts<'_>, about: &About<'_>, out: &mut String) {
    let list = &f.detail.components;
    if list.is_empty() {
        return;
    }
    let title = match f.kind {
        NoticeKind::Resolved => "Still not healthy",
        _ => "Not healthy, worst first",
    };
    let _ = writeln!(out, "\n{title} ({}):", f.unhealthy());
    for c in list {
        let _ = writeln!(out, "\n  {} {}", c.status, single_line(&c.name));
        if let Some(r) = &c.reason {
            let _ = writeln!(out, "    Reason: {}", single_line(r));
        }
        if let Some(h) = hint(about, &c.name) {
            let _ = writeln!(out, "    Hint: {h}");
        }
    }
    if f.detail.more > 0 {
        let _ = writeln!(out, "\n  … and {} more", f.detail.more);
    }
}

/// The configured hint for a component (or the target itself), printable and bounded.
fn hint(about: &About<'_>, name: &str) -> Option<String> {
    about.hints?.get(name).map(|h| printable(h))
}

/// The Amazon Q Developer custom notification: title with severity and target, the failing
/// components as markdown, the hints and what to do as next steps; threaded per incident.
fn chat(f: &Facts<'_>, about: &About<'_>) -> String {
    let icon = match f.kind {
        NoticeKind::Fail | NoticeKind::Reminder => ":red_circle:",
        NoticeKind::Resolved => ":large_green_circle:",
        NoticeKind::Warn | NoticeKind::Flapping => ":large_orange_circle:",
    };
    let title = format!(
        "{icon} {} · {} · {}",
        f.kind.as_str(),
        markdown(&printable_max(f.target, 80)),
        markdown(&f.headline())
    );
    let thread = match f.since {
        Some(s) => format!("{}/{}/{}", f.canary, f.target, s.timestamp_millis()),
        None => format!("{}/{}", f.canary, f.target),
    };
    serde_json::json!({
        "version": "1.0",
        "source": "custom",
        "id": f.id,
        "content": {
            "textType": "client-markdown",
            "title": printable_max(&title, CHAT_TITLE_MAX),
            "description": chat_description(f, about),
            "nextSteps": next_steps(f, about),
            "keywords": [f.kind.as_str(), printable(f.canary), printable(f.target)],
        },
        "metadata": {
            "threadId": printable_max(&thread, 250),
            "summary": format!("{} {}/{}", f.kind.as_str(), printable(f.canary), printable(f.target)),
            "eventType": f.kind.as_str(),
            "additionalContext": {
                "canary": printable(f.canary),
                "target": printable(f.target),
                "severity": f.kind.as_str(),
            },
        },
    })
    .to_string()
}

/// The chat description: delivery and incident lines, then the components as a list.
fn chat_description(f: &Facts<'_>, about: &About<'_>) -> String {
    let mut out = String::new();
    for line in delivery_lines(f) {
        let _ = writeln!(out, "*{}*", markdown(&line));
    }
    let _ = writeln!(
        out,
        "Canary `{}`, status {}",
        code(f.canary),
        f.detail.status
    );
    if let Some(line) = incident_line(f) {
        let _ = writeln!(out, "{}", markdown(&line));
    }
    if let Some(url) = about.url {
        let _ = writeln!(out, "URL: {}", markdown(&shown_url(url)));
    }
    if let Some(r) = &f.detail.reason {
        let _ = writeln!(out, "Reason: {}", markdown(&single_line(r)));
    }
    for c in &f.detail.components {
        let reason = c
            .reason
            .as_deref()
            .map(|r| format!(": {}", markdown(&single_line(r))))
            .unwrap_or_default();
        let _ = writeln!(out, "• *{}* `{}`{reason}", c.status, code(&c.name));
    }
    if f.detail.more > 0 {
        let _ = writeln!(out, "• … and {} more", f.detail.more);
    }
    out
}

/// What to do next: the hints for the named components, then how to silence the target.
fn next_steps(f: &Facts<'_>, about: &About<'_>) -> Vec<String> {
    let mut steps: Vec<String> = std::iter::once(f.target)
        .chain(f.detail.components.iter().map(|c| c.name.as_str()))
        .filter_map(|name| hint(about, name).map(|h| format!("`{}`: {}", code(name), markdown(&h))))
        .collect();
    if matches!(
        f.kind,
        NoticeKind::Fail | NoticeKind::Reminder | NoticeKind::Flapping
    ) {
        steps.push(format!(
            "Silence it while you work: `health-canary silence add --target {} --for 2h --reason \"…\"`",
            code(f.target)
        ));
    }
    steps
}

/// Service text made inert in chat markdown: Slack's and Teams' special characters escaped (so a
/// name cannot mention `@channel`, link or format), control characters removed, bounded.
fn markdown(text: &str) -> String {
    printable(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['*', '_', '~', '`', '[', ']'], " ")
}

/// Service text inside a markdown code span: no backticks, Slack's special characters escaped
/// (they are read even inside code), bounded.
fn code(text: &str) -> String {
    printable(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('`', "'")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::report::Status;
    use crate::sinks::alert::record::OutboxNotice;
    use chrono::TimeZone;

    fn at(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 8, 12, 0, 0).unwrap() + chrono::Duration::minutes(minutes)
    }

    fn line(name: &str, status: Status, reason: Option<&str>) -> ComponentLine {
        ComponentLine {
            name: name.into(),
            status,
            reason: reason.map(Into::into),
        }
    }

    fn detail(status: Status, components: Vec<ComponentLine>, more: u32) -> NoticeDetail {
        NoticeDetail {
            status,
            reason: None,
            components,
            more,
        }
    }

    fn notice(kind: NoticeKind, created: DateTime<Utc>, detail: NoticeDetail) -> OutboxNotice {
        OutboxNotice {
            id: crate::sinks::alert::outbox::notice_id(created, kind),
            kind,
            created,
            incident: (kind != NoticeKind::Warn).then(|| at(0)),
            detail,
            attempts: 1,
            lease_until: None,
            maybe_sent: false,
        }
    }

    fn outgoing(n: &OutboxNotice) -> Outgoing<'_> {
        Outgoing {
            canary: "prod-trading",
            target: "trading",
            notice: n,
            late: false,
            maybe_repeat: false,
            now: n.created,
        }
    }

    fn failing() -> NoticeDetail {
        detail(
            Status::Fail,
            vec![
                line("market_data", Status::Fail, Some("stale 33")),
                line("signal_monitor", Status::Fail, Some("not running")),
                line("trade_system", Status::Warn, Some("open orders over max")),
            ],
            0,
        )
    }

    fn hints() -> BTreeMap<String, String> {
        BTreeMap::from([(
            "market_data".to_string(),
            "Restart market updater: docker compose restart market-updater".to_string(),
        )])
    }

    fn is_clean_ascii(s: &str) -> bool {
        s.chars().all(|c| c.is_ascii() && !c.is_ascii_control())
    }

    #[test]
    fn renders_subject_and_sms_for_each_kind() {
        let cases = [
            (
                notice(NoticeKind::Fail, at(5), failing()),
                "[FAIL] prod-trading/trading: market_data, signal_monitor, trade_system",
                "FAIL prod-trading/trading: market_data(stale 33), signal_monitor(not running), trade_system(open orders over max) 12:05Z",
            ),
            (
                notice(NoticeKind::Reminder, at(65), failing()),
                "[REMINDER] prod-trading/trading still failing after 1 h 5 min: market_data, signal_monitor +1 more",
                "REMINDER prod-trading/trading still failing after 1 h 5 min: market_data(stale 33), signal_monitor(not running) +1 more 13:05Z",
            ),
            (
                notice(NoticeKind::Resolved, at(25), detail(Status::Pass, vec![], 0)),
                "[RESOLVED] prod-trading/trading no longer failing, after 25 min",
                "RESOLVED prod-trading/trading no longer failing, after 25 min 12:25Z",
            ),
            (
                notice(
                    NoticeKind::Warn,
                    at(5),
                    detail(Status::Warn, vec![line("market_data", Status::Warn, Some("some stale"))], 0),
                ),
                "[WARN] prod-trading/trading: market_data",
                "WARN prod-trading/trading: market_data(some stale) 12:05Z",
            ),
            (
                notice(NoticeKind::Flapping, at(30), failing()),
                "[FLAPPING] prod-trading/trading flapping between failing and not failing: market_data +2 more",
                "FLAPPING prod-trading/trading flapping between failing and not failing: market_data(stale 33), signal_monitor(not running) +1 more 12:30Z",
            ),
        ];
        for (n, subject, sms) in cases {
            let m = render(&outgoing(&n), &About::default());
            assert_eq!(m.subject, subject, "{:?}", n.kind);
            assert_eq!(m.sms, sms, "{:?}", n.kind);
            assert!(m.subject.len() <= SUBJECT_MAX && m.sms.len() <= SMS_MAX);
            assert_eq!(m.kind, n.kind);
        }
    }

    #[test]
    fn a_late_or_possibly_repeated_notice_says_so_in_every_variant() {
        let n = notice(NoticeKind::Fail, at(5), failing());
        let mut out = outgoing(&n);
        out.late = true;
        out.maybe_repeat = true;
        out.now = at(20);
        let m = render(&out, &About::default());
        assert!(m.sms.ends_with(" late, due 12:05Z may repeat"), "{}", m.sms);
        assert!(m.sms.len() <= SMS_MAX);
        for needle in [
            "Late: due at 2026-01-08 12:05:00 UTC, sent at 2026-01-08 12:20:00 UTC",
            "May repeat: an earlier attempt",
        ] {
            assert!(m.email.contains(needle), "{needle} in {}", m.email);
            let chat: serde_json::Value = serde_json::from_str(&m.chat).unwrap();
            let description = chat["content"]["description"].as_str().unwrap();
            assert!(description.contains(&needle[..12]), "{description}");
        }
    }

    #[test]
    fn email_says_which_components_failed_and_why_worst_first_with_incident_and_hints() {
        let n = notice(NoticeKind::Fail, at(5), failing());
        let hints = hints();
        let about = About {
            url: Some("https://user:pw@trading.example:8443/api/health/system?token=s3cret#x"),
            hints: Some(&hints),
        };
        let m = render(&outgoing(&n), &about);
        for needle in [
            "FAIL - trading (prod-trading)\ntrading is failing\n",
            "Incident: since 2026-01-08 12:00:00 UTC (5 min)\n",
            "Checked:  2026-01-08 12:05:00 UTC\n",
            "Status:   FAIL\n",
            "URL:      https://trading.example:8443/api/health/system\n",
            "Not healthy, worst first (3):\n",
            "  FAIL market_data\n    Reason: stale 33\n    Hint: Restart market updater: docker compose restart market-updater\n",
            "  FAIL signal_monitor\n    Reason: not running\n",
            "  WARN trade_system\n    Reason: open orders over max\n",
            "-- health-canary prod-trading / trading · notice 1767873900000-FAIL\n",
        ] {
            assert!(m.email.contains(needle), "missing {needle:?} in:\n{}", m.email);
        }
        for secret in ["user", "pw@", "token", "s3cret", "#x"] {
            assert!(!m.structured().contains(secret), "{secret} leaked");
        }
        let doc: serde_json::Value = serde_json::from_str(&m.structured()).unwrap();
        assert_eq!(doc["email"], m.email);
        assert_eq!(doc["default"], m.email);
        assert_eq!(doc["sms"], m.sms);
        assert_eq!(doc["https"], m.chat);
        assert_eq!(
            m.attributes(),
            [
                ("severity", "FAIL".to_string()),
                ("target", "trading".to_string()),
                ("canary", "prod-trading".to_string())
            ]
        );
    }

    #[test]
    fn resolved_email_gives_the_incident_span_and_what_still_warns() {
        let d = detail(
            Status::Warn,
            vec![line(
                "trade_system",
                Status::Warn,
                Some("open orders over max"),
            )],
            0,
        );
        let n = notice(NoticeKind::Resolved, at(25), d);
        let m = render(&outgoing(&n), &About::default());
        for needle in [
            "RESOLVED - trading (prod-trading)\ntrading is no longer failing, after 25 min\n",
            "Incident: 2026-01-08 12:00:00 UTC to 2026-01-08 12:25:00 UTC (25 min)\n",
            "Still not healthy (1):\n\n  WARN trade_system\n",
        ] {
            assert!(
                m.email.contains(needle),
                "missing {needle:?} in:\n{}",
                m.email
            );
        }
    }

    #[test]
    fn chat_notification_follows_the_amazon_q_custom_format() {
        let n = notice(NoticeKind::Fail, at(5), failing());
        let hints = hints();
        let about = About {
            url: Some("https://trading.example/h"),
            hints: Some(&hints),
        };
        let chat: serde_json::Value =
            serde_json::from_str(&render(&outgoing(&n), &about).chat).unwrap();
        assert_eq!(chat["version"], "1.0");
        assert_eq!(chat["source"], "custom");
        let content = &chat["content"];
        assert_eq!(content["textType"], "client-markdown");
        assert_eq!(content["title"], ":red_circle: FAIL · trading · failing");
        let description = content["description"].as_str().unwrap();
        assert!(
            description.contains("• *FAIL* `market_data`: stale 33\n"),
            "{description}"
        );
        let steps: Vec<&str> = content["nextSteps"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s.as_str())
            .collect();
        assert_eq!(steps.len(), 2, "{steps:?}");
        assert!(steps[0].starts_with("`market_data`: Restart market updater"));
        assert!(steps[1].contains("health-canary silence add --target trading --for 2h"));
        assert_eq!(
            chat["metadata"]["threadId"],
            "prod-trading/trading/1767873600000"
        );
        assert_eq!(chat["metadata"]["eventType"], "FAIL");
        assert_eq!(chat["metadata"]["additionalContext"]["target"], "trading");
    }

    #[test]
    fn hostile_names_cannot_mention_link_or_break_a_line_in_any_variant() {
        let d = detail(
            Status::Fail,
            vec![line(
                "<!channel> 🔥db\u{7}\n`x`",
                Status::Fail,
                Some("refused\r\n<@U123> [y](http://evil) \u{1b}[31m"),
            )],
            0,
        );
        let n = notice(NoticeKind::Fail, at(0), d);
        let mut out = outgoing(&n);
        out.target = "api\n\u{0}";
        out.canary = "prod-🚀";
        let m = render(&out, &About::default());
        assert!(
            is_clean_ascii(&m.subject) && is_clean_ascii(&m.sms),
            "{m:?}"
        );
        let chat: serde_json::Value = serde_json::from_str(&m.chat).unwrap();
        let description = chat["content"]["description"].as_str().unwrap();
        assert!(!description.contains("<!channel>") && !description.contains("<@U123>"));
        assert!(!description.contains("](http"), "{description}");
        assert!(!m.email.chars().any(|c| c.is_control() && c != '\n'));
        assert!(m
            .attributes()
            .iter()
            .all(|(_, v)| !v.is_empty() && !v.chars().any(char::is_control)));
    }

    #[test]
    fn every_variant_stays_bounded_with_thousands_of_long_failing_components() {
        use crate::check::report::{ComponentResult, TargetResult};
        let long = "x".repeat(10_000);
        let wide = "界".repeat(5_000);
        let components: Vec<ComponentResult> = (0..5_000)
            .map(|i| ComponentResult {
                name: format!("{i}-{wide}"),
                status: Status::Fail,
                reason: Some(format!("{long}{wide}")),
                measurements: vec![],
            })
            .collect();
        let target = TargetResult {
            name: "t".repeat(255),
            url: format!("https://h.example/{long}?token=secret"),
            critical: true,
            status: Status::Fail,
            reason: Some(wide.clone()),
            http_status: Some(503),
            http_status_expected: Some(false),
            latency_ms: Some(1),
            attempts: 1,
            cert_days_remaining: None,
            format: None,
            declared_status: None,
            components,
            conditions: vec![],
        };
        let hints: BTreeMap<String, String> = target
            .components
            .iter()
            .map(|c| (c.name.clone(), long.clone()))
            .collect();
        let d = NoticeDetail::of(&target);
        assert_eq!(d.more as usize, 5_000 - d.components.len());
        for kind in [
            NoticeKind::Fail,
            NoticeKind::Reminder,
            NoticeKind::Resolved,
            NoticeKind::Warn,
            NoticeKind::Flapping,
        ] {
            let n = notice(kind, at(5), d.clone());
            let mut out = outgoing(&n);
            out.target = &target.name;
            out.canary = &target.name;
            out.late = true;
            out.maybe_repeat = true;
            let about = About {
                url: Some(&target.url),
                hints: Some(&hints),
            };
            let m = render(&out, &about);
            let size = m.structured().len()
                + m.subject.len()
                + m.attributes()
                    .iter()
                    .map(|(k, v)| k.len() + v.len())
                    .sum::<usize>();
            assert!(size < PUBLISH_MAX, "{kind:?}: {size} bytes");
            assert!(
                m.subject.len() <= SUBJECT_MAX && is_clean_ascii(&m.subject),
                "{}",
                m.subject
            );
            assert!(
                m.sms.len() <= SMS_MAX && is_clean_ascii(&m.sms),
                "{}",
                m.sms
            );
            assert!(m.email.contains("… and "), "{kind:?} counts the rest");
            assert!(!m.structured().contains("secret"));
        }
    }
}
