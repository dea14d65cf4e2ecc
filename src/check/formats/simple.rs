//! A bare status body with no components: `{"status":"ok"}`, `{"status":"UP"}`, or
//! `{"status":"ok","path":"/api/health"}`.

use super::fields::status_field;
use super::shape::{Format, Object, Parsed};

/// Reads a simple body: only `status` matters.
pub(super) fn parse(object: &Object) -> Parsed {
    Parsed {
        format: Format::Simple,
        declared: Some(status_field(object, "status")),
        components: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::report::Status;
    use serde_json::Value as Json;

    fn declared(body: &str) -> (String, Status, Option<String>) {
        let v: Json = serde_json::from_str(body).unwrap();
        let p = parse(v.as_object().unwrap());
        assert!(p.components.is_empty());
        let d = p.declared.unwrap();
        (d.word, d.status, d.reason)
    }

    #[test]
    fn maps_each_common_word() {
        let table = [
            ("ok", Status::Pass),
            ("UP", Status::Pass),
            ("healthy", Status::Pass),
            ("pass", Status::Pass),
            ("degraded", Status::Warn),
            ("down", Status::Fail),
            ("error", Status::Fail),
        ];
        for (word, status) in table {
            let body = format!(r#"{{"status":"{word}","path":"/api/health"}}"#);
            assert_eq!(declared(&body), (word.to_string(), status, None), "{word}");
        }
    }

    #[test]
    fn unknown_word_is_warn_naming_the_word() {
        assert_eq!(
            declared(r#"{"status":"meh"}"#),
            (
                "meh".into(),
                Status::Warn,
                Some("unknown status 'meh'".into())
            )
        );
    }

    #[test]
    fn status_of_wrong_type_fails() {
        assert_eq!(
            declared(r#"{"status":true}"#),
            (
                "true".into(),
                Status::Fail,
                Some("status is a boolean (true), expected a status word".into())
            )
        );
    }
}
