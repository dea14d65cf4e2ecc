//! The component map (`/api/health/system`): `global_status` plus one object per component, each
//! with a `status` word and numbers/booleans (`fresh_symbols`, `is_running`) kept as measurements.

use super::fields::{status_field, status_object};
use super::shape::{Format, Object, Parsed};

/// Top-level keys that describe the response, not a component.
const NOT_COMPONENTS: [&str; 2] = ["global_status", "timestamp"];

/// Component fields quoted in the reason when present.
const TEXT_KEYS: [&str; 5] = ["reason", "message", "error", "last_error", "detail"];

/// Reads a component map body. A component given as a bare string (`"db": "PASS"`) is read as its
/// status word: the shorthand carries exactly that information, and an unknown word still shows
/// up as WARN. Any other non-object (number, boolean, null, array) is a FAIL component.
pub(super) fn parse(object: &Object) -> Parsed {
    let components = object
        .iter()
        .filter(|(name, _)| !NOT_COMPONENTS.contains(&name.as_str()))
        .map(|(name, value)| status_object(name, value, &TEXT_KEYS))
        .collect();
    Parsed {
        format: Format::ComponentMap,
        declared: Some(status_field(object, "global_status")),
        components,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::report::{Measurement, Status, Value};

    fn parse_str(body: &str) -> Parsed {
        parse(&crate::check::formats::fields::test_object(body))
    }

    #[test]
    fn reads_the_example_in_body_order() {
        let p = parse_str(include_str!(
            "../../../tests/fixtures/formats/component_map/warn.json"
        ));
        let d = p.declared.unwrap();
        assert_eq!((d.word.as_str(), d.status), ("WARN", Status::Warn));
        let names: Vec<_> = p.components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "market_data",
                "market_updater",
                "signal_monitor",
                "telegram",
                "trade_system"
            ]
        );
        let md = &p.components[0];
        assert_eq!(md.status, Status::Pass);
        assert_eq!(
            md.measurements,
            vec![
                Measurement {
                    name: "fresh_symbols".into(),
                    value: Value::Number(33.0),
                    unit: None
                },
                Measurement {
                    name: "stale_symbols".into(),
                    value: Value::Number(0.0),
                    unit: None
                },
                Measurement {
                    name: "max_age_minutes".into(),
                    value: Value::Number(0.21),
                    unit: None
                },
            ]
        );
        assert_eq!(p.components[2].status, Status::Warn);
        let trade = &p.components[4];
        let names: Vec<_> = trade.measurements.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            ["open_orders", "last_check_ok"],
            "null max_open_orders is skipped"
        );
        assert_eq!(trade.measurements[1].value, Value::Bool(true));
    }

    #[test]
    fn maps_each_pass_warn_fail_word() {
        for (word, status) in [
            ("PASS", Status::Pass),
            ("WARN", Status::Warn),
            ("FAIL", Status::Fail),
        ] {
            let p = parse_str(&format!(
                r#"{{"global_status":"{word}","db":{{"status":"{word}"}}}}"#
            ));
            assert_eq!(p.declared.unwrap().status, status, "{word}");
            assert_eq!(p.components[0].status, status, "{word}");
        }
    }

    #[test]
    fn global_status_of_wrong_type_is_fail_with_reason() {
        let d = parse_str(r#"{"global_status":3}"#).declared.unwrap();
        assert_eq!(d.status, Status::Fail);
        assert_eq!(
            d.reason.as_deref(),
            Some("global_status is a number (3), expected a status word")
        );
    }

    #[test]
    fn component_as_string_is_read_as_its_status_word() {
        let p = parse_str(r#"{"global_status":"PASS","market_data":"FAIL","x":"sideways"}"#);
        assert_eq!(p.components[0].status, Status::Fail);
        assert_eq!(
            p.components[0].reason.as_deref(),
            Some("service reports FAIL")
        );
        assert_eq!(p.components[1].status, Status::Warn);
        assert_eq!(
            p.components[1].reason.as_deref(),
            Some("unknown status 'sideways'")
        );
    }

    #[test]
    fn failing_component_without_text_names_its_word_and_false_flags() {
        let p = parse_str(
            r#"{"global_status":"FAIL","signal_monitor":{"status":"FAIL","is_running":false,"last_cycle_age_minutes":42.5}}"#,
        );
        assert_eq!(
            p.components[0].reason.as_deref(),
            Some("service reports FAIL (is_running=false)")
        );
    }

    #[test]
    fn non_object_components_fail_saying_what_was_found() {
        let p = parse_str(r#"{"global_status":"PASS","a":3,"b":[1],"c":null,"d":true}"#);
        let got: Vec<_> = p
            .components
            .iter()
            .map(|c| (c.status, c.reason.clone().unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    Status::Fail,
                    "expected an object with a status, found a number".to_string()
                ),
                (
                    Status::Fail,
                    "expected an object with a status, found an array".to_string()
                ),
                (
                    Status::Fail,
                    "expected an object with a status, found null".to_string()
                ),
                (
                    Status::Fail,
                    "expected an object with a status, found a boolean".to_string()
                ),
            ]
        );
    }

    #[test]
    fn component_without_status_fails_and_keeps_its_message() {
        let p = parse_str(r#"{"global_status":"FAIL","db":{"error":"connection refused"}}"#);
        assert_eq!(p.components[0].status, Status::Fail);
        assert_eq!(
            p.components[0].reason.as_deref(),
            Some("no 'status' field; connection refused")
        );
    }

    #[test]
    fn duplicate_keys_keep_the_last_value() {
        let p =
            parse_str(r#"{"global_status":"PASS","db":{"status":"PASS"},"db":{"status":"FAIL"}}"#);
        assert_eq!(p.components.len(), 1);
        assert_eq!(p.components[0].status, Status::Fail);
    }
}
