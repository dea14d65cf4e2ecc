//! The console sink: renders a `Report` as an aligned, colour-free table with a summary line, for
//! an 80-column terminal or a pipe. Pure: the same report always renders the same text.

use crate::check::report::{
    measurements_text, ComponentResult, ConditionResult, Report, Status, TargetResult,
};
use crate::check::text::single_line;
use unicode_width::UnicodeWidthStr;

/// The width the table is laid out for; longer lines wrap with a hanging indent.
pub const WIDTH: usize = 80;

/// Component and condition names are padded to a shared column, up to this width.
const NAME_COLUMN_CAP: usize = 32;

/// Indent of component and condition lines under their target.
const CHILD_INDENT: usize = 3;

/// Renders the whole report: a header, one block per target, and the summary line.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{} · checked {}\n",
        single_line(&report.canary),
        report.checked_at.format("%Y-%m-%d %H:%M:%S UTC")
    ));
    for target in &report.targets {
        out.push('\n');
        render_target(&mut out, target);
    }
    out.push('\n');
    out.push_str(&summary_line(report));
    out.push('\n');
    out
}

/// How many checks passed, warned and failed; see `summary_line` for what counts as a check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Checks at PASS.
    pub passed: usize,
    /// Checks at WARN.
    pub warnings: usize,
    /// Checks at FAIL.
    pub failed: usize,
}

impl Tally {
    fn add(&mut self, status: Status) {
        match status {
            Status::Pass => self.passed += 1,
            Status::Warn => self.warnings += 1,
            Status::Fail => self.failed += 1,
        }
    }
}

/// Counts the checks of a report: every component and every condition, plus the target itself
/// when it has neither or when its own problem (no response, HTTP status, unreadable body, the
/// service's declared status) is worse than all of them — so a target that is down still counts.
pub fn tally(report: &Report) -> Tally {
    let mut tally = Tally::default();
    for t in &report.targets {
        let children = t
            .components
            .iter()
            .map(|c| c.status)
            .chain(t.conditions.iter().map(|c| c.status));
        let mut worst_child = None;
        for s in children {
            tally.add(s);
            worst_child = Some(worst_child.map_or(s, |w: Status| w.worst(s)));
        }
        match worst_child {
            Some(w) if w >= t.status => {}
            _ => tally.add(t.status),
        }
    }
    tally
}

/// `Summary: ✅ 4 passed  ⚠️ 1 warning  ❌ 2 failed — FAIL` (the word is the report's status).
pub fn summary_line(report: &Report) -> String {
    let t = tally(report);
    let plural = if t.warnings == 1 { "" } else { "s" };
    format!(
        "Summary: {} {} passed  {} {} warning{plural}  {} {} failed — {}",
        Status::Pass.symbol(),
        t.passed,
        Status::Warn.symbol(),
        t.warnings,
        Status::Fail.symbol(),
        t.failed,
        report.status
    )
}

fn render_target(out: &mut String, t: &TargetResult) {
    let mut head = format!(
        "{} {}  {}",
        t.status.symbol(),
        single_line(&t.name),
        t.status
    );
    if !t.critical {
        head.push_str(" (non-critical)");
    }
    let facts = t.facts();
    if !facts.is_empty() {
        head.push_str("  ");
        head.push_str(&facts);
    }
    push_wrapped(
        out,
        &head,
        t.reason.as_deref().map(single_line).as_deref(),
        CHILD_INDENT,
        false,
    );

    let column = |names: &mut dyn Iterator<Item = &str>| {
        names
            .map(|n| single_line(n).width())
            .filter(|w| *w <= NAME_COLUMN_CAP)
            .max()
            .unwrap_or(0)
    };
    let components_column = column(&mut t.components.iter().map(|c| c.name.as_str()));
    let conditions_column = column(&mut t.conditions.iter().map(|c| c.expression.as_str()));
    for c in &t.components {
        render_component(out, c, components_column);
    }
    for c in &t.conditions {
        render_condition(out, c, conditions_column);
    }
}

fn render_component(out: &mut String, c: &ComponentResult, column: usize) {
    let head = child_head(c.status, &c.name, column);
    let mut tail = Vec::new();
    if let Some(r) = &c.reason {
        tail.push(single_line(r));
    }
    if !c.measurements.is_empty() {
        tail.push(measurements_text(&c.measurements));
    }
    let tail = tail.join("  ");
    push_wrapped(out, &head, Some(&tail), CHILD_INDENT + 3, true);
}

fn render_condition(out: &mut String, c: &ConditionResult, column: usize) {
    let head = child_head(c.status, &c.expression, column);
    // An unmet comparison's reason repeats the expression; the observed value says it shorter.
    let tail = match (&c.observed, &c.reason, c.status) {
        (Some(v), _, Status::Pass) => format!("observed {}", single_line(&v.to_string())),
        (Some(v), Some(r), _) if r.contains(&c.expression) => {
            format!("observed {}", single_line(&v.to_string()))
        }
        (_, Some(r), _) => single_line(r.strip_prefix("condition failed: ").unwrap_or(r)),
        (Some(v), None, _) => format!("observed {}", single_line(&v.to_string())),
        (None, None, _) => String::new(),
    };
    push_wrapped(out, &head, Some(&tail), CHILD_INDENT + 3, true);
}

fn child_head(status: Status, name: &str, column: usize) -> String {
    let name = single_line(name);
    let pad = column.saturating_sub(name.width());
    format!(
        "{}{} {}{} {}",
        " ".repeat(CHILD_INDENT),
        status.symbol(),
        name,
        " ".repeat(pad),
        status
    )
}

/// Writes `head` then `tail`. With `fill`, the tail's words continue on the head's line as far
/// as `WIDTH` allows; without it, the tail joins the head only when all of it fits. Either way
/// the rest wraps at spaces (words are never broken) under a hanging indent of `indent` columns.
/// Runs of spaces inside the tail (separating a reason from numbers) survive within a line.
fn push_wrapped(out: &mut String, head: &str, tail: Option<&str>, indent: usize, fill: bool) {
    let head = head.trim_end();
    let tail = tail.map(str::trim).unwrap_or_default();
    let beside = head.width() + 2;
    let first_word = tail.split(' ').next().unwrap_or_default();
    if tail.is_empty() {
        out.push_str(head);
    } else if beside + tail.width() <= WIDTH {
        out.push_str(&format!("{head}  {tail}"));
    } else if fill && beside + first_word.width() <= WIDTH {
        // The head is measured here, as terminals draw it (`⚠️` is two columns; textwrap would
        // count the variation selector's base alone): textwrap sees a blank of the same width.
        let hanging = " ".repeat(indent);
        let lines = wrap(tail, &" ".repeat(beside), &hanging);
        for (i, line) in lines.iter().enumerate() {
            if i == 0 {
                out.push_str(head);
                out.push_str("  ");
                out.push_str(line.get(beside..).unwrap_or_default());
            } else {
                out.push('\n');
                out.push_str(line);
            }
        }
    } else {
        let hanging = " ".repeat(indent);
        out.push_str(head);
        for line in wrap(tail, &hanging, &hanging) {
            out.push('\n');
            out.push_str(&line);
        }
    }
    out.push('\n');
}

/// `text` wrapped at `WIDTH` on spaces only (a long name or URL overflows rather than breaks).
fn wrap<'a>(text: &'a str, first: &str, rest: &str) -> Vec<std::borrow::Cow<'a, str>> {
    let options = textwrap::Options::new(WIDTH)
        .initial_indent(first)
        .subsequent_indent(rest)
        .word_separator(textwrap::WordSeparator::AsciiSpace)
        .word_splitter(textwrap::WordSplitter::NoHyphenation)
        .break_words(false)
        .wrap_algorithm(textwrap::WrapAlgorithm::FirstFit);
    textwrap::wrap(text, options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::report::{ConditionResult, Measurement, Value};
    use chrono::TimeZone;

    fn at() -> chrono::DateTime<chrono::Utc> {
        chrono::Utc.with_ymd_and_hms(2026, 1, 8, 12, 0, 0).unwrap()
    }

    fn target(name: &str, status: Status) -> TargetResult {
        TargetResult {
            name: name.into(),
            url: format!("https://{name}.example/api/health/system"),
            critical: true,
            status,
            reason: None,
            http_status: Some(200),
            http_status_expected: Some(true),
            latency_ms: Some(31),
            attempts: 1,
            cert_days_remaining: None,
            format: Some("component_map".into()),
            declared_status: None,
            components: vec![],
            conditions: vec![],
        }
    }

    fn number(name: &str, v: f64) -> Measurement {
        Measurement {
            name: name.into(),
            value: Value::Number(v),
            unit: None,
        }
    }

    fn flag(name: &str, v: bool) -> Measurement {
        Measurement {
            name: name.into(),
            value: Value::Bool(v),
            unit: None,
        }
    }

    fn component(
        name: &str,
        status: Status,
        reason: Option<&str>,
        ms: Vec<Measurement>,
    ) -> ComponentResult {
        ComponentResult {
            name: name.into(),
            status,
            reason: reason.map(str::to_string),
            measurements: ms,
        }
    }

    fn seed_report() -> Report {
        let mut t = target("system", Status::Fail);
        t.reason = Some("service reports FAIL".into());
        t.cert_days_remaining = Some(45);
        t.attempts = 2;
        t.components = vec![
            component(
                "market_data",
                Status::Pass,
                None,
                vec![
                    number("fresh_symbols", 33.0),
                    number("stale_symbols", 0.0),
                    number("max_age_minutes", 0.21),
                ],
            ),
            component(
                "signal_monitor",
                Status::Fail,
                Some("service reports FAIL"),
                vec![
                    flag("is_running", false),
                    number("last_cycle_age_minutes", 16.33),
                ],
            ),
        ];
        t.conditions = vec![ConditionResult {
            expression: "market_data.max_age_minutes < 30".into(),
            status: Status::Pass,
            observed: Some(serde_json::json!(0.21)),
            reason: None,
        }];
        Report::new("prod-canary".into(), at(), vec![t])
    }

    #[test]
    fn renders_the_seed_report_as_an_aligned_table() {
        let text = render(&seed_report());
        let want = "\
prod-canary · checked 2026-01-08 12:00:00 UTC

❌ system  FAIL  HTTP 200 · 31 ms · 2 attempts · cert 45 days · component_map
   service reports FAIL
   ✅ market_data    PASS  fresh_symbols=33 stale_symbols=0 max_age_minutes=0.21
   ❌ signal_monitor FAIL  service reports FAIL  is_running=false
      last_cycle_age_minutes=16.33
   ✅ market_data.max_age_minutes < 30 PASS  observed 0.21

Summary: ✅ 2 passed  ⚠️ 0 warnings  ❌ 1 failed — FAIL
";
        assert_eq!(text, want);
    }

    #[test]
    fn no_line_is_wider_than_eighty_columns_when_words_fit() {
        let text = render(&seed_report());
        for line in text.lines() {
            assert!(line.width() <= WIDTH, "{} columns: {line}", line.width());
        }
    }

    #[test]
    fn target_line_shows_only_the_details_it_has() {
        type Edit = Box<dyn Fn(&mut TargetResult)>;
        let cases: Vec<(Edit, &str)> = vec![
            (
                Box::new(|_| {}),
                "✅ api  PASS  HTTP 200 · 31 ms · component_map",
            ),
            (
                Box::new(|t| {
                    t.http_status = None;
                    t.format = None;
                    t.status = Status::Fail;
                    t.reason = Some("connection refused".into());
                }),
                "❌ api  FAIL  31 ms  connection refused",
            ),
            (
                Box::new(|t| {
                    t.cert_days_remaining = Some(1);
                    t.attempts = 3;
                }),
                "✅ api  PASS  HTTP 200 · 31 ms · 3 attempts · cert 1 day · component_map",
            ),
            (
                Box::new(|t| {
                    t.critical = false;
                    t.status = Status::Warn;
                    t.latency_ms = None;
                    t.format = Some("http".into());
                }),
                "⚠️ api  WARN (non-critical)  HTTP 200 · http",
            ),
        ];
        for (edit, want) in cases {
            let mut t = target("api", Status::Pass);
            edit(&mut t);
            let text = render(&Report::new("c".into(), at(), vec![t]));
            let line = text.lines().nth(2).unwrap();
            assert_eq!(line, want);
        }
    }

    #[test]
    fn long_reasons_wrap_under_a_hanging_indent() {
        let mut t = target("edge", Status::Fail);
        t.http_status = Some(502);
        t.reason = Some(
            "HTTP 502 (expected 2xx); body is not a health response: text/html page '502 Bad Gateway nginx'"
                .into(),
        );
        let text = render(&Report::new("c".into(), at(), vec![t]));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[2], "❌ edge  FAIL  HTTP 502 · 31 ms · component_map");
        assert_eq!(
            lines[3],
            "   HTTP 502 (expected 2xx); body is not a health response: text/html page '502"
        );
        assert_eq!(lines[4], "   Bad Gateway nginx'");
    }

    #[test]
    fn conditions_show_the_observed_value_or_why_it_is_missing() {
        let cases = [
            (
                ConditionResult {
                    expression: "market_data.max_age_minutes < 30".into(),
                    status: Status::Warn,
                    observed: Some(serde_json::json!(42)),
                    reason: Some("condition failed: market_data.max_age_minutes < 30 is 42".into()),
                },
                "   ⚠️ market_data.max_age_minutes < 30 WARN  observed 42",
            ),
            (
                ConditionResult {
                    expression: "a.b == 1".into(),
                    status: Status::Fail,
                    observed: None,
                    reason: Some("condition failed: field 'a.b' is missing from the body".into()),
                },
                "   ❌ a.b == 1 FAIL  field 'a.b' is missing from the body",
            ),
        ];
        for (c, want) in cases {
            let mut t = target("api", c.status);
            t.conditions = vec![c];
            let text = render(&Report::new("c".into(), at(), vec![t]));
            assert_eq!(text.lines().nth(3).unwrap(), want);
        }
    }

    #[test]
    fn summary_counts_components_conditions_and_targets_with_their_own_problem() {
        let healthy = {
            let mut t = target("a", Status::Pass);
            t.components = vec![
                component("x", Status::Pass, None, vec![]),
                component("y", Status::Pass, None, vec![]),
            ];
            t
        };
        let down = {
            let mut t = target("b", Status::Fail);
            t.reason = Some("timed out after 2s".into());
            t
        };
        let http_error_with_passing_components = {
            let mut t = target("c", Status::Fail);
            t.reason = Some("HTTP 500 (expected 2xx)".into());
            t.components = vec![component("x", Status::Pass, None, vec![])];
            t
        };
        let warned = {
            let mut t = target("d", Status::Warn);
            t.components = vec![component("x", Status::Warn, Some("degraded"), vec![])];
            t
        };
        let cases = [
            (vec![healthy.clone()], (2, 0, 0), "PASS"),
            (vec![healthy.clone(), down.clone()], (2, 0, 1), "FAIL"),
            (vec![http_error_with_passing_components], (1, 0, 1), "FAIL"),
            (vec![healthy, warned], (2, 1, 0), "WARN"),
            (vec![], (0, 0, 0), "PASS"),
        ];
        for (targets, (p, w, f), word) in cases {
            let r = Report::new("c".into(), at(), targets);
            assert_eq!(
                tally(&r),
                Tally {
                    passed: p,
                    warnings: w,
                    failed: f
                }
            );
            let plural = if w == 1 { "" } else { "s" };
            assert_eq!(
                summary_line(&r),
                format!("Summary: ✅ {p} passed  ⚠️ {w} warning{plural}  ❌ {f} failed — {word}")
            );
        }
    }

    #[test]
    fn control_characters_from_the_service_never_reach_the_terminal() {
        let mut t = target("api", Status::Fail);
        t.components = vec![component(
            "evil\u{1b}[31m",
            Status::Fail,
            Some("line\nbreak\u{7}"),
            vec![],
        )];
        let text = render(&Report::new("c".into(), at(), vec![t]));
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{text:?}"
        );
        assert!(text.contains("❌ evil [31m FAIL  line break"), "{text}");
    }
}
