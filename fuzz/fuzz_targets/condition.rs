//! `Condition::parse` on arbitrary UTF-8 (the first line, FAIL severity); when it parses,
//! `evaluate` against the rest of the input read as a JSON body (or no body, if it is not JSON),
//! once with every context value present and once with none. Neither may panic.
#![no_main]

use health_canary::check::condition::{Condition, Context};
use health_canary::check::report::Status;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (expression, rest) = text.split_once('\n').unwrap_or((text, ""));
    let Ok(condition) = Condition::parse(expression, Status::Fail) else {
        return;
    };
    let body: Option<serde_json::Value> = serde_json::from_str(rest).ok();
    let full = Context {
        http_status: Some(200),
        response_time_ms: Some(123),
        cert_days_remaining: Some(-3),
        body: body.as_ref(),
    };
    let _ = condition.evaluate(&full);
    let _ = condition.evaluate(&Context::default());
});
