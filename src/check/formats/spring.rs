//! Spring Boot Actuator `/actuator/health`: UP / DOWN / OUT_OF_SERVICE / UNKNOWN, with nested
//! `components` (2.2+) or `details` (2.0–2.1), and numeric `details` as measurements.

use super::fields::{component, declared, malformed, measurements, status_field, texts};
use super::shape::{Format, Object, Parsed};
use crate::check::report::ComponentResult;
use serde_json::Value as Json;

/// Reads an Actuator body. Nested groups are flattened to their leaves, named with `/`
/// (`db/primary`): `.` already navigates body fields in conditions, and `/` is what Actuator
/// itself uses in the URL of a nested component (`/actuator/health/db/primary`).
pub(super) fn parse(object: &Object) -> Parsed {
    let mut components = Vec::new();
    for (name, value) in children(object) {
        walk(name.clone(), value, &mut components);
    }
    Parsed {
        format: Format::Spring,
        declared: Some(status_field(object, "status")),
        components,
    }
}

/// The nested indicators of an object: every `components` entry, and every `details` entry
/// that is itself an indicator (an object with a `status`).
fn children(object: &Object) -> Vec<(&String, &Json)> {
    let mut out: Vec<(&String, &Json)> = Vec::new();
    if let Some(Json::Object(c)) = object.get("components") {
        out.extend(c.iter());
    }
    if let Some(Json::Object(d)) = object.get("details") {
        out.extend(d.iter().filter(|(_, v)| is_indicator(v)));
    }
    out
}

fn is_indicator(value: &Json) -> bool {
    value.get("status").is_some_and(Json::is_string)
}

fn walk(name: String, value: &Json, out: &mut Vec<ComponentResult>) {
    let fields = match value {
        Json::Object(fields) => fields,
        Json::String(word) => {
            out.push(component(&name, declared(word), Vec::new(), Vec::new()));
            return;
        }
        other => {
            out.push(malformed(&name, other));
            return;
        }
    };
    let nested = children(fields);
    if nested.is_empty() {
        let (said, ms) = match fields.get("details") {
            Some(Json::Object(details)) => (
                texts(details, &["error", "message", "reason"]),
                measurements(details, &[]),
            ),
            _ => (Vec::new(), Vec::new()),
        };
        out.push(component(&name, status_field(fields, "status"), said, ms));
    } else {
        for (child, value) in nested {
            walk(format!("{name}/{child}"), value, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::report::{Status, Value};

    fn parse_str(body: &str) -> Parsed {
        parse(&crate::check::formats::fields::test_object(body))
    }

    #[test]
    fn flattens_nested_components_and_reads_disk_space() {
        let p = parse_str(include_str!(
            "../../../tests/fixtures/formats/spring/down.json"
        ));
        let d = p.declared.unwrap();
        assert_eq!((d.word.as_str(), d.status), ("DOWN", Status::Fail));
        let got: Vec<_> = p
            .components
            .iter()
            .map(|c| (c.name.as_str(), c.status, c.reason.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("db", Status::Fail, Some("org.springframework.jdbc.CannotGetJdbcConnectionException: Failed to obtain JDBC Connection")),
                ("diskSpace", Status::Pass, None),
                ("ping", Status::Pass, None),
                ("redis/primary", Status::Pass, None),
                ("redis/replica", Status::Warn, Some("service reports UNKNOWN")),
            ]
        );
        let disk = &p.components[1];
        let ms: Vec<_> = disk
            .measurements
            .iter()
            .map(|m| (m.name.as_str(), m.value.clone()))
            .collect();
        assert_eq!(
            ms,
            [
                ("total", Value::Number(499963174912.0)),
                ("free", Value::Number(91300069376.0)),
                ("threshold", Value::Number(10485760.0)),
                ("exists", Value::Bool(true)),
            ]
        );
    }

    #[test]
    fn reads_pre_2_2_details() {
        let p = parse_str(include_str!(
            "../../../tests/fixtures/formats/spring/details_2_1.json"
        ));
        let got: Vec<_> = p
            .components
            .iter()
            .map(|c| (c.name.as_str(), c.status))
            .collect();
        assert_eq!(got, [("diskSpace", Status::Pass), ("db", Status::Pass)]);
        assert_eq!(p.components[0].measurements[0].name, "total");
    }

    #[test]
    fn maps_each_word() {
        for (word, status) in [
            ("UP", Status::Pass),
            ("DOWN", Status::Fail),
            ("OUT_OF_SERVICE", Status::Fail),
            ("UNKNOWN", Status::Warn),
        ] {
            let p = parse_str(&format!(
                r#"{{"status":"{word}","components":{{"a":{{"status":"{word}"}}}}}}"#
            ));
            assert_eq!(p.declared.unwrap().status, status, "{word}");
            assert_eq!(p.components[0].status, status, "{word}");
        }
    }
}
