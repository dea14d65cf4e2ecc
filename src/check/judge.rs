//! Judging: turns a probe outcome and the parsed body into a `TargetResult`, as the worst of the
//! transport/HTTP result, the service's declared status, every component and every condition.

use crate::check::condition::Context;
use crate::check::config::{StatusRange, Target};
use crate::check::formats;
use crate::check::probe::{ProbeOutcome, Response};
use crate::check::report::{Status, TargetResult};
use crate::check::text::printable;
use serde_json::Value as Json;

/// Judges one target. Pure: the same outcome always gives the same result.
pub fn judge(target: &Target, outcome: ProbeOutcome) -> TargetResult {
    let mut result = TargetResult {
        name: target.name.clone(),
        url: target.url.to_string(),
        critical: target.critical,
        status: Status::Pass,
        reason: None,
        http_status: None,
        http_status_expected: None,
        latency_ms: outcome.latency_ms,
        attempts: outcome.attempts,
        cert_days_remaining: outcome.cert_days_remaining,
        format: None,
        declared_status: None,
        components: Vec::new(),
        conditions: Vec::new(),
    };
    let mut verdict = Verdict {
        status: Status::Pass,
        reasons: Vec::new(),
    };
    let body = match outcome.result {
        Err(error) => {
            verdict.fail(error.to_string());
            None
        }
        Ok(response) => judge_response(target, response, &mut result, &mut verdict),
    };

    let ctx = Context {
        http_status: result.http_status,
        response_time_ms: result.latency_ms,
        cert_days_remaining: result.cert_days_remaining,
        body: body.as_ref(),
    };
    result.conditions = target.conditions.iter().map(|c| c.evaluate(&ctx)).collect();
    verdict.worsen(Status::worst_of(result.conditions.iter().map(|c| c.status)));

    result.status = verdict.status;
    if !verdict.reasons.is_empty() {
        result.reason = Some(verdict.reasons.join("; "));
    }
    result
}

/// The status so far and the target-level reasons behind it.
struct Verdict {
    status: Status,
    reasons: Vec<String>,
}

impl Verdict {
    fn fail(&mut self, reason: String) {
        self.status = Status::Fail;
        self.reasons.push(reason);
    }

    fn worsen(&mut self, status: Status) {
        self.status = self.status.worst(status);
    }
}

/// Judges a response that arrived: its HTTP status, then its body through `formats::read`.
/// Returns the body as JSON, when it is JSON, for the conditions.
fn judge_response(
    target: &Target,
    response: Response,
    result: &mut TargetResult,
    verdict: &mut Verdict,
) -> Option<Json> {
    let expected = target
        .expected_statuses
        .iter()
        .any(|r| r.contains(response.status));
    result.http_status = Some(response.status);
    result.http_status_expected = Some(expected);
    if !expected {
        verdict.fail(format!(
            "HTTP {} (expected {})",
            response.status,
            describe_expected(&target.expected_statuses)
        ));
    }
    let body = match response.body {
        Ok(body) => body,
        Err(error) => {
            verdict.fail(error.to_string());
            return None;
        }
    };
    let reading = match formats::read(&body, response.content_type.as_deref(), target.format) {
        Ok(reading) => reading,
        Err(error) => {
            verdict.fail(error.to_string());
            return None;
        }
    };
    let parsed = reading.parsed;
    result.format = Some(parsed.format.as_str().to_string());
    if let Some(d) = parsed.declared {
        verdict.worsen(d.status);
        if let Some(r) = d.reason {
            verdict.reasons.push(r);
        } else if d.status != Status::Pass {
            verdict
                .reasons
                .push(format!("service reports {}", printable(&d.word)));
        }
        result.declared_status = Some(d.word);
    }
    verdict.worsen(Status::worst_of(parsed.components.iter().map(|c| c.status)));
    result.components = parsed.components;
    reading.json
}

fn describe_expected(ranges: &[StatusRange]) -> String {
    ranges
        .iter()
        .map(|r| match (r.low, r.high) {
            (l, h) if l == h => l.to_string(),
            (l, h) if l % 100 == 0 && h == l + 99 => format!("{}xx", l / 100),
            (l, h) => format!("{l}-{h}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::config::{self, Overrides};
    use crate::check::probe::ProbeError;
    use serde_json::json;
    use std::time::Duration;

    /// A target configured by the JSON fields in `extra` (on top of a name and a URL).
    fn target(extra: serde_json::Value) -> Target {
        let mut t = json!({"name": "svc", "url": "http://127.0.0.1:9/health"});
        for (k, v) in extra.as_object().into_iter().flatten() {
            t[k] = v.clone();
        }
        let cfg = json!({ "targets": [t] }).to_string();
        let mut config = config::load(None, Some(&cfg), &Overrides::default(), &|_| None)
            .expect("test config is valid");
        config.targets.remove(0)
    }

    fn outcome(result: Result<Response, ProbeError>) -> ProbeOutcome {
        ProbeOutcome {
            attempts: 1,
            latency_ms: Some(12),
            cert_days_remaining: None,
            result,
        }
    }

    fn response(status: u16, content_type: &str, body: &[u8]) -> ProbeOutcome {
        outcome(Ok(Response {
            status,
            content_type: Some(content_type.to_string()),
            body: Ok(body.to_vec()),
        }))
    }

    /// (status, target reason, HTTP status judged as expected) of one judgement.
    fn verdict(t: &Target, o: ProbeOutcome) -> (Status, Option<String>, Option<bool>) {
        let r = judge(t, o);
        (r.status, r.reason, r.http_status_expected)
    }

    #[test]
    fn a_transport_failure_fails_with_its_reason_and_no_http_judgement() {
        let r = judge(
            &target(json!({})),
            outcome(Err(ProbeError::ConnectTimeout {
                limit: Duration::from_secs(10),
            })),
        );
        assert_eq!(r.status, Status::Fail);
        assert_eq!(r.reason.as_deref(), Some("connect timed out after 10s"));
        assert_eq!((r.http_status, r.http_status_expected), (None, None));
        assert_eq!((r.latency_ms, r.attempts), (Some(12), 1));
        assert!(r.format.is_none() && r.components.is_empty());
    }

    #[test]
    fn records_whether_the_http_status_was_expected() {
        let ok = br#"{"status":"UP"}"#;
        let custom = target(json!({"expected_status": [200, 503]}));
        let ranges = target(json!({"expected_status": ["2xx", 418]}));
        let plain = target(json!({}));
        let cases: Vec<(&Target, u16, Status, Option<&str>, bool)> = vec![
            (&plain, 200, Status::Pass, None, true),
            (&plain, 204, Status::Pass, None, true),
            (
                &plain,
                503,
                Status::Fail,
                Some("HTTP 503 (expected 2xx)"),
                false,
            ),
            (&custom, 503, Status::Pass, None, true),
            (
                &custom,
                500,
                Status::Fail,
                Some("HTTP 500 (expected 200, 503)"),
                false,
            ),
            (&ranges, 418, Status::Pass, None, true),
            (
                &ranges,
                404,
                Status::Fail,
                Some("HTTP 404 (expected 2xx, 418)"),
                false,
            ),
        ];
        for (t, code, status, reason, expected) in cases {
            assert_eq!(
                verdict(t, response(code, "application/json", ok)),
                (status, reason.map(str::to_string), Some(expected)),
                "{code} against {:?}",
                t.expected_statuses
            );
        }
    }

    #[test]
    fn body_and_format_problems_fail_the_target_with_their_reasons() {
        let t = target(json!({}));
        let too_large = outcome(Ok(Response {
            status: 200,
            content_type: None,
            body: Err(ProbeError::BodyTooLarge { cap: 1024 }),
        }));
        assert_eq!(
            verdict(&t, too_large),
            (Status::Fail, Some("body exceeds 1 KiB".into()), Some(true))
        );
        assert_eq!(
            verdict(&t, response(200, "application/json", b"<html>")),
            (
                Status::Fail,
                Some("body is not valid JSON (application/json): expected value at line 1 column 1 (the body looks like HTML)".into()),
                Some(true)
            )
        );
    }

    #[test]
    fn the_worst_of_http_declared_status_and_components_wins_and_reasons_join() {
        let t = target(json!({}));
        let cases: Vec<(&[u8], u16, Status, Option<&str>)> = vec![
            (br#"{"status":"UP"}"#, 200, Status::Pass, None),
            (
                br#"{"status":"DEGRADED"}"#,
                200,
                Status::Warn,
                Some("service reports DEGRADED"),
            ),
            (
                br#"{"status":"sideways"}"#,
                200,
                Status::Warn,
                Some("unknown status 'sideways'"),
            ),
            (
                br#"{"status":"DOWN"}"#,
                503,
                Status::Fail,
                Some("HTTP 503 (expected 2xx); service reports DOWN"),
            ),
            // A failing component fails the target; its reason stays on the component.
            (
                br#"{"status":"UP","components":{"db":{"status":"DOWN"}}}"#,
                200,
                Status::Fail,
                None,
            ),
        ];
        for (body, code, status, reason) in cases {
            let r = judge(&t, response(code, "application/json", body));
            assert_eq!(
                (r.status, r.reason.as_deref()),
                (status, reason),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let r = judge(
            &t,
            response(
                200,
                "application/json",
                br#"{"status":"UP","components":{"db":{"status":"DOWN"}}}"#,
            ),
        );
        assert_eq!(
            (r.format.as_deref(), r.declared_status.as_deref()),
            (Some("spring"), Some("UP"))
        );
        assert_eq!(r.components[0].status, Status::Fail);
    }

    #[test]
    fn conditions_read_the_body_formats_read_even_after_a_byte_order_mark() {
        let t = target(json!({"conditions": [
            "market_data.max_age_minutes < 30",
            {"expr": "$['config.v2'].lag <= 5", "severity": "warn"},
            "status == 200",
        ]}));
        let body = b"\xEF\xBB\xBF{\"status\":\"UP\",\"market_data\":{\"max_age_minutes\":12},\"config.v2\":{\"lag\":9}}";
        let r = judge(&t, response(200, "application/json", body));
        let statuses: Vec<Status> = r.conditions.iter().map(|c| c.status).collect();
        assert_eq!(statuses, [Status::Pass, Status::Warn, Status::Pass]);
        assert_eq!(r.conditions[0].observed, Some(json!(12)));
        assert_eq!(
            r.conditions[1].reason.as_deref(),
            Some("condition failed: $['config.v2'].lag <= 5 is 9")
        );
        // A WARN condition makes an otherwise healthy target WARN, without a target reason.
        assert_eq!((r.status, r.reason), (Status::Warn, None));
    }

    #[test]
    fn conditions_without_a_response_or_json_body_fail_with_why() {
        let t = target(json!({"conditions": ["status == 200", "a.b == 1"]}));
        let r = judge(&t, outcome(Err(ProbeError::ConnectionRefused)));
        let reasons: Vec<Option<&str>> = r.conditions.iter().map(|c| c.reason.as_deref()).collect();
        assert_eq!(
            reasons,
            [
                Some("condition failed: no HTTP response to read status from"),
                Some("condition failed: the body is not JSON, so no field can be read"),
            ]
        );
        let r = judge(&t, response(200, "text/plain", b"all good"));
        assert_eq!(r.conditions[0].status, Status::Pass);
        assert_eq!(
            r.conditions[1].reason.as_deref(),
            Some("condition failed: the body is not JSON, so no field can be read")
        );
        // A body judged by the HTTP status alone is still read by conditions.
        let forced = target(json!({"format": "http", "conditions": ["a.b == 1"]}));
        let r = judge(
            &forced,
            response(200, "application/json", br#"{"a":{"b":1}}"#),
        );
        assert_eq!(
            (r.status, r.format.as_deref(), r.conditions[0].status),
            (Status::Pass, Some("http"), Status::Pass)
        );
    }
}
