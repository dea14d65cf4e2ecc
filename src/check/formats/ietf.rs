//! IETF draft-inadarei-api-health-check (`application/health+json`): `status` pass/warn/fail
//! and `checks` keyed `"component:measurement"` (or a plain name), each an array of
//! `{status, observedValue, observedUnit, output, componentId}`.

use super::fields::{join_reasons, measurement, status_field, texts};
use super::shape::{Format, Object, Parsed};
use crate::check::report::{ComponentResult, Measurement, Status};
use crate::check::text::{kind, printable};
use serde_json::Value as Json;
use std::collections::HashMap;

/// One component while its entries are gathered.
struct Group {
    name: String,
    status: Status,
    said: Vec<String>,
    measurements: Vec<Measurement>,
}

/// Reads an IETF body. Entries are grouped by the component part of their key (before the first
/// `:`), in order of first appearance; a component is the worst of its entries; a numeric
/// `observedValue` is a measurement named after the measurement part (or the component), suffixed
/// `/componentId` when one key lists several instances; every `output` goes into the reason.
pub(super) fn parse(object: &Object) -> Parsed {
    let mut groups: Vec<Group> = Vec::new();
    // Name → position in `groups`, so thousands of checks stay linear.
    let mut index: HashMap<String, usize> = HashMap::new();
    if let Some(Json::Object(checks)) = object.get("checks") {
        for (key, entries) in checks {
            let (component, measured) = match key.split_once(':') {
                Some((c, m)) => (c, m),
                None => (key.as_str(), key.as_str()),
            };
            let at = *index.entry(component.to_string()).or_insert_with(|| {
                groups.push(Group {
                    name: component.to_string(),
                    status: Status::Pass,
                    said: Vec::new(),
                    measurements: Vec::new(),
                });
                groups.len() - 1
            });
            // `at` came from `index`, which only holds positions already pushed to `groups`.
            let group = &mut groups[at];
            let entries: Vec<&Json> = match entries {
                Json::Array(items) => items.iter().collect(),
                Json::Object(_) => vec![entries],
                other => {
                    group.status = Status::Fail;
                    group.said.push(format!(
                        "{key}: expected a list of checks, found {}",
                        kind(other)
                    ));
                    continue;
                }
            };
            let several = entries.len() > 1;
            for entry in entries {
                add_entry(group, key, measured, entry, several);
            }
        }
    }
    let mut declared = status_field(object, "status");
    if declared.status != Status::Pass {
        if let Some(output) = texts(object, &["output"]).pop() {
            let head = declared
                .reason
                .take()
                .unwrap_or_else(|| format!("service reports {}", printable(&declared.word)));
            declared.reason = Some(format!("{head}: {}", printable(&output)));
        }
    }
    Parsed {
        format: Format::Ietf,
        declared: Some(declared),
        components: groups
            .into_iter()
            .map(|g| ComponentResult {
                name: g.name,
                status: g.status,
                reason: join_reasons(g.said),
                measurements: g.measurements,
            })
            .collect(),
    }
}

/// Adds one check entry to its component's group: the worst status, its `output` in the reason,
/// a numeric `observedValue` as a measurement (named per instance when one key lists several).
fn add_entry(group: &mut Group, key: &str, measured: &str, entry: &Json, several: bool) {
    let Json::Object(fields) = entry else {
        group.status = Status::Fail;
        group.said.push(format!(
            "{key}: expected an object with a status, found {}",
            kind(entry)
        ));
        return;
    };
    let status = status_field(fields, "status");
    group.status = group.status.worst(status.status);
    group.said.extend(status.reason);
    group.said.extend(texts(fields, &["output"]));
    let instance = fields.get("componentId").and_then(Json::as_str);
    let name = match instance {
        Some(id) if several => format!("{measured}/{id}"),
        _ => measured.to_string(),
    };
    if let Some(value) = fields.get("observedValue") {
        let unit = fields.get("observedUnit").and_then(Json::as_str);
        group.measurements.extend(measurement(&name, value, unit));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::report::Value;

    fn parse_str(body: &str) -> Parsed {
        parse(&crate::check::formats::fields::test_object(body))
    }

    #[test]
    fn groups_entries_by_component_and_takes_the_worst() {
        let p = parse_str(include_str!(
            "../../../tests/fixtures/formats/ietf/warn.json"
        ));
        let d = p.declared.unwrap();
        assert_eq!((d.word.as_str(), d.status), ("warn", Status::Warn));
        assert_eq!(
            d.reason.as_deref(),
            Some("service reports warn: cpu is busy")
        );
        let got: Vec<_> = p
            .components
            .iter()
            .map(|c| (c.name.as_str(), c.status, c.reason.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("cpu", Status::Warn, Some("node 2 above 85%")),
                ("memory", Status::Pass, None),
                ("mongo", Status::Fail, Some("connection refused")),
                ("uptime", Status::Pass, None),
            ]
        );
        let cpu = &p.components[0];
        let names: Vec<_> = cpu.measurements.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["utilization/6fd416e0", "utilization/3b7f0e09"]);
        assert_eq!(cpu.measurements[1].value, Value::Number(91.2));
        assert_eq!(cpu.measurements[1].unit.as_deref(), Some("percent"));
        let mongo = &p.components[2];
        assert_eq!(mongo.measurements[0].name, "responseTime");
        assert_eq!(mongo.measurements[0].unit.as_deref(), Some("ms"));
        assert_eq!(p.components[3].measurements[0].name, "uptime");
    }

    #[test]
    fn maps_each_word_and_alias() {
        let table = [
            ("pass", Status::Pass),
            ("ok", Status::Pass),
            ("up", Status::Pass),
            ("warn", Status::Warn),
            ("fail", Status::Fail),
            ("error", Status::Fail),
            ("down", Status::Fail),
        ];
        for (word, status) in table {
            let p = parse_str(&format!(
                r#"{{"status":"{word}","checks":{{"db:ping":[{{"status":"{word}"}}]}}}}"#
            ));
            assert_eq!(p.declared.unwrap().status, status, "{word}");
            assert_eq!(p.components[0].status, status, "{word}");
        }
    }

    #[test]
    fn wrong_shapes_fail_the_component_with_a_reason() {
        let p = parse_str(r#"{"status":"pass","checks":{"db:ping":"up","q":[3]}}"#);
        let got: Vec<_> = p
            .components
            .iter()
            .map(|c| (c.name.as_str(), c.status, c.reason.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "db",
                    Status::Fail,
                    Some("db:ping: expected a list of checks, found a string")
                ),
                (
                    "q",
                    Status::Fail,
                    Some("q: expected an object with a status, found a number")
                ),
            ]
        );
    }
}
