//! ASP.NET Core health checks: the JSON writer (`status`, `totalDuration`, `entries`) and the
//! default plain-text body (`Healthy` / `Degraded` / `Unhealthy`).

use super::fields::{component, declared, malformed, measurements, status_field, texts};
use super::shape::{Format, Object, Parsed};
use crate::check::report::{Measurement, Value};
use serde_json::Value as Json;

/// The words the default text writer emits.
const TEXT_WORDS: [&str; 3] = ["Healthy", "Degraded", "Unhealthy"];

/// Whether a text body is the default writer's single word.
pub(super) fn is_text_body(text: &str) -> bool {
    let t = text.trim();
    TEXT_WORDS.iter().any(|w| w.eq_ignore_ascii_case(t))
}

/// Reads the plain-text body: the word is the declared status, no components.
pub(super) fn parse_text(text: &str) -> Parsed {
    Parsed {
        format: Format::Aspnet,
        declared: Some(declared(text.trim())),
        components: Vec::new(),
    }
}

/// Reads the JSON writer's body: one component per entry, `duration` in ms, numeric `data`.
pub(super) fn parse(object: &Object) -> Parsed {
    let components = match object.get("entries") {
        Some(Json::Object(entries)) => entries
            .iter()
            .map(|(name, entry)| match entry {
                Json::Object(fields) => {
                    let mut ms: Vec<Measurement> = fields
                        .get("duration")
                        .and_then(Json::as_str)
                        .and_then(timespan_ms)
                        .map(|v| Measurement {
                            name: "duration".into(),
                            value: Value::Number(v),
                            unit: Some("ms".into()),
                        })
                        .into_iter()
                        .collect();
                    if let Some(Json::Object(data)) = fields.get("data") {
                        ms.extend(measurements(data, &[]));
                    }
                    component(
                        name,
                        status_field(fields, "status"),
                        texts(fields, &["description", "exception"]),
                        ms,
                    )
                }
                Json::String(word) => component(name, declared(word), Vec::new(), Vec::new()),
                other => malformed(name, other),
            })
            .collect(),
        _ => Vec::new(),
    };
    Parsed {
        format: Format::Aspnet,
        declared: Some(status_field(object, "status")),
        components,
    }
}

/// A .NET `TimeSpan` string (`[d.]hh:mm:ss[.fffffff]`) in milliseconds.
fn timespan_ms(text: &str) -> Option<f64> {
    let (days, rest) = match text.split_once('.') {
        Some((d, r)) if !d.contains(':') => (d.parse::<f64>().ok()?, r),
        _ => (0.0, text),
    };
    let mut parts = rest.splitn(3, ':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    let ms = (((days * 24.0 + h) * 60.0 + m) * 60.0 + s) * 1000.0;
    // Round to a microsecond so `00:00:00.0123` is 12.3, not 12.299999999999999.
    let ms = (ms * 1000.0).round() / 1000.0;
    ms.is_finite().then_some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::report::Status;

    fn parse_str(body: &str) -> Parsed {
        parse(&crate::check::formats::fields::test_object(body))
    }

    #[test]
    fn maps_each_text_word() {
        for (word, status) in [
            ("Healthy", Status::Pass),
            ("Degraded", Status::Warn),
            ("Unhealthy", Status::Fail),
        ] {
            assert!(is_text_body(word));
            let p = parse_text(&format!("{word}\n"));
            let d = p.declared.unwrap();
            assert_eq!((d.word.as_str(), d.status), (word, status));
        }
    }

    #[test]
    fn reads_entries_with_duration_data_and_exception() {
        let p = parse_str(include_str!(
            "../../../tests/fixtures/formats/aspnet/unhealthy.json"
        ));
        assert_eq!(p.declared.unwrap().status, Status::Fail);
        let db = &p.components[0];
        assert_eq!((db.name.as_str(), db.status), ("sql", Status::Fail));
        assert_eq!(
            db.reason.as_deref(),
            Some("SQL Server check failed; System.TimeoutException: connect timed out")
        );
        assert_eq!(db.measurements[0].name, "duration");
        assert_eq!(db.measurements[0].value, Value::Number(5012.3));
        let cache = &p.components[1];
        assert_eq!(
            (cache.status, cache.reason.as_deref()),
            (Status::Warn, Some("slow"))
        );
        assert_eq!(cache.measurements[2].name, "hit_ratio");
        assert_eq!(cache.measurements[2].value, Value::Number(0.42));
        assert_eq!(p.components[2].status, Status::Pass);
    }

    #[test]
    fn parses_timespans() {
        assert_eq!(timespan_ms("00:00:00.0123"), Some(12.3));
        assert_eq!(timespan_ms("00:01:00"), Some(60000.0));
        assert_eq!(timespan_ms("1.00:00:00"), Some(86_400_000.0));
        assert_eq!(timespan_ms("soon"), None);
    }
}
