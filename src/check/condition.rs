//! Conditions: the canary's own thresholds, a tiny expression language over the HTTP status,
//! latency, certificate days and body fields (`market_data.max_age_minutes < 30`).
//!
//! An expression is `subject op literal`:
//!
//! - `subject` is `status` (the HTTP status), `response_time_ms`, `cert_days_remaining`, or a
//!   body field. A body field is a JSONPath query (RFC 9535, through `serde_json_path`) that
//!   must select exactly one value: `$.market_data.max_age_minutes`, `$.components[0].open_orders`,
//!   `$['config.v2']['max-age']` for keys holding `.`, `:`, `/` or spaces, or a filter such as
//!   `$.checks[?@.name == 'db'].latency_ms`. The dotted shorthand `market_data.max_age_minutes`
//!   (optionally `body.`-prefixed) reads the same as `$['market_data']['max_age_minutes']`; a
//!   numeric part (`components.0.open_orders`) indexes an array or names an object key.
//! - `op` is one of `==` `!=` `<` `<=` `>` `>=`; an operator inside brackets, parentheses or
//!   quotes belongs to the path or the literal.
//! - `literal` is a number, a quoted string (`'ok'` or `"ok"`), `true`, `false` or `null`;
//!   `<` `<=` `>` `>=` compare numbers only.
//!
//! Paths are parsed once, when the configuration loads; a condition that cannot be evaluated
//! (no response, no JSON body, a missing field, a value of another type) takes its severity
//! with a reason.

use crate::check::report::{ConditionResult, Status};
use crate::check::text::{kind, printable};
use serde_json::Value as Json;
use serde_json_path::JsonPath;
use std::cmp::Ordering;

/// Longest expression accepted; a condition is a one-liner, not a program.
const MAX_EXPRESSION_LEN: usize = 512;
/// The largest array index RFC 9535 allows (2^53 - 1); larger numeric parts only name keys.
const MAX_INDEX: u64 = 9_007_199_254_740_991;

/// What the left-hand side of a condition reads.
#[derive(Clone, Debug, PartialEq)]
pub enum Subject {
    /// The final HTTP status code.
    HttpStatus,
    /// Latency in milliseconds.
    ResponseTimeMs,
    /// Days until the certificate expires.
    CertDaysRemaining,
    /// A body field.
    Body(BodyPath),
}

/// A body field's compiled JSONPath query.
#[derive(Clone, Debug, PartialEq)]
pub struct BodyPath {
    /// The path as written (without a leading `body.`), for reasons.
    written: String,
    /// The query.
    query: JsonPath,
    /// For the dotted shorthand, each leading part (`a`, `a.b`) with its query, so that a
    /// missing field is named at the first part that is missing.
    prefixes: Vec<(String, JsonPath)>,
}

impl BodyPath {
    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.written
    }

    /// The one value the path selects in `body`.
    fn select(&self, body: &Json) -> Result<Json, Unmet> {
        let nodes = self.query.query(body);
        match nodes.len() {
            0 => Err(Unmet::Missing(self.missing_part(body).to_string())),
            1 => Ok(nodes.first().cloned().unwrap_or(Json::Null)),
            n => Err(Unmet::Ambiguous(self.written.clone(), n)),
        }
    }

    /// The shortest leading part of a shorthand path that `body` lacks; the whole path otherwise.
    fn missing_part(&self, body: &Json) -> &str {
        self.prefixes
            .iter()
            .find(|(_, q)| q.query(body).is_empty())
            .map_or(&self.written, |(written, _)| written)
    }
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Op {
    fn holds(self, ord: Ordering) -> bool {
        match self {
            Op::Eq => ord == Ordering::Equal,
            Op::Ne => ord != Ordering::Equal,
            Op::Lt => ord == Ordering::Less,
            Op::Le => ord != Ordering::Greater,
            Op::Gt => ord == Ordering::Greater,
            Op::Ge => ord != Ordering::Less,
        }
    }

    fn is_equality(self) -> bool {
        matches!(self, Op::Eq | Op::Ne)
    }
}

/// A validated condition: `subject op literal`, with the status it yields when it does not hold.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// The expression as written, for reports.
    pub expression: String,
    /// What is read.
    pub subject: Subject,
    /// How it is compared.
    pub op: Op,
    /// What it is compared with (number, string, bool or null).
    pub literal: Json,
    /// FAIL (default) or WARN.
    pub severity: Status,
}

/// What a condition is evaluated against.
#[derive(Clone, Copy, Debug, Default)]
pub struct Context<'a> {
    /// The final HTTP status code, if a response arrived.
    pub http_status: Option<u16>,
    /// Latency in milliseconds, if measured.
    pub response_time_ms: Option<u64>,
    /// Certificate days remaining, for https.
    pub cert_days_remaining: Option<i64>,
    /// The body, when it parsed as JSON.
    pub body: Option<&'a Json>,
}

/// Why a condition is not valid; `Display` says what to fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConditionError {
    /// Longer than the limit.
    #[error("condition is longer than {MAX_EXPRESSION_LEN} characters")]
    TooLong,
    /// A PASS severity would make the condition meaningless.
    #[error("condition severity must be FAIL or WARN")]
    PassSeverity,
    /// No comparison operator outside brackets and quotes.
    #[error("condition '{0}' needs an operator: one of == != < <= > >=")]
    NoOperator(String),
    /// One side of the comparison is wrong.
    #[error("condition '{expression}': {problem}")]
    Invalid {
        /// The expression as written.
        expression: String,
        /// What is wrong with it.
        problem: Problem,
    },
}

/// What is wrong with one side of a condition.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// Nothing before the operator.
    #[error("the left-hand side is empty")]
    EmptyLeft,
    /// Nothing after the operator.
    #[error("the right-hand side is empty")]
    EmptyRight,
    /// A shorthand path with an empty part or a character only JSONPath can address.
    #[error(
        "'{path}' is not a field path (segment '{segment}'): use names like \
         market_data.max_age_minutes, or a JSONPath such as $['key.with.dots']"
    )]
    NotFieldPath {
        /// The path as written.
        path: String,
        /// The offending part.
        segment: String,
    },
    /// A `$` path that RFC 9535 rejects.
    #[error("'{path}' is not a valid JSONPath: {detail}")]
    NotJsonPath {
        /// The path as written.
        path: String,
        /// The parser's message, with the position.
        detail: String,
    },
    /// A right-hand side that is no literal.
    #[error("'{0}' is not a number, a quoted string, true, false or null")]
    NotLiteral(String),
    /// An ordering operator with a literal that is not a number.
    #[error("< <= > >= compare numbers, but the right-hand side is {0}")]
    NotNumber(&'static str),
}

/// Why a condition could not be decided, for the report.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
enum Unmet {
    #[error("no HTTP response to read status from")]
    NoResponse,
    #[error("no response time was measured")]
    NoLatency,
    #[error("no certificate (not https, or no TLS handshake)")]
    NoCertificate,
    #[error("the body is not JSON, so no field can be read")]
    NoJsonBody,
    #[error("field '{0}' is missing from the body")]
    Missing(String),
    #[error("'{0}' selects {1} values; a condition compares exactly one")]
    Ambiguous(String, usize),
    #[error("value is not a comparable number")]
    NotComparable,
    #[error("expected {expected}, found {found} {value}")]
    WrongType {
        expected: &'static str,
        found: &'static str,
        value: String,
    },
}

impl Condition {
    /// Parses `expression` with the given severity; the error says what is wrong with it.
    pub fn parse(expression: &str, severity: Status) -> Result<Condition, ConditionError> {
        if expression.len() > MAX_EXPRESSION_LEN {
            return Err(ConditionError::TooLong);
        }
        if severity == Status::Pass {
            return Err(ConditionError::PassSeverity);
        }
        let invalid = |problem| ConditionError::Invalid {
            expression: expression.to_string(),
            problem,
        };
        let (lhs, op, rhs) = split_operator(expression)
            .ok_or_else(|| ConditionError::NoOperator(expression.to_string()))?;
        let subject = parse_subject(lhs.trim()).map_err(invalid)?;
        let literal = parse_literal(rhs.trim()).map_err(invalid)?;
        if !op.is_equality() && !literal.is_number() {
            return Err(invalid(Problem::NotNumber(kind(&literal))));
        }
        Ok(Condition {
            expression: expression.trim().to_string(),
            subject,
            op,
            literal,
            severity,
        })
    }

    /// Evaluates the condition; a missing or mistyped value fails it with a reason.
    pub fn evaluate(&self, ctx: &Context<'_>) -> ConditionResult {
        let observed = self.resolve(ctx);
        let outcome = match &observed {
            Err(unmet) => Err(unmet.clone()),
            Ok(value) => compare(value, self.op, &self.literal),
        };
        let (status, reason) = match outcome {
            Ok(true) => (Status::Pass, None),
            Ok(false) => (
                self.severity,
                Some(format!(
                    "{} is {}",
                    self.expression,
                    observed.as_ref().map(short).unwrap_or_default()
                )),
            ),
            Err(unmet) => (self.severity, Some(unmet.to_string())),
        };
        ConditionResult {
            expression: self.expression.clone(),
            status,
            observed: observed.ok(),
            reason: reason.map(|r| format!("condition failed: {r}")),
        }
    }

    fn resolve(&self, ctx: &Context<'_>) -> Result<Json, Unmet> {
        match &self.subject {
            Subject::HttpStatus => ctx.http_status.map(Json::from).ok_or(Unmet::NoResponse),
            Subject::ResponseTimeMs => ctx.response_time_ms.map(Json::from).ok_or(Unmet::NoLatency),
            Subject::CertDaysRemaining => ctx
                .cert_days_remaining
                .map(Json::from)
                .ok_or(Unmet::NoCertificate),
            Subject::Body(path) => path.select(ctx.body.ok_or(Unmet::NoJsonBody)?),
        }
    }
}

fn compare(value: &Json, op: Op, literal: &Json) -> Result<bool, Unmet> {
    match (value, literal) {
        (Json::Number(a), Json::Number(b)) => {
            let (a, b) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            a.partial_cmp(&b)
                .map(|ord| op.holds(ord))
                .ok_or(Unmet::NotComparable)
        }
        (a, b) if op.is_equality() && std::mem::discriminant(a) == std::mem::discriminant(b) => {
            Ok((a == b) == (op == Op::Eq))
        }
        (a, b) => Err(Unmet::WrongType {
            expected: kind(b),
            found: kind(a),
            value: short(a),
        }),
    }
}

/// Splits at the first operator outside brackets, parentheses and quotes, so a JSONPath filter
/// (`$.a[?@.b == 1]`) or a quoted literal (`'<=>'`) keeps its own operators. With unbalanced
/// brackets (`$.a[ == 1`) the first operator outside quotes splits, and the path's own parser
/// then says what is wrong with it.
fn split_operator(expr: &str) -> Option<(&str, Op, &str)> {
    find_operator(expr, true).or_else(|| find_operator(expr, false))
}

fn find_operator(expr: &str, nest: bool) -> Option<(&str, Op, &str)> {
    // Two-character operators first so `<=` is not read as `<` followed by `=`.
    const OPS: [(&str, Op); 6] = [
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];
    let bytes = expr.as_bytes();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(_) if b == b'\\' => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'\'' | b'"' => quote = Some(b),
                b'[' | b'(' if nest => depth += 1,
                b']' | b')' if nest => depth = depth.saturating_sub(1),
                _ if depth == 0 => {
                    // Operators are ASCII, so `i` is a character boundary when one matches.
                    if let Some((tok, op)) = OPS
                        .iter()
                        .find(|(tok, _)| bytes[i..].starts_with(tok.as_bytes()))
                    {
                        return Some((&expr[..i], *op, &expr[i + tok.len()..]));
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    None
}

fn parse_subject(lhs: &str) -> Result<Subject, Problem> {
    match lhs {
        "" => Err(Problem::EmptyLeft),
        "status" => Ok(Subject::HttpStatus),
        "response_time_ms" => Ok(Subject::ResponseTimeMs),
        "cert_days_remaining" => Ok(Subject::CertDaysRemaining),
        path if path.starts_with('$') => {
            let query = JsonPath::parse(path).map_err(|e| Problem::NotJsonPath {
                path: path.to_string(),
                detail: e.to_string(),
            })?;
            Ok(Subject::Body(BodyPath {
                written: path.to_string(),
                query,
                prefixes: Vec::new(),
            }))
        }
        path => shorthand(path.strip_prefix("body.").unwrap_or(path)).map(Subject::Body),
    }
}

/// Compiles the dotted shorthand: `a.b.0` reads as `$['a']['b'][0,'0']`.
fn shorthand(path: &str) -> Result<BodyPath, Problem> {
    let segments: Vec<&str> = path.split('.').collect();
    if let Some(bad) = segments.iter().find(|s| {
        s.is_empty()
            || !s
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    }) {
        return Err(Problem::NotFieldPath {
            path: path.to_string(),
            segment: (*bad).to_string(),
        });
    }
    let mut query = String::from("$");
    let mut prefixes = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        // A numeric part indexes an array or names an object key, whichever the body has. The
        // segment holds only letters, digits, `_` and `-`, so it needs no escaping in quotes.
        query.push_str(
            &match segment.parse::<u64>().ok().filter(|n| *n <= MAX_INDEX) {
                Some(n) => format!("[{n},'{segment}']"),
                None => format!("['{segment}']"),
            },
        );
        let compiled = JsonPath::parse(&query).map_err(|e| Problem::NotJsonPath {
            path: path.to_string(),
            detail: e.to_string(),
        })?;
        prefixes.push((segments[..=i].join("."), compiled));
    }
    // The last prefix is the whole path.
    let (written, query) = prefixes.pop().ok_or_else(|| Problem::NotFieldPath {
        path: path.to_string(),
        segment: String::new(),
    })?;
    Ok(BodyPath {
        written,
        query,
        prefixes,
    })
}

fn parse_literal(rhs: &str) -> Result<Json, Problem> {
    if rhs.is_empty() {
        return Err(Problem::EmptyRight);
    }
    if let Some(inner) = rhs
        .strip_prefix('\'')
        .and_then(|r| r.strip_suffix('\''))
        .filter(|_| rhs.len() >= 2)
    {
        return Ok(Json::String(inner.to_string()));
    }
    match serde_json::from_str::<Json>(rhs) {
        Ok(v @ (Json::Number(_) | Json::String(_) | Json::Bool(_) | Json::Null)) => Ok(v),
        _ => Err(Problem::NotLiteral(rhs.to_string())),
    }
}

fn short(v: &Json) -> String {
    let text = match v {
        Json::Array(_) | Json::Object(_) => kind(v).to_string(),
        other => other.to_string(),
    };
    printable(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(expr: &str, body: &Json) -> ConditionResult {
        let c = Condition::parse(expr, Status::Fail).unwrap();
        c.evaluate(&Context {
            http_status: Some(200),
            response_time_ms: Some(120),
            cert_days_remaining: Some(40),
            body: Some(body),
        })
    }

    #[test]
    fn every_operator_compares_numbers() {
        let body = json!({"market_data": {"max_age_minutes": 30}});
        let cases = [
            ("market_data.max_age_minutes == 30", Status::Pass),
            ("market_data.max_age_minutes != 30", Status::Fail),
            ("market_data.max_age_minutes < 30", Status::Fail),
            ("market_data.max_age_minutes <= 30", Status::Pass),
            ("market_data.max_age_minutes > 29.5", Status::Pass),
            ("market_data.max_age_minutes >= 31", Status::Fail),
        ];
        for (expr, want) in cases {
            assert_eq!(eval(expr, &body).status, want, "{expr}");
        }
    }

    #[test]
    fn reads_http_status_latency_and_certificate_days() {
        let body = json!({});
        assert_eq!(eval("status == 200", &body).status, Status::Pass);
        assert_eq!(eval("response_time_ms < 100", &body).status, Status::Fail);
        assert_eq!(
            eval("cert_days_remaining >= 14", &body).status,
            Status::Pass
        );
    }

    #[test]
    fn compares_strings_booleans_and_null_for_equality() {
        let body = json!({"status": "ok", "telegram": {"enabled": true, "last_send_ok": null}});
        assert_eq!(eval("body.status == \"ok\"", &body).status, Status::Pass);
        assert_eq!(eval("body.status != 'ok'", &body).status, Status::Fail);
        assert_eq!(eval("telegram.enabled == true", &body).status, Status::Pass);
        assert_eq!(
            eval("telegram.last_send_ok == null", &body).status,
            Status::Pass
        );
    }

    #[test]
    fn indexes_arrays_with_numeric_segments() {
        let body = json!({"components": [{"open_orders": 3}]});
        assert_eq!(
            eval("components.0.open_orders <= 50", &body).status,
            Status::Pass
        );
    }

    #[test]
    fn missing_field_fails_with_the_path_in_the_reason() {
        let r = eval(
            "market_data.max_age_minutes < 30",
            &json!({"market_data": {}}),
        );
        assert_eq!(r.status, Status::Fail);
        assert_eq!(
            r.reason.as_deref(),
            Some("condition failed: field 'market_data.max_age_minutes' is missing from the body")
        );
    }

    #[test]
    fn wrong_type_fails_with_a_reason() {
        let r = eval("a < 3", &json!({"a": "three"}));
        assert_eq!(r.status, Status::Fail);
        assert!(r
            .reason
            .unwrap()
            .contains("expected a number, found a string"));
    }

    #[test]
    fn unmet_condition_reports_the_observed_value() {
        let r = eval(
            "market_data.stale_symbols == 0",
            &json!({"market_data": {"stale_symbols": 4}}),
        );
        assert_eq!(r.observed, Some(json!(4)));
        assert_eq!(
            r.reason.as_deref(),
            Some("condition failed: market_data.stale_symbols == 0 is 4")
        );
    }

    #[test]
    fn warn_severity_yields_warn() {
        let c = Condition::parse("a < 1", Status::Warn).unwrap();
        let body = json!({"a": 5});
        let r = c.evaluate(&Context {
            body: Some(&body),
            ..Context::default()
        });
        assert_eq!(r.status, Status::Warn);
    }

    #[test]
    fn malformed_expressions_are_rejected_with_what_to_fix() {
        let cases = [
            ("market_data.max_age_minutes", "needs an operator"),
            ("< 30", "left-hand side is empty"),
            ("a <", "right-hand side is empty"),
            ("a < 'x'", "compare numbers"),
            ("a..b == 1", "not a field path"),
            ("a == thirty", "not a number, a quoted string"),
            ("a b == 1", "not a field path"),
        ];
        for (expr, want) in cases {
            let err = Condition::parse(expr, Status::Fail)
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{expr}: {err}");
        }
        assert_eq!(
            Condition::parse("a == 1", Status::Pass),
            Err(ConditionError::PassSeverity)
        );
    }

    #[test]
    fn operator_inside_a_quoted_string_is_not_split() {
        let c = Condition::parse("msg == '<=>'", Status::Fail).unwrap();
        assert_eq!(c.op, Op::Eq);
        assert_eq!(c.literal, json!("<=>"));
    }

    #[test]
    fn jsonpath_and_shorthand_address_the_same_fields_and_keys_shorthand_cannot() {
        let body = json!({
            "market_data": {"max_age_minutes": 12},
            "components": [{"open_orders": 3}, {"open_orders": 70}],
            "by_index": {"0": {"open_orders": 5}},
            "config.v2": {"max-age": 7, "db:primary": {"lag/s": 2}},
            "checks": [{"name": "db", "ms": 40}, {"name": "cache", "ms": 2}],
        });
        let cases = [
            ("market_data.max_age_minutes < 30", Status::Pass),
            ("body.market_data.max_age_minutes < 30", Status::Pass),
            ("$.market_data.max_age_minutes < 30", Status::Pass),
            ("$['market_data']['max_age_minutes'] >= 30", Status::Fail),
            ("components.1.open_orders <= 50", Status::Fail),
            ("$.components[1].open_orders <= 50", Status::Fail),
            ("$.components[-1].open_orders == 70", Status::Pass),
            // A numeric shorthand part names a key when the value is an object.
            ("by_index.0.open_orders == 5", Status::Pass),
            ("$['config.v2']['max-age'] == 7", Status::Pass),
            ("$['config.v2']['db:primary']['lag/s'] < 5", Status::Pass),
            ("$.checks[?@.name == 'db'].ms < 100", Status::Pass),
            ("$.checks[?(@.ms > 10)].name == 'db'", Status::Pass),
            ("$.checks[?@.name=='cache'].ms>=5", Status::Fail),
        ];
        for (expr, want) in cases {
            let r = eval(expr, &body);
            assert_eq!(r.status, want, "{expr}: {:?}", r.reason);
        }
    }

    #[test]
    fn a_path_must_select_exactly_one_value() {
        let body = json!({"a": {"b": 1}, "list": [{"x": 1}, {"x": 2}]});
        let cases = [
            (
                "a.c.d == 1",
                "condition failed: field 'a.c' is missing from the body",
            ),
            (
                "$.a.c.d == 1",
                "condition failed: field '$.a.c.d' is missing from the body",
            ),
            (
                "$.list[*].x == 1",
                "condition failed: '$.list[*].x' selects 2 values; a condition compares exactly one",
            ),
            (
                "$.list[?@.x > 5].x == 1",
                "condition failed: field '$.list[?@.x > 5].x' is missing from the body",
            ),
        ];
        for (expr, reason) in cases {
            let r = eval(expr, &body);
            assert_eq!(
                (r.status, r.reason.as_deref()),
                (Status::Fail, Some(reason)),
                "{expr}"
            );
        }
    }

    #[test]
    fn paths_are_checked_when_the_configuration_loads() {
        let cases = [
            ("$.a[ == 1", "is not a valid JSONPath"),
            ("$..[1 == 1", "is not a valid JSONPath"),
            ("$.a b == 1", "is not a valid JSONPath"),
            ("$.a.[0] == 1", "is not a valid JSONPath"),
            ("a.b.c.d.e[0] == 1", "not a field path"),
            ("config.v2 . x == 1", "not a field path"),
        ];
        for (expr, want) in cases {
            let err = Condition::parse(expr, Status::Fail).unwrap_err();
            assert!(
                matches!(err, ConditionError::Invalid { .. }),
                "{expr}: {err:?}"
            );
            assert!(err.to_string().contains(want), "{expr}: {err}");
        }
    }

    #[test]
    fn operators_inside_brackets_and_quotes_belong_to_the_path() {
        let c = Condition::parse("$.a[?@.b <= 2]['c>d'] != 'x==y'", Status::Warn).unwrap();
        assert_eq!(c.op, Op::Ne);
        assert_eq!(c.literal, json!("x==y"));
        let Subject::Body(path) = &c.subject else {
            panic!("expected a body path, got {:?}", c.subject)
        };
        assert_eq!(path.as_str(), "$.a[?@.b <= 2]['c>d']");
    }
}
