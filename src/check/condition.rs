//! Conditions: the canary's own thresholds, a tiny expression language over the HTTP status,
//! latency, certificate days and body fields (`market_data.max_age_minutes < 30`).

use crate::check::report::{ConditionResult, Status};
use crate::check::text::{kind, printable};
use serde_json::Value as Json;
use std::cmp::Ordering;

/// Longest expression accepted; a condition is a one-liner, not a program.
const MAX_EXPRESSION_LEN: usize = 512;

/// What the left-hand side of a condition reads.
#[derive(Clone, Debug, PartialEq)]
pub enum Subject {
    /// The final HTTP status code.
    HttpStatus,
    /// Latency in milliseconds.
    ResponseTimeMs,
    /// Days until the certificate expires.
    CertDaysRemaining,
    /// A body field by dotted path; numeric segments index arrays.
    Body(Vec<String>),
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

impl Condition {
    /// Parses `expression` with the given severity; the error says what is wrong with it.
    pub fn parse(expression: &str, severity: Status) -> Result<Condition, String> {
        if expression.len() > MAX_EXPRESSION_LEN {
            return Err(format!(
                "condition is longer than {MAX_EXPRESSION_LEN} characters"
            ));
        }
        if severity == Status::Pass {
            return Err("condition severity must be FAIL or WARN".into());
        }
        let (lhs, op, rhs) = split_operator(expression).ok_or_else(|| {
            format!("condition '{expression}' needs an operator: one of == != < <= > >=")
        })?;
        let subject =
            parse_subject(lhs.trim()).map_err(|e| format!("condition '{expression}': {e}"))?;
        let literal =
            parse_literal(rhs.trim()).map_err(|e| format!("condition '{expression}': {e}"))?;
        if !op.is_equality() && !literal.is_number() {
            return Err(format!(
                "condition '{expression}': < <= > >= compare numbers, but the right-hand side is {}",
                kind(&literal)
            ));
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
            Err(reason) => Err(reason.clone()),
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
            Err(reason) => (self.severity, Some(reason)),
        };
        ConditionResult {
            expression: self.expression.clone(),
            status,
            observed: observed.ok(),
            reason: reason.map(|r| format!("condition failed: {r}")),
        }
    }

    fn resolve(&self, ctx: &Context<'_>) -> Result<Json, String> {
        match &self.subject {
            Subject::HttpStatus => ctx
                .http_status
                .map(Json::from)
                .ok_or_else(|| "no HTTP response to read status from".into()),
            Subject::ResponseTimeMs => ctx
                .response_time_ms
                .map(Json::from)
                .ok_or_else(|| "no response time was measured".into()),
            Subject::CertDaysRemaining => ctx
                .cert_days_remaining
                .map(Json::from)
                .ok_or_else(|| "no certificate (not https, or no TLS handshake)".into()),
            Subject::Body(path) => {
                let mut node = ctx
                    .body
                    .ok_or_else(|| "the body is not JSON, so no field can be read".to_string())?;
                for (i, seg) in path.iter().enumerate() {
                    let next = match node {
                        Json::Object(map) => map.get(seg),
                        Json::Array(items) => seg.parse::<usize>().ok().and_then(|n| items.get(n)),
                        _ => None,
                    };
                    node = next.ok_or_else(|| {
                        format!("field '{}' is missing from the body", path[..=i].join("."))
                    })?;
                }
                Ok(node.clone())
            }
        }
    }
}

fn compare(value: &Json, op: Op, literal: &Json) -> Result<bool, String> {
    match (value, literal) {
        (Json::Number(a), Json::Number(b)) => {
            let (a, b) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            a.partial_cmp(&b)
                .map(|ord| op.holds(ord))
                .ok_or_else(|| "value is not a comparable number".into())
        }
        (a, b) if op.is_equality() && std::mem::discriminant(a) == std::mem::discriminant(b) => {
            Ok((a == b) == (op == Op::Eq))
        }
        (a, b) => Err(format!(
            "expected {}, found {} {}",
            kind(b),
            kind(a),
            short(a)
        )),
    }
}

fn split_operator(expr: &str) -> Option<(&str, Op, &str)> {
    // Two-character operators first so `<=` is not read as `<` followed by `=`.
    const OPS: [(&str, Op); 6] = [
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];
    let quote_at = expr.find(['"', '\'']).unwrap_or(expr.len());
    OPS.iter()
        .filter_map(|(tok, op)| expr[..quote_at].find(tok).map(|at| (at, tok.len(), *op)))
        .min_by_key(|(at, len, _)| (*at, std::cmp::Reverse(*len)))
        .map(|(at, len, op)| (&expr[..at], op, &expr[at + len..]))
}

fn parse_subject(lhs: &str) -> Result<Subject, String> {
    match lhs {
        "" => Err("the left-hand side is empty".into()),
        "status" => Ok(Subject::HttpStatus),
        "response_time_ms" => Ok(Subject::ResponseTimeMs),
        "cert_days_remaining" => Ok(Subject::CertDaysRemaining),
        path => {
            let path = path.strip_prefix("body.").unwrap_or(path);
            let segs: Vec<String> = path.split('.').map(str::to_string).collect();
            if let Some(bad) = segs.iter().find(|s| {
                s.is_empty()
                    || !s
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            }) {
                return Err(format!(
                    "'{path}' is not a field path (segment '{bad}'): use names like market_data.max_age_minutes"
                ));
            }
            Ok(Subject::Body(segs))
        }
    }
}

fn parse_literal(rhs: &str) -> Result<Json, String> {
    if rhs.is_empty() {
        return Err("the right-hand side is empty".into());
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
        _ => Err(format!(
            "'{rhs}' is not a number, a quoted string, true, false or null"
        )),
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
            let err = Condition::parse(expr, Status::Fail).unwrap_err();
            assert!(err.contains(want), "{expr}: {err}");
        }
        assert!(Condition::parse("a == 1", Status::Pass).is_err());
    }

    #[test]
    fn operator_inside_a_quoted_string_is_not_split() {
        let c = Condition::parse("msg == '<=>'", Status::Fail).unwrap();
        assert_eq!(c.op, Op::Eq);
        assert_eq!(c.literal, json!("<=>"));
    }
}
