//! The component list (a trading-engine dashboard): `overall_status`
//! HEALTHY/WARNING/CRITICAL/DOWN plus `components[]` with `component_id`, `status`,
//! `key_metrics[]` (name, value, unit) and `last_error`.

use super::fields::{component, malformed, measurement, measurements, status_field, texts};
use super::shape::{Format, Object, Parsed};
use crate::check::report::{ComponentResult, Measurement};
use serde_json::Value as Json;

/// Component fields that are neither measurements nor reasons.
const NOT_MEASUREMENTS: [&str; 3] = ["status", "key_metrics", "metrics"];

/// Reads a component list body. Metrics come from `key_metrics` (or the `metrics` of the full
/// `ComponentHealth`), with units, then the component's own numbers (`error_count`,
/// `uptime_seconds`).
pub(super) fn parse(object: &Object) -> Parsed {
    let components = match object.get("components") {
        Some(Json::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| read_component(i, item))
            .collect(),
        Some(Json::Object(by_name)) => by_name
            .iter()
            .map(|(name, item)| match item {
                Json::Object(fields) => from_fields(name, fields),
                other => malformed(name, other),
            })
            .collect(),
        _ => Vec::new(),
    };
    Parsed {
        format: Format::ComponentList,
        declared: Some(status_field(object, "overall_status")),
        components,
    }
}

fn read_component(i: usize, item: &Json) -> ComponentResult {
    let Json::Object(fields) = item else {
        return malformed(&format!("components[{i}]"), item);
    };
    let name = ["component_id", "name", "id"]
        .iter()
        .find_map(|k| fields.get(*k).and_then(Json::as_str))
        .map_or_else(|| format!("components[{i}]"), str::to_string);
    from_fields(&name, fields)
}

fn from_fields(name: &str, fields: &Object) -> ComponentResult {
    let mut ms: Vec<Measurement> = ["key_metrics", "metrics"]
        .iter()
        .filter_map(|k| fields.get(*k).and_then(Json::as_array))
        .flatten()
        .filter_map(|m| {
            let m = m.as_object()?;
            let metric_name = m.get("name")?.as_str()?;
            measurement(
                metric_name,
                m.get("value")?,
                m.get("unit").and_then(Json::as_str),
            )
        })
        .collect();
    ms.extend(measurements(fields, &NOT_MEASUREMENTS));
    component(
        name,
        status_field(fields, "status"),
        texts(fields, &["last_error", "message", "error"]),
        ms,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::report::{Status, Value};

    fn parse_str(body: &str) -> Parsed {
        parse(&crate::check::formats::fields::test_object(body))
    }

    #[test]
    fn reads_the_dashboard_with_units() {
        let p = parse_str(include_str!(
            "../../../tests/fixtures/formats/component_list/healthy.json"
        ));
        let d = p.declared.unwrap();
        assert_eq!((d.word.as_str(), d.status), ("HEALTHY", Status::Pass));
        let db = &p.components[0];
        assert_eq!((db.name.as_str(), db.status), ("database", Status::Pass));
        assert_eq!(
            db.measurements,
            vec![
                Measurement {
                    name: "connection_time".into(),
                    value: Value::Number(25.5),
                    unit: Some("ms".into())
                },
                Measurement {
                    name: "database_size".into(),
                    value: Value::Number(150.2),
                    unit: Some("MB".into())
                },
            ]
        );
    }

    #[test]
    fn maps_each_word_and_quotes_last_error() {
        let p = parse_str(include_str!(
            "../../../tests/fixtures/formats/component_list/critical.json"
        ));
        assert_eq!(p.declared.unwrap().status, Status::Fail);
        let got: Vec<_> = p
            .components
            .iter()
            .map(|c| (c.name.as_str(), c.status, c.reason.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("database", Status::Pass, None),
                ("exchange_api", Status::Warn, Some("rate limited (429)")),
                ("order_router", Status::Fail, Some("queue stalled for 300s")),
                ("market_feed", Status::Fail, Some("websocket closed")),
            ]
        );
        let router = &p.components[2];
        assert_eq!(router.measurements[1].name, "error_count");
        assert_eq!(router.measurements[1].value, Value::Number(12.0));
    }

    #[test]
    fn maps_warning_and_down_overall() {
        for (word, status) in [
            ("WARNING", Status::Warn),
            ("DOWN", Status::Fail),
            ("CRITICAL", Status::Fail),
        ] {
            let p = parse_str(&format!(r#"{{"overall_status":"{word}","components":[]}}"#));
            assert_eq!(p.declared.unwrap().status, status, "{word}");
        }
    }

    #[test]
    fn non_object_entries_fail_by_position() {
        let p =
            parse_str(r#"{"overall_status":"HEALTHY","components":["db",{"status":"HEALTHY"}]}"#);
        assert_eq!(p.components[0].name, "components[0]");
        assert_eq!(
            p.components[0].reason.as_deref(),
            Some("expected an object with a status, found a string")
        );
        assert_eq!(
            (p.components[1].name.as_str(), p.components[1].status),
            ("components[1]", Status::Pass)
        );
    }
}
