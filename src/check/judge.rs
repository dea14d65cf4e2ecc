//! Judging: turns a probe outcome and the parsed body into a `TargetResult`, as the worst of the
//! transport/HTTP result, the service's declared status, every component and every condition.

use crate::check::condition::Context;
use crate::check::config::{StatusRange, Target};
use crate::check::formats;
use crate::check::probe::ProbeOutcome;
use crate::check::report::{Status, TargetResult};
use crate::check::text::printable;

/// Judges one target. Pure: the same outcome always gives the same result.
pub fn judge(target: &Target, outcome: ProbeOutcome) -> TargetResult {
    let mut result = TargetResult {
        name: target.name.clone(),
        url: target.url.to_string(),
        critical: target.critical,
        status: Status::Pass,
        reason: None,
        http_status: None,
        latency_ms: outcome.latency_ms,
        attempts: outcome.attempts,
        cert_days_remaining: outcome.cert_days_remaining,
        format: None,
        declared_status: None,
        components: Vec::new(),
        conditions: Vec::new(),
    };
    let mut reasons: Vec<String> = Vec::new();
    let mut status = Status::Pass;
    let mut body_json: Option<serde_json::Value> = None;

    match outcome.result {
        Err(reason) => {
            status = Status::Fail;
            reasons.push(reason);
        }
        Ok(response) => {
            result.http_status = Some(response.status);
            if !target
                .expected_statuses
                .iter()
                .any(|r| r.contains(response.status))
            {
                status = Status::Fail;
                reasons.push(format!(
                    "HTTP {} (expected {})",
                    response.status,
                    describe_expected(&target.expected_statuses)
                ));
            }
            match response.body {
                Err(reason) => {
                    status = Status::Fail;
                    reasons.push(reason);
                }
                Ok(body) => {
                    match formats::read(&body, response.content_type.as_deref(), target.format) {
                        Err(reason) => {
                            status = Status::Fail;
                            reasons.push(reason);
                        }
                        Ok(parsed) => {
                            result.format = Some(parsed.format.as_str().to_string());
                            if let Some(d) = parsed.declared {
                                status = status.worst(d.status);
                                if let Some(r) = d.reason {
                                    reasons.push(r);
                                } else if d.status != Status::Pass {
                                    reasons.push(format!("service reports {}", printable(&d.word)));
                                }
                                result.declared_status = Some(d.word);
                            }
                            status = status.worst(Status::worst_of(
                                parsed.components.iter().map(|c| c.status),
                            ));
                            result.components = parsed.components;
                        }
                    }
                    if !target.conditions.is_empty() {
                        body_json = serde_json::from_slice(&body).ok();
                    }
                }
            }
        }
    }

    let ctx = Context {
        http_status: result.http_status,
        response_time_ms: result.latency_ms,
        cert_days_remaining: result.cert_days_remaining,
        body: body_json.as_ref(),
    };
    result.conditions = target.conditions.iter().map(|c| c.evaluate(&ctx)).collect();
    status = status.worst(Status::worst_of(result.conditions.iter().map(|c| c.status)));

    result.status = status;
    if !reasons.is_empty() {
        result.reason = Some(reasons.join("; "));
    }
    result
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
