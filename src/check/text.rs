//! Text from a watched service made safe to show: quoted in a reason (printable, bounded), on one
//! console line (no control characters), in an alert subject or SMS (printable ASCII, bounded),
//! and how a JSON value is named in a reason. Every sink and parser cleans text through here.

use serde_json::Value as Json;

/// How many characters of service text a reason quotes before cutting it with `…`.
pub const QUOTE_MAX: usize = 120;

/// Control characters (newlines, ANSI escapes, bells) replaced by spaces, so service text cannot
/// break a line or drive a terminal. Nothing is cut: the console shows names in full.
pub fn single_line(text: &str) -> String {
    text.chars().map(no_control).collect()
}

/// [`single_line`], cut to [`QUOTE_MAX`] characters (ending in `…` when cut), so one hostile
/// body cannot flood a report, a log line or an SMS.
pub fn printable(text: &str) -> String {
    let mut out: String = text.chars().map(no_control).take(QUOTE_MAX).collect();
    if text.chars().nth(QUOTE_MAX).is_some() {
        out.push('…');
    }
    out
}

/// Printable ASCII only, for alert subjects and SMS: any other character becomes `?`, whitespace
/// and control runs become one space, the ends are trimmed, and the result is at most `max`
/// characters (ending in `~` when cut).
pub fn ascii(text: &str, max: usize) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let c = if c.is_ascii_graphic() {
            c
        } else if c.is_whitespace() || c.is_control() {
            ' '
        } else {
            '?'
        };
        if c == ' ' && out.ends_with(' ') {
            continue;
        }
        out.push(c);
    }
    let out = out.trim();
    if out.chars().count() > max {
        let mut cut: String = out.chars().take(max.saturating_sub(1)).collect();
        cut.push('~');
        cut
    } else {
        out.to_string()
    }
}

/// How a JSON value is named in reasons: `a number`, `a string`, `null`, ….
pub fn kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

fn no_control(c: char) -> char {
    if c.is_control() {
        ' '
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn single_line_replaces_control_characters_and_keeps_everything_else() {
        let long = "n".repeat(500);
        assert_eq!(single_line(&long), long);
        assert_eq!(
            single_line("evil\u{1b}[31m\nline\u{7} 🚀"),
            "evil [31m line  🚀"
        );
    }

    #[test]
    fn printable_cuts_at_the_quote_limit_with_an_ellipsis() {
        assert_eq!(printable("a\tb\r\nc"), "a b  c");
        let exact = "x".repeat(QUOTE_MAX);
        assert_eq!(printable(&exact), exact);
        let over = "é".repeat(QUOTE_MAX + 1);
        let cut = printable(&over);
        assert_eq!(cut.chars().count(), QUOTE_MAX + 1);
        assert!(cut.ends_with("é…"), "{cut}");
    }

    #[test]
    fn ascii_keeps_printable_ascii_collapses_space_and_marks_a_cut() {
        assert_eq!(
            ascii("  connection\r\nrefused 🚨 by\u{1b}[31m  ", 100),
            "connection refused ? by [31m"
        );
        assert_eq!(ascii("prod-🚀-canary\u{0}", 40), "prod-?-canary");
        assert_eq!(ascii("abcdefgh", 5), "abcd~");
        assert_eq!(ascii("abcde", 5), "abcde");
    }

    #[test]
    fn kind_names_every_json_type() {
        let got: Vec<&str> = [
            json!(null),
            json!(true),
            json!(1.5),
            json!("x"),
            json!([1]),
            json!({"a": 1}),
        ]
        .iter()
        .map(kind)
        .collect();
        assert_eq!(
            got,
            [
                "null",
                "a boolean",
                "a number",
                "a string",
                "an array",
                "an object"
            ]
        );
    }
}
