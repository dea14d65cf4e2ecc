//! Health response formats: detection and `read`, body → format, declared status and components.
//! One file per format; `shape` holds what they produce, `fields` what they share (the status
//! vocabulary, field readers). None of them knows about HTTP transport or AWS.

use crate::check::text::{kind, printable};
use serde_json::Value as Json;

mod aspnet;
mod component_list;
mod component_map;
mod error;
mod fields;
mod ietf;
mod kubernetes;
mod microprofile;
mod service_lists;
mod shape;
mod simple;
mod spring;
mod terminus;

pub use error::{JsonHint, Promise, ReadError};
pub use fields::{declared, map_status};
use shape::Object;
pub use shape::{Declared, Format, Parsed};

/// What [`read`] made of a body: the format's reading, and the body as JSON when it is JSON
/// (what conditions read), so no caller parses the body a second time.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    /// The format, declared status and components.
    pub parsed: Parsed,
    /// The body as a JSON value (after any byte-order mark), when it parsed as JSON.
    pub json: Option<Json>,
}

impl Reading {
    /// A reading of a body that is not JSON.
    fn text(parsed: Parsed) -> Reading {
        Reading { parsed, json: None }
    }
}

/// Reads a body: detects the format from the body and content type (unless `forced`) and
/// parses it. `Err` is why the target FAILs (`body is not valid JSON (application/json): …`).
///
/// Detection, first match wins (the table is in docs/formats.md, "Detection"):
///
/// | rule | format |
/// |---|---|
/// | a forced format | that format |
/// | JSON object with `global_status` | `component_map` |
/// | JSON object with `overall_status` | `component_list` |
/// | content type `application/health+json` and a JSON object | `ietf` |
/// | `status` plus `services` or `infrastructure` as an object | `service_lists` |
/// | `entries` as an object | `aspnet` |
/// | `checks` as an array | `microprofile` |
/// | `checks` as an object | `ietf` |
/// | `status` plus `info` or `error` | `terminus` |
/// | `status` plus `components` or `details` as an object | `spring` |
/// | `status` as a string | `simple` |
/// | text with `[+]name` / `[-]name` lines or a final `… check passed/failed` line | `kubernetes` |
/// | text `Healthy`, `Degraded` or `Unhealthy` | `aspnet` |
/// | anything else | `http` |
///
/// A body that declares JSON (a JSON content type, or a forced JSON format) must parse; any
/// other body that does not parse as JSON is tried as text, then falls to `http`.
pub fn read(
    body: &[u8],
    content_type: Option<&str>,
    forced: Option<Format>,
) -> Result<Reading, ReadError> {
    // A UTF-8 byte-order mark is legal in front of JSON text from some Windows stacks.
    let (body, offset) = match body.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (rest, 3),
        None => (body, 0),
    };
    let json_type = content_type.filter(|ct| is_json_content_type(ct));
    // What the caller promised about the body, quoted in every parse error.
    let promise = match forced {
        Some(f) => Some(Promise::Forced(f)),
        None => json_type.map(|ct| Promise::ContentType(printable(ct))),
    };
    let text = std::str::from_utf8(body);
    if forced == Some(Format::Http) {
        // Judged by the HTTP status alone, but conditions may still read a JSON body.
        let json = text.ok().and_then(|t| serde_json::from_str(t).ok());
        return Ok(Reading {
            parsed: Parsed::http(),
            json,
        });
    }
    let text = match (text, &promise) {
        (Ok(text), _) => text,
        (Err(e), Some(promise)) => {
            return Err(ReadError::NotUtf8 {
                at: e.valid_up_to() + offset,
                promise: promise.clone(),
            })
        }
        (Err(_), None) => return Ok(Reading::text(Parsed::http())),
    };
    match forced {
        Some(Format::Kubernetes) => Ok(Reading::text(kubernetes::parse(text))),
        Some(Format::Aspnet) if aspnet::is_text_body(text) => {
            Ok(Reading::text(aspnet::parse_text(text)))
        }
        Some(format) => {
            let promise = Promise::Forced(format);
            let value = parse_json(text, &promise)?;
            match value.as_object() {
                Some(object) => Ok(Reading {
                    parsed: parse_object(format, object),
                    json: Some(value),
                }),
                None => Err(ReadError::NotObject {
                    found: kind(&value),
                    promise,
                }),
            }
        }
        None => {
            let value = match &promise {
                Some(promise) => parse_json(text, promise)?,
                None => match serde_json::from_str::<Json>(text) {
                    Ok(value) => value,
                    Err(_) => return Ok(Reading::text(detect_text(text))),
                },
            };
            Ok(Reading {
                parsed: detect_json(&value, json_type),
                json: Some(value),
            })
        }
    }
}

/// Picks the format of a parsed JSON body (see the table on [`read`]).
fn detect_json(value: &Json, json_type: Option<&str>) -> Parsed {
    let Some(object) = value.as_object() else {
        return Parsed::http();
    };
    let has = |key: &str| object.contains_key(key);
    let is_object = |key: &str| object.get(key).is_some_and(Json::is_object);
    let is_health_json = json_type.is_some_and(|ct| media_type(ct) == "application/health+json");
    let format = if has("global_status") {
        Format::ComponentMap
    } else if has("overall_status") {
        Format::ComponentList
    } else if is_health_json {
        Format::Ietf
    } else if has("status") && (is_object("services") || is_object("infrastructure")) {
        Format::ServiceLists
    } else if is_object("entries") {
        Format::Aspnet
    } else if object.get("checks").is_some_and(Json::is_array) {
        Format::Microprofile
    } else if is_object("checks") {
        Format::Ietf
    } else if has("status") && (has("info") || has("error")) {
        Format::Terminus
    } else if has("status") && (is_object("components") || is_object("details")) {
        Format::Spring
    } else if object.get("status").is_some_and(Json::is_string) {
        // Only a status *word* makes a simple body: `{"status":200,"message":"OK"}` is an API
        // envelope, and reading 200 as a health word would page people for a healthy service.
        Format::Simple
    } else {
        Format::Http
    };
    parse_object(format, object)
}

/// Picks the format of a body that is not JSON.
fn detect_text(text: &str) -> Parsed {
    if kubernetes::is_verbose_body(text) {
        kubernetes::parse(text)
    } else if aspnet::is_text_body(text) {
        aspnet::parse_text(text)
    } else {
        Parsed::http()
    }
}

/// Runs one format's JSON parser.
fn parse_object(format: Format, object: &Object) -> Parsed {
    match format {
        Format::ComponentMap => component_map::parse(object),
        Format::ServiceLists => service_lists::parse(object),
        Format::ComponentList => component_list::parse(object),
        Format::Ietf => ietf::parse(object),
        Format::Spring => spring::parse(object),
        Format::Aspnet => aspnet::parse(object),
        Format::Microprofile => microprofile::parse(object),
        Format::Terminus => terminus::parse(object),
        Format::Simple => simple::parse(object),
        // Text formats forced onto a JSON body: read what the text parser can, i.e. nothing.
        Format::Kubernetes | Format::Http => Parsed::http(),
    }
}

/// Parses a body that was promised to be JSON; the error says what was promised and what broke.
fn parse_json(text: &str, promise: &Promise) -> Result<Json, ReadError> {
    if text.trim().is_empty() {
        return Err(ReadError::Empty {
            promise: promise.clone(),
        });
    }
    serde_json::from_str(text).map_err(|e| {
        let hint = if text.trim_start().starts_with('<') {
            Some(JsonHint::Html)
        } else if starts_non_json_number(text, &e) {
            Some(JsonHint::NonJsonNumber)
        } else if e.to_string().starts_with("recursion limit exceeded") {
            Some(JsonHint::TooDeep)
        } else {
            None
        };
        ReadError::NotJson {
            promise: promise.clone(),
            detail: printable(&e.to_string()),
            hint,
        }
    })
}

/// Whether a JSON error points at `NaN`, `Infinity` or `-Infinity`, which JavaScript emits.
fn starts_non_json_number(text: &str, e: &serde_json::Error) -> bool {
    let Some(line) = text.lines().nth(e.line().saturating_sub(1)) else {
        return false;
    };
    // serde_json reports the column of the character it rejected, a little into the token.
    let col = e.column().saturating_sub(1);
    let from = line
        .char_indices()
        .map(|(i, _)| i)
        // `-Infinity` is nine bytes: only a token that reaches the error position counts.
        .filter(|&i| i <= col && i + 9 >= col)
        .rev()
        .find(|&i| {
            let rest = &line[i..];
            rest.starts_with("NaN") || rest.starts_with("Infinity") || rest.starts_with("-Infinity")
        });
    from.is_some()
}

/// The media type of a `Content-Type` value, lower-cased, without parameters.
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Whether a `Content-Type` declares JSON (`application/json`, `text/json`, any `+json`).
pub fn is_json_content_type(content_type: &str) -> bool {
    let media = media_type(content_type);
    media == "application/json" || media == "text/json" || media.ends_with("+json")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::report::Status;

    /// [`super::read`] as most of these tests compare it: the format's reading, or the reason.
    fn read(body: &[u8], ct: Option<&str>, forced: Option<Format>) -> Result<Parsed, String> {
        super::read(body, ct, forced)
            .map(|r| r.parsed)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_json_body_is_handed_on_whenever_it_parsed() {
        let json = |body: &[u8], ct: Option<&str>, forced: Option<Format>| {
            super::read(body, ct, forced).map(|r| r.json)
        };
        let j = Some("application/json");
        let want = Some(serde_json::json!({"status": "UP"}));
        assert_eq!(
            json(b"\xEF\xBB\xBF{\"status\":\"UP\"}", j, None),
            Ok(want.clone())
        );
        assert_eq!(json(br#"{"status":"UP"}"#, None, None), Ok(want.clone()));
        assert_eq!(
            json(br#"{"status":"UP"}"#, None, Some(Format::Spring)),
            Ok(want.clone())
        );
        // Judged by the HTTP status alone, still readable by conditions.
        assert_eq!(json(br#"{"status":"UP"}"#, j, Some(Format::Http)), Ok(want));
        assert_eq!(json(br#"[1]"#, j, None), Ok(Some(serde_json::json!([1]))));
        assert_eq!(
            json(b"[+]ping ok\nreadyz check passed\n", None, None),
            Ok(None)
        );
        assert_eq!(json(b"\xff", None, None), Ok(None));
    }

    #[test]
    fn read_errors_name_what_promised_json_and_what_broke() {
        let ct = || Promise::ContentType("application/json".into());
        let cases: [(&[u8], Option<Format>, ReadError); 4] = [
            (b" ", None, ReadError::Empty { promise: ct() }),
            (
                b"\xEF\xBB\xBF\xff",
                None,
                ReadError::NotUtf8 {
                    at: 3,
                    promise: ct(),
                },
            ),
            (
                b"<html>",
                None,
                ReadError::NotJson {
                    promise: ct(),
                    detail: "expected value at line 1 column 1".into(),
                    hint: Some(JsonHint::Html),
                },
            ),
            (
                b"7",
                Some(Format::Ietf),
                ReadError::NotObject {
                    found: "a number",
                    promise: Promise::Forced(Format::Ietf),
                },
            ),
        ];
        for (body, forced, want) in cases {
            assert_eq!(
                super::read(body, Some("application/json"), forced),
                Err(want)
            );
        }
    }

    #[test]
    fn maps_every_vocabulary_word_case_insensitively() {
        for w in ["pass", "OK", "Up", "HEALTHY", "green"] {
            assert_eq!(map_status(w), (Status::Pass, None), "{w}");
        }
        for w in ["warn", "WARNING", "Degraded", "UNKNOWN", "yellow"] {
            assert_eq!(map_status(w), (Status::Warn, None), "{w}");
        }
        for w in [
            "fail",
            "ERROR",
            "Down",
            "CRITICAL",
            "Unhealthy",
            "OUT_OF_SERVICE",
            "shutting_down",
            "RED",
        ] {
            assert_eq!(map_status(w), (Status::Fail, None), "{w}");
        }
    }

    #[test]
    fn unknown_word_is_warn_with_reason() {
        assert_eq!(
            map_status("sideways"),
            (Status::Warn, Some("unknown status 'sideways'".into()))
        );
    }

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/formats");

    fn fixture(path: &str) -> Vec<u8> {
        std::fs::read(format!("{FIXTURES}/{path}")).unwrap()
    }

    #[test]
    fn detects_every_fixture_as_its_format() {
        let table = [
            (
                "component_map/warn.json",
                Some("application/json"),
                Format::ComponentMap,
            ),
            (
                "service_lists/critical.json",
                Some("application/json"),
                Format::ServiceLists,
            ),
            (
                "component_list/healthy.json",
                Some("application/json"),
                Format::ComponentList,
            ),
            (
                "ietf/warn.json",
                Some("application/health+json"),
                Format::Ietf,
            ),
            ("ietf/pass.json", Some("application/json"), Format::Ietf),
            (
                "spring/down.json",
                Some("application/vnd.spring-boot.actuator.v3+json"),
                Format::Spring,
            ),
            (
                "spring/details_2_1.json",
                Some("application/json;charset=UTF-8"),
                Format::Spring,
            ),
            (
                "aspnet/unhealthy.json",
                Some("application/json"),
                Format::Aspnet,
            ),
            ("aspnet/degraded.txt", Some("text/plain"), Format::Aspnet),
            (
                "microprofile/down.json",
                Some("application/json"),
                Format::Microprofile,
            ),
            (
                "terminus/error.json",
                Some("application/json; charset=utf-8"),
                Format::Terminus,
            ),
            (
                "kubernetes/failed.txt",
                Some("text/plain; charset=utf-8"),
                Format::Kubernetes,
            ),
            ("kubernetes/passed.txt", None, Format::Kubernetes),
            ("simple/ok.json", Some("application/json"), Format::Simple),
            ("simple/up.json", None, Format::Simple),
            ("http/page.html", Some("text/html"), Format::Http),
            (
                "http/no_status.json",
                Some("application/json"),
                Format::Http,
            ),
        ];
        for (path, ct, format) in table {
            let parsed = read(&fixture(path), ct, None).unwrap();
            assert_eq!(parsed.format, format, "{path}");
        }
    }

    #[test]
    fn health_json_content_type_decides_ietf() {
        let p = read(
            br#"{"status":"pass"}"#,
            Some("application/health+json"),
            None,
        )
        .unwrap();
        assert_eq!(p.format, Format::Ietf);
        let p = read(br#"{"status":"pass"}"#, Some("application/json"), None).unwrap();
        assert_eq!(p.format, Format::Simple);
    }

    #[test]
    fn ambiguous_bodies_fall_to_the_more_generic_format() {
        // `checks` is neither a list nor a map of checks, so this is only a status.
        let p = read(br#"{"status":"UP","checks":"all"}"#, None, None).unwrap();
        assert_eq!(p.format, Format::Simple);
        let p = read(br#"[{"status":"UP"}]"#, Some("application/json"), None).unwrap();
        assert_eq!(p.format, Format::Http);
        let p = read(b"ok", Some("text/plain"), None).unwrap();
        assert_eq!(p.format, Format::Http);
        let envelope = br#"{"status":200,"message":"OK"}"#;
        assert_eq!(
            read(envelope, Some("application/json"), None).unwrap(),
            Parsed::http()
        );
        let d = read(envelope, None, Some(Format::Simple))
            .unwrap()
            .declared
            .unwrap();
        assert_eq!(
            (d.status, d.reason.as_deref()),
            (
                Status::Fail,
                Some("status is a number (200), expected a status word")
            )
        );
    }

    #[test]
    fn a_forced_format_wins_over_detection() {
        let body = br#"{"status":"UP","details":{"db":{"status":"DOWN"}}}"#;
        assert_eq!(read(body, None, None).unwrap().format, Format::Spring);
        let p = read(body, None, Some(Format::Simple)).unwrap();
        assert_eq!((p.format, p.components.len()), (Format::Simple, 0));
        let p = read(body, None, Some(Format::ComponentMap)).unwrap();
        let d = p.declared.unwrap();
        assert_eq!(
            (d.status, d.reason.as_deref()),
            (Status::Fail, Some("no 'global_status' field"))
        );
        let p = read(
            b"<html></html>",
            Some("application/json"),
            Some(Format::Http),
        )
        .unwrap();
        assert_eq!(p.format, Format::Http);
    }

    #[test]
    fn bad_json_gives_specific_reasons() {
        let j = Some("application/json");
        type Case<'a> = (&'a [u8], Option<&'a str>, Option<Format>, &'a str);
        let table: [Case; 10] = [
            (b"", j, None, "empty body where JSON was declared (application/json)"),
            (b"  \n", Some("application/health+json"), None, "empty body where JSON was declared (application/health+json)"),
            (b"<html><body>502 Bad Gateway</body></html>", j, None,
             "body is not valid JSON (application/json): expected value at line 1 column 1 (the body looks like HTML)"),
            (br#"{"status":"ok","#, j, None,
             "body is not valid JSON (application/json): EOF while parsing a value at line 1 column 15"),
            (br#"{"global_status":"PASS","x":{"v":NaN}}"#, j, None,
             "body is not valid JSON (application/json): expected value at line 1 column 34 (NaN and Infinity are not JSON numbers)"),
            (br#"{"v": -Infinity}"#, j, None,
             "body is not valid JSON (application/json): invalid number at line 1 column 8 (NaN and Infinity are not JSON numbers)"),
            (br#"{"v":"NaN", "w": nope}"#, j, None,
             "body is not valid JSON (application/json): expected ident at line 1 column 19"),
            (br#"{"v": 1e400}"#, j, None,
             "body is not valid JSON (application/json): number out of range at line 1 column 11"),
            (b"{\"status\":\"ok\xff\"}", j, None, "body is not valid UTF-8 at byte 13 (application/json)"),
            (b"hello", None, Some(Format::Ietf),
             "body is not valid JSON (forced format ietf): expected value at line 1 column 1"),
        ];
        for (body, ct, forced, reason) in table {
            assert_eq!(
                read(body, ct, forced),
                Err(reason.to_string()),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn deep_nesting_is_stopped_by_the_recursion_limit() {
        let body = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let err = read(body.as_bytes(), Some("application/json"), None).unwrap_err();
        assert_eq!(
            err,
            "body is not valid JSON (application/json): recursion limit exceeded at line 1 column 128 (nested deeper than the 128-level limit)"
        );
        // Undeclared, the same body is just not a health format.
        assert_eq!(
            read(body.as_bytes(), None, None).unwrap().format,
            Format::Http
        );
    }

    #[test]
    fn a_utf8_bom_is_stripped() {
        let p = read(
            b"\xEF\xBB\xBF{\"status\":\"UP\"}",
            Some("application/json"),
            None,
        )
        .unwrap();
        assert_eq!(
            (p.format, p.declared.unwrap().status),
            (Format::Simple, Status::Pass)
        );
        let err = read(
            b"\xEF\xBB\xBF{\"a\":\"\xC3\"}",
            Some("application/json"),
            None,
        )
        .unwrap_err();
        assert_eq!(err, "body is not valid UTF-8 at byte 9 (application/json)");
    }

    #[test]
    fn undeclared_junk_is_http_without_error() {
        for body in [
            &b"\xff\xfe\x00garbage"[..],
            b"<html>fine</html>",
            b"",
            b"{\"truncated\":",
        ] {
            let p = read(body, None, None).unwrap();
            assert_eq!(p, Parsed::http());
            let p = read(body, Some("text/html"), None).unwrap();
            assert_eq!(p, Parsed::http());
        }
    }

    #[test]
    fn a_forced_json_format_rejects_non_objects() {
        assert_eq!(
            read(b"[1,2]", None, Some(Format::Spring)),
            Err("body is an array, expected a JSON object (forced format spring)".into())
        );
    }

    #[test]
    fn hostile_names_are_kept_verbatim_and_reasons_are_printable() {
        let long = "n".repeat(2048);
        let body = serde_json::json!({
            "global_status": "PASS",
            "bell\u{7}name": {"status": "PASS"},
            long.clone(): {"status": "PASS"},
            "🚀": {"status": "weird\nword\u{1b}[31m", "error": "x".repeat(500)},
        });
        let p = read(body.to_string().as_bytes(), None, None).unwrap();
        let names: Vec<_> = p.components.iter().map(|c| c.name.clone()).collect();
        assert_eq!(names, ["bell\u{7}name".to_string(), long, "🚀".to_string()]);
        let reason = p.components[2].reason.clone().unwrap();
        assert!(!reason.chars().any(char::is_control), "{reason:?}");
        assert!(
            reason.starts_with("unknown status 'weird word [31m'; xxx"),
            "{reason}"
        );
        assert!(reason.chars().count() < 300, "{}", reason.len());
    }

    #[test]
    fn five_thousand_components_stay_fast() {
        let mut seed = serde_json::Map::new();
        seed.insert("global_status".into(), "PASS".into());
        let mut ietf = serde_json::Map::new();
        let mut names = Vec::new();
        for i in 0..5000 {
            seed.insert(
                format!("c{i}"),
                serde_json::json!({"status": "PASS", "v": i}),
            );
            ietf.insert(
                format!("c{i}:m"),
                serde_json::json!([{"status": "pass", "observedValue": i}]),
            );
            names.push(format!("c{i}"));
        }
        let agg = serde_json::json!({"status":"CRITICAL","services":{"down": names},"critical_failures": names});
        let bodies = [
            serde_json::Value::Object(seed).to_string(),
            serde_json::json!({"status":"pass","checks": ietf}).to_string(),
            agg.to_string(),
        ];
        let start = std::time::Instant::now();
        for body in &bodies {
            let p = read(body.as_bytes(), Some("application/json"), None).unwrap();
            assert_eq!(p.components.len(), 5000);
        }
        // A hang guard, not a benchmark: linear parsing takes milliseconds.
        assert!(
            start.elapsed() < std::time::Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(Format::from_name(f.as_str()), Some(f));
        }
        assert_eq!(Format::from_name("auto"), None);
    }

    #[test]
    fn former_format_names_are_still_accepted() {
        for (former, now) in [
            ("seed_components", Format::ComponentMap),
            ("seed_aggregator", Format::ServiceLists),
            ("seed_component_list", Format::ComponentList),
        ] {
            assert_eq!(Format::from_name(former), Some(now), "{former}");
        }
        assert_eq!(Format::ComponentMap.as_str(), "component_map");
        assert_eq!(Format::ServiceLists.as_str(), "service_lists");
        assert_eq!(Format::ComponentList.as_str(), "component_list");
    }
}
