//! MicroProfile Health: `{"status":"UP|DOWN","checks":[{"name","status","data"}]}`.

use super::fields::{component, malformed, measurements, status_field, texts};
use super::shape::{Format, Object, Parsed};
use serde_json::Value as Json;

/// Reads a MicroProfile body: one component per check, numeric `data` as measurements and a
/// `message`/`error`/`reason` string in `data` as the reason.
pub(super) fn parse(object: &Object) -> Parsed {
    let components = object
        .get("checks")
        .and_then(Json::as_array)
        .map(|checks| {
            checks
                .iter()
                .enumerate()
                .map(|(i, check)| {
                    let fallback = format!("checks[{i}]");
                    let Json::Object(fields) = check else {
                        return malformed(&fallback, check);
                    };
                    let name = fields
                        .get("name")
                        .and_then(Json::as_str)
                        .unwrap_or(&fallback);
                    let (said, ms) = match fields.get("data") {
                        Some(Json::Object(data)) => (
                            texts(data, &["message", "error", "reason"]),
                            measurements(data, &[]),
                        ),
                        _ => (Vec::new(), Vec::new()),
                    };
                    component(name, status_field(fields, "status"), said, ms)
                })
                .collect()
        })
        .unwrap_or_default();
    Parsed {
        format: Format::Microprofile,
        declared: Some(status_field(object, "status")),
        components,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::report::{Status, Value};

    #[test]
    fn reads_checks_with_data() {
        let v: Json = serde_json::from_str(include_str!(
            "../../../tests/fixtures/formats/microprofile/down.json"
        ))
        .unwrap();
        let p = parse(v.as_object().unwrap());
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
                ("database", Status::Pass, None),
                ("kafka", Status::Fail, Some("broker not available")),
            ]
        );
        assert_eq!(p.components[0].measurements[0].name, "pool_active");
        assert_eq!(p.components[0].measurements[0].value, Value::Number(4.0));
    }

    #[test]
    fn maps_up_and_down() {
        for (word, status) in [("UP", Status::Pass), ("DOWN", Status::Fail)] {
            let v: Json = serde_json::from_str(&format!(
                r#"{{"status":"{word}","checks":[{{"name":"a","status":"{word}"}}]}}"#
            ))
            .unwrap();
            let p = parse(v.as_object().unwrap());
            assert_eq!(p.declared.unwrap().status, status);
            assert_eq!(p.components[0].status, status);
        }
    }
}
