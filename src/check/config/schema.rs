//! The shipped JSON Schema (`config/canary.schema.json`) against the parser: the keys of every
//! object are exactly those the raw serde types accept (compared with the schema `schemars`
//! derives from those types), closed wherever the types refuse unknown keys; and its ranges,
//! defaults and format names are the code's. Test-only.

use super::defaults::*;
use super::raw::RawConfig;
use crate::check::formats::Format;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The schema as shipped.
const SHIPPED: &str = include_str!("../../../config/canary.schema.json");

/// The keys an object accepts at one place of the config, and whether it refuses others.
#[derive(Debug, Default, PartialEq)]
struct Shape {
    keys: BTreeSet<String>,
    closed: bool,
}

/// Every object of a schema by its place (`targets[].conditions[]`), following `$ref`, unions,
/// array items and map values.
fn shapes(root: &Value) -> BTreeMap<String, Shape> {
    let mut out = BTreeMap::new();
    walk(root, root, String::new(), &mut out);
    out
}

fn walk(root: &Value, node: &Value, at: String, out: &mut BTreeMap<String, Shape>) {
    if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
        let target = root
            .pointer(reference.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("{at}: unresolved $ref {reference}"));
        walk(root, target, at.clone(), out);
    }
    for union in ["anyOf", "oneOf", "allOf"] {
        for sub in node
            .get(union)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            walk(root, sub, at.clone(), out);
        }
    }
    if let Some(properties) = node.get("properties").and_then(Value::as_object) {
        let shape = out.entry(at.clone()).or_default();
        shape.keys.extend(properties.keys().cloned());
        shape.closed |= node.get("additionalProperties") == Some(&Value::Bool(false));
        for (key, sub) in properties {
            let place = if at.is_empty() {
                key.clone()
            } else {
                format!("{at}.{key}")
            };
            walk(root, sub, place, out);
        }
    }
    if let Some(items) = node.get("items") {
        walk(root, items, format!("{at}[]"), out);
    }
    if let Some(values) = node.get("additionalProperties").filter(|v| v.is_object()) {
        walk(root, values, format!("{at}{{}}"), out);
    }
}

fn shipped() -> Value {
    serde_json::from_str(SHIPPED).expect("config/canary.schema.json is JSON")
}

/// The shipped schema's node at a JSON pointer.
fn at<'a>(schema: &'a Value, pointer: &str) -> &'a Value {
    schema
        .pointer(pointer)
        .unwrap_or_else(|| panic!("no {pointer} in the shipped schema"))
}

#[test]
fn shipped_schema_has_exactly_the_keys_the_parser_accepts() {
    let derived = serde_json::to_value(schemars::schema_for!(RawConfig)).expect("schema as JSON");
    let (derived, shipped) = (shapes(&derived), shapes(&shipped()));
    let places: Vec<&str> = derived.keys().map(String::as_str).collect();
    assert_eq!(
        places,
        [
            "",
            "alerts",
            "alerts.flapping",
            "alerts.maintenance[]",
            "metrics",
            "targets[]",
            "targets[].conditions[]"
        ],
        "the walk reaches every object of the config"
    );
    assert_eq!(
        shipped, derived,
        "config/canary.schema.json (left) and the raw config types (right) disagree"
    );
}

/// Every numeric setting with a range: (schema pointer, minimum, maximum, default) as the code
/// has them.
fn ranges() -> [(String, u64, u64, u64); 9] {
    let t = "/$defs/target/properties";
    let a = "/$defs/alerts/properties";
    [
        (
            "/properties/concurrency".into(),
            *CONCURRENCY_RANGE.start() as u64,
            *CONCURRENCY_RANGE.end() as u64,
            DEFAULT_CONCURRENCY as u64,
        ),
        (
            format!("{t}/retries"),
            (*RETRIES_RANGE.start()).into(),
            (*RETRIES_RANGE.end()).into(),
            DEFAULT_RETRIES.into(),
        ),
        (
            format!("{t}/retry_delay_ms"),
            *RETRY_DELAY_MS_RANGE.start(),
            *RETRY_DELAY_MS_RANGE.end(),
            DEFAULT_RETRY_DELAY_MS,
        ),
        (
            format!("{t}/max_body_bytes"),
            1,
            MAX_BODY_BYTES_LIMIT as u64,
            DEFAULT_MAX_BODY_BYTES as u64,
        ),
        (
            format!("{a}/reminder_minutes"),
            (*REMINDER_MINUTES_RANGE.start()).into(),
            (*REMINDER_MINUTES_RANGE.end()).into(),
            DEFAULT_REMINDER_MINUTES.into(),
        ),
        (
            format!("{a}/failure_threshold"),
            (*FAILURE_THRESHOLD_RANGE.start()).into(),
            (*FAILURE_THRESHOLD_RANGE.end()).into(),
            DEFAULT_FAILURE_THRESHOLD.into(),
        ),
        (
            format!("{a}/recovery_threshold"),
            (*RECOVERY_THRESHOLD_RANGE.start()).into(),
            (*RECOVERY_THRESHOLD_RANGE.end()).into(),
            DEFAULT_RECOVERY_THRESHOLD.into(),
        ),
        (
            "/$defs/flapping/properties/window_minutes".into(),
            (*FLAP_WINDOW_MINUTES_RANGE.start()).into(),
            (*FLAP_WINDOW_MINUTES_RANGE.end()).into(),
            DEFAULT_FLAP_WINDOW_MINUTES.into(),
        ),
        (
            "/$defs/flapping/properties/changes".into(),
            (*FLAP_CHANGES_RANGE.start()).into(),
            (*FLAP_CHANGES_RANGE.end()).into(),
            DEFAULT_FLAP_CHANGES.into(),
        ),
    ]
}

#[test]
fn shipped_ranges_and_defaults_are_the_codes() {
    let s = shipped();
    let t = "/$defs/target/properties";
    let a = "/$defs/alerts/properties";
    for (pointer, min, max, default) in ranges() {
        let node = at(&s, &pointer);
        assert_eq!(node["minimum"], min, "{pointer}");
        assert_eq!(node["maximum"], max, "{pointer}");
        assert_eq!(node["default"], default, "{pointer}");
    }
    let timeout = at(&s, &format!("{t}/timeout_seconds"));
    assert_eq!(timeout["maximum"].as_f64(), Some(MAX_TIMEOUT_SECONDS));
    assert_eq!(timeout["default"].as_f64(), Some(DEFAULT_TIMEOUT_SECONDS));
    let defaults: [(String, Value); 7] = [
        ("/properties/canary".into(), DEFAULT_CANARY.into()),
        (
            "/$defs/metrics/properties/namespace".into(),
            DEFAULT_NAMESPACE.into(),
        ),
        (
            "/$defs/metrics/properties/publisher".into(),
            DEFAULT_PUBLISHER.into(),
        ),
        (format!("{t}/method"), DEFAULT_METHOD.into()),
        (format!("{t}/critical"), DEFAULT_CRITICAL.into()),
        (format!("{a}/notify_warn"), DEFAULT_NOTIFY_WARN.into()),
        (format!("{t}/format"), "auto".into()),
    ];
    for (pointer, want) in defaults {
        assert_eq!(at(&s, &pointer)["default"], want, "{pointer}");
    }
    assert_eq!(at(&s, "/properties/canary")["maxLength"], MAX_NAME_LEN);
    let window = at(&s, "/$defs/window/properties/duration_minutes");
    assert_eq!(window["minimum"], *WINDOW_MINUTES_RANGE.start());
    assert_eq!(window["maximum"], *WINDOW_MINUTES_RANGE.end());
    assert_eq!(at(&s, &format!("{a}/maintenance"))["maxItems"], MAX_WINDOWS);
}

#[test]
fn shipped_format_names_are_the_ones_the_parser_takes() {
    let s = shipped();
    let names: BTreeSet<&str> = at(&s, "/$defs/target/properties/format/enum")
        .as_array()
        .expect("an enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for f in Format::ALL {
        assert!(names.contains(f.as_str()), "{} is missing", f.as_str());
    }
    for name in names.iter().filter(|n| **n != "auto") {
        assert!(Format::from_name(name).is_some(), "{name} is not a format");
    }
}
