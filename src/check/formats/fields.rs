//! What every format shares when it reads a body: the status vocabulary (`map_status`) and the
//! readers of a component's status word, measurements and reason texts.

use super::shape::{Declared, Object};
use crate::check::report::{ComponentResult, Measurement, Status, Value};
use crate::check::text::{kind, printable};
use serde_json::Value as Json;

/// Test helper: a JSON object literal, for the per-format parsers' unit tests.
#[cfg(test)]
pub(crate) fn test_object(body: &str) -> Object {
    match serde_json::from_str(body) {
        Ok(Json::Object(map)) => map,
        other => panic!("test body is not a JSON object: {other:?}"),
    }
}

/// Reads the status word in `object[key]`: a word is mapped with [`map_status`]; a missing key or
/// a value of another type is FAIL with a reason naming the key and what was found.
pub(crate) fn status_field(object: &Object, key: &str) -> Declared {
    match object.get(key) {
        Some(Json::String(word)) => declared(word),
        Some(other) => {
            let text = printable(&other.to_string());
            Declared {
                reason: Some(format!(
                    "{key} is {} ({text}), expected a status word",
                    kind(other)
                )),
                word: text,
                status: Status::Fail,
            }
        }
        None => Declared {
            word: String::new(),
            status: Status::Fail,
            reason: Some(format!("no '{key}' field")),
        },
    }
}

/// Numbers and booleans of an object, in body order, as measurements; `skip` names fields that
/// are not measurements. Nulls, strings, arrays and objects are not measurements.
pub(crate) fn measurements(object: &Object, skip: &[&str]) -> Vec<Measurement> {
    object
        .iter()
        .filter(|(name, _)| !skip.contains(&name.as_str()))
        .filter_map(|(name, value)| measurement(name, value, None))
        .collect()
}

/// One measurement from a number or a boolean; `None` for any other value.
pub(crate) fn measurement(name: &str, value: &Json, unit: Option<&str>) -> Option<Measurement> {
    let value = match value {
        Json::Number(n) => Value::Number(n.as_f64().filter(|f| f.is_finite())?),
        Json::Bool(b) => Value::Bool(*b),
        _ => return None,
    };
    Some(Measurement {
        name: name.to_string(),
        value,
        unit: unit.map(str::to_string),
    })
}

/// The non-empty string fields among `keys`, in the order of `keys`, for a reason.
pub(crate) fn texts(object: &Object, keys: &[&str]) -> Vec<String> {
    keys.iter()
        .filter_map(|k| object.get(*k).and_then(Json::as_str))
        .filter(|t| !t.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// Joins reason parts, each made [`printable`]; `None` when there are none.
pub(crate) fn join_reasons(parts: impl IntoIterator<Item = String>) -> Option<String> {
    let parts: Vec<String> = parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .map(|p| printable(&p))
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// A component from its declared status plus what the service said about it.
pub(crate) fn component(
    name: &str,
    status: Declared,
    said: Vec<String>,
    measurements: Vec<Measurement>,
) -> ComponentResult {
    let mut reason = join_reasons(status.reason.clone().into_iter().chain(said));
    if reason.is_none() && status.status != Status::Pass {
        // A bare "FAIL" pages nobody usefully: name the word and any flags that are down.
        let down: Vec<String> = measurements
            .iter()
            .filter(|m| m.value == Value::Bool(false))
            .map(|m| format!("{}=false", printable(&m.name)))
            .collect();
        let flags = if down.is_empty() {
            String::new()
        } else {
            format!(" ({})", down.join(", "))
        };
        reason = Some(format!(
            "service reports {}{flags}",
            printable(&status.word)
        ));
    }
    ComponentResult {
        name: name.to_string(),
        status: status.status,
        reason,
        measurements,
    }
}

/// A component given as an object with a `status` word (texts from `text_keys` become its
/// reason, other numbers and flags its measurements), or as a bare status word; anything else
/// is `malformed`. Shared by the formats whose components are `{ "status": …, … }` maps.
pub(crate) fn status_object(name: &str, value: &Json, text_keys: &[&str]) -> ComponentResult {
    match value {
        Json::Object(fields) => component(
            name,
            status_field(fields, "status"),
            texts(fields, text_keys),
            measurements(fields, &["status"]),
        ),
        Json::String(word) => component(name, declared(word), Vec::new(), Vec::new()),
        other => malformed(name, other),
    }
}

/// A component whose value is not the object the format expects: FAIL, saying what was found.
pub(crate) fn malformed(name: &str, value: &Json) -> ComponentResult {
    ComponentResult {
        name: name.to_string(),
        status: Status::Fail,
        reason: Some(format!(
            "expected an object with a status, found {}",
            kind(value)
        )),
        measurements: Vec::new(),
    }
}

/// Maps a status word onto PASS / WARN / FAIL, case-insensitively.
/// An unknown word is WARN with reason `unknown status 'X'`.
pub fn map_status(word: &str) -> (Status, Option<String>) {
    match word.trim().to_ascii_lowercase().as_str() {
        "pass" | "ok" | "up" | "healthy" | "green" => (Status::Pass, None),
        "warn" | "warning" | "degraded" | "unknown" | "yellow" => (Status::Warn, None),
        "fail" | "error" | "down" | "critical" | "unhealthy" | "out_of_service"
        | "shutting_down" | "red" => (Status::Fail, None),
        _ => (
            Status::Warn,
            Some(format!("unknown status '{}'", printable(word))),
        ),
    }
}

/// A declared status from a word.
pub fn declared(word: &str) -> Declared {
    let (status, reason) = map_status(word);
    Declared {
        word: word.to_string(),
        status,
        reason,
    }
}
