//! NestJS Terminus: `{"status":"ok|error|shutting_down","info":{},"error":{},"details":{}}`,
//! each indicator `{"status":"up"|"down", "message"?, …}`.

use super::fields::{status_field, status_object};
use super::shape::{Format, Object, Parsed};
use crate::check::report::ComponentResult;
use serde_json::Value as Json;

/// Reads a Terminus body. Components come from `details` (every indicator); a body without
/// `details` falls back to `info` then `error`, a name in both keeping the `error` entry.
pub(super) fn parse(object: &Object) -> Parsed {
    let mut components: Vec<ComponentResult> = Vec::new();
    if let Some(Json::Object(details)) = object.get("details") {
        components.extend(
            details
                .iter()
                .map(|(n, v)| status_object(n, v, &["message", "error", "reason"])),
        );
    } else {
        let mut merged = Object::new();
        for key in ["info", "error"] {
            if let Some(Json::Object(group)) = object.get(key) {
                for (n, v) in group {
                    merged.insert(n.clone(), v.clone());
                }
            }
        }
        components.extend(
            merged
                .iter()
                .map(|(n, v)| status_object(n, v, &["message", "error", "reason"])),
        );
    }
    Parsed {
        format: Format::Terminus,
        declared: Some(status_field(object, "status")),
        components,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::report::Status;

    fn parse_str(body: &str) -> Parsed {
        parse(&crate::check::formats::fields::test_object(body))
    }

    #[test]
    fn reads_details_with_messages() {
        let p = parse_str(include_str!(
            "../../../tests/fixtures/formats/terminus/error.json"
        ));
        let d = p.declared.unwrap();
        assert_eq!((d.word.as_str(), d.status), ("error", Status::Fail));
        let got: Vec<_> = p
            .components
            .iter()
            .map(|c| (c.name.as_str(), c.status, c.reason.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("database", Status::Pass, None),
                ("redis", Status::Fail, Some("Connection is closed.")),
            ]
        );
    }

    #[test]
    fn falls_back_to_info_and_error() {
        let p = parse_str(
            r#"{"status":"error","info":{"db":{"status":"up"}},"error":{"mq":{"status":"down","message":"timeout"}}}"#,
        );
        let got: Vec<_> = p
            .components
            .iter()
            .map(|c| (c.name.as_str(), c.status))
            .collect();
        assert_eq!(got, [("db", Status::Pass), ("mq", Status::Fail)]);
    }

    #[test]
    fn maps_each_word() {
        for (word, status) in [
            ("ok", Status::Pass),
            ("error", Status::Fail),
            ("shutting_down", Status::Fail),
        ] {
            let p = parse_str(&format!(
                r#"{{"status":"{word}","info":{{}},"error":{{}},"details":{{}}}}"#
            ));
            assert_eq!(p.declared.unwrap().status, status, "{word}");
        }
        let p =
            parse_str(r#"{"status":"ok","details":{"a":{"status":"up"},"b":{"status":"down"}}}"#);
        assert_eq!(p.components[0].status, Status::Pass);
        assert_eq!(p.components[1].status, Status::Fail);
    }
}
