//! The service lists (a monitoring service's `/health/system`): `status` OK/DEGRADED/CRITICAL,
//! `services` and `infrastructure` as lists of names under `ok` / `degraded` / `down`,
//! `critical_failures`, and `performance` numbers.

use super::fields::{declared, join_reasons, measurements, status_field};
use super::shape::{Format, Object, Parsed};
use crate::check::report::{ComponentResult, Status};
use crate::check::text::{kind, printable};
use serde_json::Value as Json;
use std::collections::HashMap;

/// The groups whose lists name components.
const GROUPS: [&str; 2] = ["services", "infrastructure"];

/// Reads a service lists body. Each listed name becomes a component; the list key is its status word
/// (`ok` PASS, `degraded` WARN, `down` FAIL, any other key an unknown word). `critical_failures`
/// entries that name a component go into its reason; all of them go into the declared reason.
/// `performance` numbers become the measurements of a PASS component named `performance`, so
/// they are published like any other component's numbers; the service's own latency thresholds
/// already show in its `status`.
pub(super) fn parse(object: &Object) -> Parsed {
    let mut components: Vec<ComponentResult> = Vec::new();
    for group in GROUPS {
        match object.get(group) {
            Some(Json::Object(lists)) => {
                for (word, names) in lists {
                    read_list(group, word, names, &mut components);
                }
            }
            Some(other) => components.push(ComponentResult {
                name: group.to_string(),
                status: Status::Fail,
                reason: Some(format!(
                    "expected an object of ok/degraded/down lists, found {}",
                    kind(other)
                )),
                measurements: Vec::new(),
            }),
            None => {}
        }
    }

    let failures = critical_failures(object.get("critical_failures"));
    if !failures.is_empty() {
        // Built once so 5,000 components and 5,000 failures stay linear.
        let index: HashMap<String, usize> = components
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
        for (name, message) in &failures {
            if let Some(&i) = name.as_ref().and_then(|n| index.get(n)) {
                // `index` was built from `components` just above, so `i` is in range.
                let c = &mut components[i];
                let said = message.clone().unwrap_or_else(|| "critical failure".into());
                c.reason = join_reasons(c.reason.take().into_iter().chain([said]));
            }
        }
    }

    if let Some(Json::Object(perf)) = object.get("performance") {
        components.push(ComponentResult {
            name: "performance".into(),
            status: Status::Pass,
            reason: None,
            measurements: measurements(perf, &[]),
        });
    }

    let mut status = status_field(object, "status");
    if !failures.is_empty() {
        let listed: Vec<String> = failures
            .iter()
            .map(|(name, message)| match (name, message) {
                (Some(n), Some(m)) => format!("{n}: {m}"),
                (Some(n), None) => n.clone(),
                (None, Some(m)) => m.clone(),
                (None, None) => String::new(),
            })
            .collect();
        let head = status
            .reason
            .take()
            .unwrap_or_else(|| format!("service reports {}", printable(&status.word)));
        status.reason = Some(format!(
            "{head}; critical failures: {}",
            printable(&listed.join(", "))
        ));
    }
    Parsed {
        format: Format::ServiceLists,
        declared: Some(status),
        components,
    }
}

/// Adds one component per name in `group.word`.
fn read_list(group: &str, word: &str, names: &Json, out: &mut Vec<ComponentResult>) {
    let Json::Array(names) = names else {
        out.push(ComponentResult {
            name: format!("{group}.{word}"),
            status: Status::Fail,
            reason: Some(format!("expected a list of names, found {}", kind(names))),
            measurements: Vec::new(),
        });
        return;
    };
    let mapped = declared(word);
    for (i, entry) in names.iter().enumerate() {
        let name = match entry {
            Json::String(n) => Some(n.clone()),
            Json::Object(o) => o.get("name").and_then(Json::as_str).map(str::to_string),
            _ => None,
        };
        match name {
            Some(name) => out.push(ComponentResult {
                name,
                status: mapped.status,
                reason: mapped.reason.clone().or_else(|| {
                    (mapped.status != Status::Pass)
                        .then(|| format!("listed under {group}.{}", printable(word)))
                }),
                measurements: Vec::new(),
            }),
            None => out.push(ComponentResult {
                name: format!("{group}.{word}[{i}]"),
                status: Status::Fail,
                reason: Some(format!("expected a name, found {}", kind(entry))),
                measurements: Vec::new(),
            }),
        }
    }
}

/// `(component name, message)` pairs from strings (a name) or objects
/// (`component`/`name`/`service` and `message`).
fn critical_failures(value: Option<&Json>) -> Vec<(Option<String>, Option<String>)> {
    let Some(Json::Array(items)) = value else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| match item {
            Json::String(s) => Some((Some(s.clone()), None)),
            Json::Object(o) => {
                let field = |keys: &[&str]| {
                    keys.iter()
                        .find_map(|k| o.get(*k).and_then(Json::as_str))
                        .map(str::to_string)
                };
                let pair = (
                    field(&["component", "name", "service"]),
                    field(&["message", "error", "reason"]),
                );
                (pair != (None, None)).then_some(pair)
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::report::Value;

    fn parse_str(body: &str) -> Parsed {
        parse(&crate::check::formats::fields::test_object(body))
    }

    #[test]
    fn reads_the_example() {
        let p = parse_str(include_str!(
            "../../../tests/fixtures/formats/service_lists/ok.json"
        ));
        let d = p.declared.unwrap();
        assert_eq!(
            (d.word.as_str(), d.status, d.reason),
            ("OK", Status::Pass, None)
        );
        let names: Vec<_> = p.components.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "main_backend",
                "scheduler",
                "risk_guard",
                "redis",
                "postgres",
                "binance_api",
                "performance"
            ]
        );
        assert!(p.components.iter().all(|c| c.status == Status::Pass));
        let perf = p.components.last().unwrap();
        assert_eq!(perf.measurements[0].name, "avg_service_latency_ms");
        assert_eq!(perf.measurements[0].value, Value::Number(45.3));
        assert_eq!(perf.measurements[1].value, Value::Number(120.5));
    }

    #[test]
    fn maps_each_list_and_puts_critical_failures_in_reasons() {
        let p = parse_str(include_str!(
            "../../../tests/fixtures/formats/service_lists/critical.json"
        ));
        let d = p.declared.unwrap();
        assert_eq!(d.status, Status::Fail);
        assert_eq!(
            d.reason.as_deref(),
            Some("service reports CRITICAL; critical failures: redis, ai_system: model server unreachable")
        );
        let by_name = |n: &str| p.components.iter().find(|c| c.name == n).unwrap();
        assert_eq!(by_name("main_backend").status, Status::Pass);
        let sched = by_name("scheduler");
        assert_eq!(
            (sched.status, sched.reason.as_deref()),
            (Status::Warn, Some("listed under services.degraded"))
        );
        let ai = by_name("ai_system");
        assert_eq!(
            (ai.status, ai.reason.as_deref()),
            (
                Status::Fail,
                Some("listed under services.down; model server unreachable")
            )
        );
        let redis = by_name("redis");
        assert_eq!(
            (redis.status, redis.reason.as_deref()),
            (
                Status::Fail,
                Some("listed under infrastructure.down; critical failure")
            )
        );
    }

    #[test]
    fn maps_degraded_status_word() {
        let p =
            parse_str(r#"{"status":"DEGRADED","services":{"ok":[],"degraded":["x"],"down":[]}}"#);
        assert_eq!(p.declared.unwrap().status, Status::Warn);
        assert_eq!(p.components[0].status, Status::Warn);
    }

    #[test]
    fn wrong_shapes_fail_with_specific_reasons() {
        let p =
            parse_str(r#"{"status":"OK","services":{"ok":"main","down":[7]},"infrastructure":[]}"#);
        let got: Vec<_> = p
            .components
            .iter()
            .map(|c| (c.name.as_str(), c.status, c.reason.as_deref().unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "services.ok",
                    Status::Fail,
                    "expected a list of names, found a string"
                ),
                (
                    "services.down[0]",
                    Status::Fail,
                    "expected a name, found a number"
                ),
                (
                    "infrastructure",
                    Status::Fail,
                    "expected an object of ok/degraded/down lists, found an array"
                ),
            ]
        );
    }
}
