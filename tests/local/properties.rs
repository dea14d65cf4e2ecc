//! Property tests (proptest, stable Rust): format parsers, the condition language and config
//! loading on generated input never panic and keep their invariants. Cases per property come
//! from `PROPTEST_CASES` (proptest's default, 256, keeps CI quick); see docs/testing.md,
//! "Property tests", for the 1,000,000-case run.

use health_canary::check::condition::{Condition, Context};
use health_canary::check::config::{self, Overrides};
use health_canary::check::formats::{self, map_status, Format, Parsed};
use health_canary::check::report::Status;
use health_canary::check::text::printable;
use proptest::prelude::*;
use serde_json::{json, Map, Value as Json};
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts the cases a property ran and prints the total once all configured cases passed, so
/// the 1,000,000-case run is counted, not assumed (`--no-capture` shows the lines).
macro_rules! count_case {
    ($name:literal) => {{
        static RUN: AtomicU64 = AtomicU64::new(0);
        let n = RUN.fetch_add(1, Ordering::Relaxed) + 1;
        if n == u64::from(ProptestConfig::default().cases) {
            eprintln!("proptest {}: {n} cases run", $name);
        }
    }};
}

/// Every vocabulary word, plus words that are not in it.
const WORDS: &[&str] = &[
    "pass",
    "ok",
    "up",
    "healthy",
    "green",
    "warn",
    "warning",
    "degraded",
    "unknown",
    "yellow",
    "fail",
    "error",
    "down",
    "critical",
    "unhealthy",
    "out_of_service",
    "shutting_down",
    "red",
    "PASS",
    "Ok",
    "UP",
    "Healthy",
    "DEGRADED",
    "CRITICAL",
    "OUT_OF_SERVICE",
    "sideways",
    "",
    "200",
    "✅",
    "ok\n",
    " up ",
];

const CONTENT_TYPES: &[Option<&str>] = &[
    None,
    Some("application/json"),
    Some("application/health+json"),
    Some("application/vnd.spring-boot.actuator.v3+json"),
    Some("application/json; charset=utf-8"),
    Some("text/plain"),
    Some("text/html"),
    Some(""),
    Some(";;;"),
];

/// Every fixture body, read once per test binary.
fn fixture_bodies() -> &'static [Vec<u8>] {
    static BODIES: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    BODIES.get_or_init(read_fixtures)
}

fn read_fixtures() -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/formats");
    let mut out = Vec::new();
    for format in std::fs::read_dir(dir).expect("fixtures dir") {
        for file in std::fs::read_dir(format.expect("entry").path()).expect("format dir") {
            out.push(std::fs::read(file.expect("file").path()).expect("fixture"));
        }
    }
    out.sort();
    out
}

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(WORDS).prop_map(str::to_string),
        1 => any::<String>(),
    ]
}

fn forced() -> impl Strategy<Value = Option<Format>> {
    prop_oneof![
        2 => Just(None),
        3 => prop::sample::select(Format::ALL.to_vec()).prop_map(Some),
    ]
}

fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    prop::sample::select(CONTENT_TYPES)
}

/// Arbitrary JSON, a few levels deep, with keys that the formats look for.
fn arb_json() -> impl Strategy<Value = Json> {
    let key = prop_oneof![
        3 => prop::sample::select(vec![
            "status", "global_status", "overall_status", "components", "details", "checks",
            "entries", "services", "infrastructure", "ok", "down", "degraded", "info", "error",
            "critical_failures", "performance", "key_metrics", "name", "value", "unit",
            "observedValue", "observedUnit", "output", "data", "duration", "component_id",
            "message", "timestamp", "db", "db:ping",
        ])
        .prop_map(str::to_string),
        1 => any::<String>(),
    ];
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        any::<f64>().prop_map(Json::from),
        word().prop_map(Json::String),
        Just(json!("00:00:00.0123")),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Json::Object(kv.into_iter().collect())),
        ]
    })
}

/// `formats::read` as these properties check it: the format's reading, or the reason text.
fn read(body: &[u8], ct: Option<&str>, forced: Option<Format>) -> Result<Parsed, String> {
    formats::read(body, ct, forced)
        .map(|r| r.parsed)
        .map_err(|e| e.to_string())
}

/// The invariants of any `read` result.
fn check_read(
    result: &Result<Parsed, String>,
    ct: Option<&str>,
    forced: Option<Format>,
) -> Result<(), TestCaseError> {
    match result {
        Err(reason) => {
            let declared_json = ct.is_some_and(formats::is_json_content_type);
            prop_assert!(
                declared_json || forced.is_some(),
                "only a declared or forced format may reject a body: {reason}"
            );
            prop_assert!(!reason.chars().any(char::is_control), "{reason:?}");
            prop_assert!(
                reason.starts_with("body is not valid JSON (")
                    || reason.starts_with("empty body where JSON was declared (")
                    || reason.starts_with("body is not valid UTF-8 at byte ")
                    || reason.starts_with("body is "),
                "{reason}"
            );
        }
        Ok(parsed) => {
            if let Some(f) = forced {
                prop_assert_eq!(parsed.format, f);
            }
            if parsed.format == Format::Http {
                prop_assert!(parsed.components.is_empty() && parsed.declared.is_none());
            }
            if let Some(d) = &parsed.declared {
                if let Some(r) = &d.reason {
                    prop_assert!(
                        d.status != Status::Pass,
                        "a reason never comes with PASS: {r}"
                    );
                    prop_assert!(!r.chars().any(char::is_control), "{r:?}");
                }
            }
            for c in &parsed.components {
                if let Some(r) = &c.reason {
                    prop_assert!(!r.chars().any(char::is_control), "{r:?}");
                }
                for m in &c.measurements {
                    prop_assert!(m.value.as_f64().is_finite());
                }
            }
        }
    }
    Ok(())
}

/// A component name no format treats specially.
fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_-]{0,15}".prop_filter("reserved", |n| {
        !["timestamp", "global_status"].contains(&n.as_str())
    })
}

fn named_words() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::btree_map(name(), word(), 0..12).prop_map(|m| m.into_iter().collect())
}

/// Builds a body of `format` listing `components` with their words.
fn render(
    format: Format,
    overall: &str,
    components: &[(String, String)],
) -> (Vec<u8>, &'static str) {
    let obj = |pairs: Vec<(String, Json)>| Json::Object(pairs.into_iter().collect::<Map<_, _>>());
    let each =
        |f: &dyn Fn(&str) -> Json| obj(components.iter().map(|(n, w)| (n.clone(), f(w))).collect());
    let body = match format {
        Format::ComponentMap => {
            let mut m = Map::new();
            m.insert("global_status".into(), json!(overall));
            m.insert("timestamp".into(), json!("2026-01-08T12:00:00Z"));
            for (n, w) in components {
                m.insert(
                    n.clone(),
                    json!({"status": w, "fresh_symbols": 3, "is_running": true}),
                );
            }
            Json::Object(m)
        }
        Format::ComponentList => json!({
            "overall_status": overall,
            "components": components.iter().map(|(n, w)| json!({
                "component_id": n, "status": w,
                "key_metrics": [{"name": "latency", "value": 1.5, "unit": "ms"}]
            })).collect::<Vec<_>>(),
        }),
        Format::Ietf => json!({
            "status": overall,
            "checks": each(&|w| json!([{"status": w, "observedValue": 1, "observedUnit": "ms"}])),
        }),
        Format::Spring => json!({
            "status": overall,
            "components": each(&|w| json!({"status": w, "details": {"free": 10}})),
        }),
        Format::Aspnet => json!({
            "status": overall,
            "totalDuration": "00:00:00.01",
            "entries": each(&|w| json!({"status": w, "duration": "00:00:00.0010000", "data": {}})),
        }),
        Format::Microprofile => json!({
            "status": overall,
            "checks": components.iter().map(|(n, w)| json!({"name": n, "status": w, "data": {"n": 1}})).collect::<Vec<_>>(),
        }),
        Format::Terminus => json!({
            "status": overall, "info": {}, "error": {},
            "details": each(&|w| json!({"status": w})),
        }),
        Format::Simple => json!({"status": overall}),
        Format::ServiceLists | Format::Kubernetes | Format::Http => {
            unreachable!("rendered by their own tests")
        }
    };
    (body.to_string().into_bytes(), "application/json")
}

/// Formats whose generated bodies map every word through `map_status`.
const WORD_FORMATS: [Format; 8] = [
    Format::ComponentMap,
    Format::ComponentList,
    Format::Ietf,
    Format::Spring,
    Format::Aspnet,
    Format::Microprofile,
    Format::Terminus,
    Format::Simple,
];

/// The reason `map_status` gives, or `None` for a vocabulary word.
fn expected(word: &str) -> (Status, Option<String>) {
    map_status(word)
}

proptest! {
    #[test]
    fn read_never_panics_on_arbitrary_bytes(
        body in prop::collection::vec(any::<u8>(), 0..300),
        ct in content_type(),
        forced in forced(),
    ) {
        count_case!("read_never_panics_on_arbitrary_bytes");
        let result = read(&body, ct, forced);
        check_read(&result, ct, forced)?;
    }

    #[test]
    fn read_never_panics_on_mutated_fixtures(
        pick in any::<prop::sample::Index>(),
        cut in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        ct in content_type(),
        forced in forced(),
    ) {
        count_case!("read_never_panics_on_mutated_fixtures");
        let bodies = fixture_bodies();
        let mut body = pick.get(bodies).clone();
        for (at, byte) in flips {
            if !body.is_empty() {
                let i = at.index(body.len());
                body[i] = byte;
            }
        }
        body.truncate(cut.index(body.len() + 1));
        let result = read(&body, ct, forced);
        check_read(&result, ct, forced)?;
    }

    #[test]
    fn read_never_panics_on_arbitrary_json(value in arb_json(), ct in content_type(), forced in forced()) {
        count_case!("read_never_panics_on_arbitrary_json");
        let body = value.to_string();
        let result = read(body.as_bytes(), ct, forced);
        check_read(&result, ct, forced)?;
        // Valid JSON is only ever rejected when a JSON format is forced onto a non-object.
        if let Err(reason) = &result {
            prop_assert!(!value.is_object(), "{reason}");
            prop_assert!(reason.starts_with("body is "), "{reason}");
        }
        // Whatever it was read as, a JSON body reaches the conditions parsed (a text format
        // forced onto it reads it as text). Compared with a parse of the text, not `value`:
        // serde_json's default float parsing may differ from the value in the last bit.
        if let Ok(reading) = formats::read(body.as_bytes(), ct, forced) {
            if !matches!(forced, Some(Format::Kubernetes | Format::Aspnet)) {
                let parsed: Json = serde_json::from_str(&body).expect("a JSON value's text parses");
                prop_assert_eq!(reading.json, Some(parsed));
            }
        }
    }

    #[test]
    fn every_word_maps_to_its_vocabulary_status_in_every_format(
        format in prop::sample::select(WORD_FORMATS.to_vec()),
        overall in word(),
        components in named_words(),
    ) {
        count_case!("every_word_maps_to_its_vocabulary_status_in_every_format");
        let (body, ct) = render(format, &overall, &components);
        for forced in [None, Some(format)] {
            let parsed = read(&body, Some(ct), forced).map_err(TestCaseError::fail)?;
            prop_assert_eq!(parsed.format, format);
            let d = parsed.declared.clone().expect("declared");
            prop_assert_eq!(&d.word, &overall);
            prop_assert_eq!((d.status, d.reason.clone()), expected(&overall));
            if format == Format::Simple {
                continue;
            }
            let got: Vec<(String, Status)> =
                parsed.components.iter().map(|c| (c.name.clone(), c.status)).collect();
            let want: Vec<(String, Status)> =
                components.iter().map(|(n, w)| (n.clone(), expected(w).0)).collect();
            prop_assert_eq!(got, want);
            for (c, (_, w)) in parsed.components.iter().zip(&components) {
                if let (Status::Warn, Some(r)) = expected(w) {
                    prop_assert_eq!(c.reason.as_deref(), Some(r.as_str()));
                    prop_assert!(r.contains(&printable(w)));
                }
            }
        }
    }

    #[test]
    fn aggregator_lists_round_trip_their_statuses(
        overall in word(),
        lists in prop::collection::btree_map(name(), prop::sample::select(vec!["ok", "degraded", "down"]), 0..12),
    ) {
        count_case!("aggregator_lists_round_trip_their_statuses");
        let mut services: Map<String, Json> = ["ok", "degraded", "down"].iter().map(|k| (k.to_string(), json!([]))).collect();
        for (n, list) in &lists {
            if let Some(Json::Array(a)) = services.get_mut(*list) {
                a.push(json!(n));
            }
        }
        let body = json!({"status": overall, "services": services, "infrastructure": {"ok": []}});
        let parsed = read(body.to_string().as_bytes(), Some("application/json"), None)
            .map_err(TestCaseError::fail)?;
        prop_assert_eq!(parsed.format, Format::ServiceLists);
        prop_assert_eq!(parsed.components.len(), lists.len());
        for c in &parsed.components {
            let word = lists[c.name.as_str()];
            prop_assert_eq!(c.status, expected(word).0);
        }
    }

    #[test]
    fn kubernetes_listings_round_trip(
        checks in prop::collection::btree_map("[a-z][a-z0-9/_-]{0,20}", any::<bool>(), 0..12),
        passed in any::<bool>(),
    ) {
        count_case!("kubernetes_listings_round_trip");
        let mut text = String::new();
        for (n, ok) in &checks {
            text.push_str(&if *ok { format!("[+]{n} ok\n") } else { format!("[-]{n} failed: reason withheld\n") });
        }
        text.push_str(if passed { "readyz check passed\n" } else { "readyz check failed\n" });
        let parsed = read(text.as_bytes(), Some("text/plain"), None).map_err(TestCaseError::fail)?;
        prop_assert_eq!(parsed.format, Format::Kubernetes);
        prop_assert_eq!(parsed.declared.expect("declared").status, if passed { Status::Pass } else { Status::Fail });
        let got: Vec<(String, Status)> = parsed.components.iter().map(|c| (c.name.clone(), c.status)).collect();
        let want: Vec<(String, Status)> = checks.iter().map(|(n, ok)| (n.clone(), if *ok { Status::Pass } else { Status::Fail })).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn unknown_words_are_warn_and_name_the_word(w in any::<String>()) {
        count_case!("unknown_words_are_warn_and_name_the_word");
        let (status, reason) = map_status(&w);
        let known = WORDS[..18].contains(&w.trim().to_ascii_lowercase().as_str());
        if known {
            prop_assert_eq!(reason, None);
        } else {
            prop_assert_eq!(status, Status::Warn);
            prop_assert_eq!(reason, Some(format!("unknown status '{}'", printable(&w))));
        }
    }

    #[test]
    fn condition_parse_never_panics(text in prop_oneof![
        any::<String>(),
        "[a-z_.0-9 ]{0,30}(==|!=|<|<=|>|>=|=|<>)[ -~]{0,20}",
    ], warn in any::<bool>()) {
        count_case!("condition_parse_never_panics");
        let severity = if warn { Status::Warn } else { Status::Fail };
        match Condition::parse(&text, severity) {
            Ok(c) => {
                prop_assert_eq!(c.expression, text.trim());
                prop_assert_eq!(c.severity, severity);
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn condition_evaluate_never_panics_and_explains_failures(
        path in "(status|response_time_ms|cert_days_remaining|body\\.[a-z]{1,3}(\\.[a-z0-9]{1,3}){0,3})",
        op in prop::sample::select(vec!["==", "!=", "<", "<=", ">", ">="]),
        literal in prop::sample::select(vec!["0", "30", "-1.5", "1e300", "'ok'", "true", "null", "\"x\""]),
        body in arb_json(),
        http in prop::option::of(any::<u16>()),
        ms in prop::option::of(any::<u64>()),
        days in prop::option::of(any::<i64>()),
    ) {
        count_case!("condition_evaluate_never_panics_and_explains_failures");
        let Ok(c) = Condition::parse(&format!("{path} {op} {literal}"), Status::Warn) else {
            return Ok(());
        };
        let ctx = Context { http_status: http, response_time_ms: ms, cert_days_remaining: days, body: Some(&body) };
        let r = c.evaluate(&ctx);
        prop_assert!(r.status == Status::Pass || r.status == Status::Warn);
        if r.status != Status::Pass {
            prop_assert!(r.reason.is_some());
        }
    }

    #[test]
    fn config_load_returns_err_never_panics(
        input in prop_oneof![
            arb_json().prop_map(|v| v.to_string()),
            any::<String>(),
            (prop::collection::vec(prop_oneof![
                Just(json!({"url": "https://example.com/h"})),
                Just(json!({"url": "http://127.0.0.1:1/h", "format": "spring", "conditions": ["status == 200"]})),
                arb_json(),
            ], 0..3), arb_json()).prop_map(|(targets, metrics)| json!({"targets": targets, "metrics": metrics}).to_string()),
        ],
        url in prop::option::of(prop::sample::select(vec!["https://example.com", "not a url", ""])),
    ) {
        count_case!("config_load_returns_err_never_panics");
        let overrides = Overrides { url: url.map(str::to_string), ..Overrides::default() };
        if let Ok(c) = config::load(None, Some(&input), &overrides, &|_| None) {
            prop_assert!(!c.targets.is_empty(), "a valid config has targets");
        }
    }
}
