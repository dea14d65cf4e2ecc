//! One source of truth: the SAM template, alarms and dashboard must name only metrics the code
//! publishes (`metrics::contract`), in the right namespace with the right dimension sets, must
//! use every status metric, must pass the environment variables the code reads, and must keep
//! the function's IAM policy least-privilege.

use health_canary::check::config::{DEFAULT_CANARY, DEFAULT_NAMESPACE};
use health_canary::sinks::metrics::contract::{MetricSpec, Scope, METRICS};
use health_canary::sinks::metrics::sanitize::{sanitize, Key};
use serde_yaml_ng::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// The seed's components, which the alarms cover by default.
const SEED_COMPONENTS: &str = "market_data,market_updater,signal_monitor,telegram,trade_system";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(rel: &str) -> Value {
    let path = root().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {rel}: {e}"));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{rel} is not YAML: {e}"))
}

/// The CloudFormation tag of a node (`Ref`, `Sub`, `If`, …) and its content.
fn tagged(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((
            t.tag.to_string().trim_start_matches('!').to_string(),
            &t.value,
        )),
        Value::Mapping(m) if m.len() == 1 => {
            let (k, inner) = m.iter().next()?;
            let k = k.as_str()?;
            let name = k.strip_prefix("Fn::").or((k == "Ref").then_some("Ref"))?;
            Some((name.to_string(), inner))
        }
        _ => None,
    }
}

fn is_ref_to(v: &Value, param: &str) -> bool {
    matches!(tagged(v), Some((t, inner)) if t == "Ref" && inner.as_str() == Some(param))
}

fn resources(t: &Value) -> Vec<(String, &Value)> {
    t["Resources"]
        .as_mapping()
        .expect("Resources is a mapping")
        .iter()
        .map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), v))
        .collect()
}

fn of_type<'a>(t: &'a Value, ty: &str) -> Vec<(String, &'a Value)> {
    resources(t)
        .into_iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(ty))
        .collect()
}

fn param_default(t: &Value, name: &str) -> String {
    match &t["Parameters"][name]["Default"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("parameter {name} has no default: {other:?}"),
    }
}

/// One metric reference found in a template: where, namespace, name, dimension names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct MetricRef {
    place: String,
    namespace: String,
    name: String,
    dimensions: Vec<String>,
}

/// The metric each alarm watches; a namespace given as `!Ref Namespace` is that parameter's default.
fn alarm_refs(file: &str) -> Vec<MetricRef> {
    let t = load(file);
    of_type(&t, "AWS::CloudWatch::Alarm")
        .into_iter()
        .map(|(id, a)| {
            let p = &a["Properties"];
            let namespace = if is_ref_to(&p["Namespace"], "Namespace") {
                param_default(&t, "Namespace")
            } else {
                p["Namespace"]
                    .as_str()
                    .unwrap_or_else(|| {
                        panic!("{file} {id}: Namespace must be !Ref Namespace or a literal")
                    })
                    .to_string()
            };
            let dimensions = p["Dimensions"]
                .as_sequence()
                .map(|ds| {
                    ds.iter()
                        .map(|d| d["Name"].as_str().unwrap_or_default().to_string())
                        .collect()
                })
                .unwrap_or_default();
            MetricRef {
                place: format!("{file} {id}"),
                namespace,
                name: p["MetricName"].as_str().unwrap_or_default().to_string(),
                dimensions,
            }
        })
        .collect()
}

/// Replaces `${Param}` / `${AWS::Region}` in a `!Sub` string with the template's defaults.
fn substitute(t: &Value, text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').expect("closed ${");
        let name = &after[..end];
        out.push_str(&match name {
            "AWS::Region" => "us-east-1".to_string(),
            _ => param_default(t, name),
        });
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Reads `SEARCH('{NS,Dim,…} MetricName="X" …', …)` into a reference.
fn parse_search(place: &str, expr: &str) -> MetricRef {
    let open = expr
        .find('{')
        .unwrap_or_else(|| panic!("{place}: SEARCH without {{schema}}: {expr}"));
    let close = expr[open..]
        .find('}')
        .map(|i| open + i)
        .expect("closed schema");
    let mut schema = expr[open + 1..close]
        .split(',')
        .map(|s| s.trim().to_string());
    let namespace = schema.next().unwrap_or_default();
    let dimensions: Vec<String> = schema.collect();
    let key = "MetricName=\"";
    let at = expr
        .find(key)
        .unwrap_or_else(|| panic!("{place}: SEARCH without MetricName: {expr}"));
    let name = expr[at + key.len()..].split('"').next().unwrap_or_default();
    MetricRef {
        place: place.to_string(),
        namespace,
        name: name.to_string(),
        dimensions,
    }
}

/// Every metric the dashboard's widgets draw (explicit metric arrays and SEARCH expressions).
fn dashboard_refs() -> Vec<MetricRef> {
    let file = "infra/dashboard.yaml";
    let t = load(file);
    let mut refs = Vec::new();
    for (id, d) in of_type(&t, "AWS::CloudWatch::Dashboard") {
        let (tag, body) = tagged(&d["Properties"]["DashboardBody"]).expect("DashboardBody is !Sub");
        assert_eq!(tag, "Sub");
        let json = substitute(&t, body.as_str().expect("!Sub of a string"));
        let body: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| {
            panic!("{file} {id}: DashboardBody is not JSON after substitution: {e}")
        });
        for (w, widget) in body["widgets"]
            .as_array()
            .expect("widgets")
            .iter()
            .enumerate()
        {
            let place = format!("{file} {id} widget {w} ({})", widget["properties"]["title"]);
            for m in widget["properties"]["metrics"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let m = m.as_array().expect("a metric entry is an array");
                if let Some(expr) = m[0]["expression"].as_str() {
                    refs.push(parse_search(&place, expr));
                    continue;
                }
                let strings: Vec<String> = m
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect();
                assert!(
                    strings.len() >= 2
                        && strings.len() % 2 == 0
                        && !strings.contains(&".".to_string()),
                    "{place}: write metric entries out in full [ns, name, dim, value, …]: {m:?}"
                );
                refs.push(MetricRef {
                    place: place.clone(),
                    namespace: strings[0].clone(),
                    name: strings[1].clone(),
                    dimensions: strings[2..].iter().step_by(2).cloned().collect(),
                });
            }
        }
    }
    refs
}

fn spec(name: &str) -> Option<&'static MetricSpec> {
    METRICS.iter().find(|m| m.name == name)
}

/// Why a reference is not one the code publishes, or `None` when it is.
fn contract_violation(r: &MetricRef, measurements: &BTreeSet<String>) -> Option<String> {
    let dims: Vec<&str> = r.dimensions.iter().map(String::as_str).collect();
    if r.namespace == "AWS/Lambda" {
        return (r.name != "Errors" || dims != ["FunctionName"]).then(|| {
            format!(
                "{}: AWS/Lambda {} {dims:?} is not the Errors alarm",
                r.place, r.name
            )
        });
    }
    if r.namespace != DEFAULT_NAMESPACE {
        return Some(format!(
            "{}: namespace '{}' is not the canary's ({DEFAULT_NAMESPACE})",
            r.place, r.namespace
        ));
    }
    let expected = match spec(&r.name) {
        Some(s) => s.scope.dimensions(),
        None if measurements.contains(&r.name) => Scope::Component.dimensions(),
        None => {
            return Some(format!(
                "{}: metric '{}' is not published by the code (metrics::contract::METRICS: {:?}; measurements: {measurements:?})",
                r.place,
                r.name,
                METRICS.iter().map(|m| m.name).collect::<Vec<_>>()
            ))
        }
    };
    (dims != expected).then(|| {
        format!(
            "{}: metric '{}' has dimensions {dims:?}, the code publishes {expected:?}",
            r.place, r.name
        )
    })
}

/// The measurement metrics the template publishes by default (its Measurements parameter).
fn default_measurement_metrics() -> BTreeSet<String> {
    param_default(&load("template.yaml"), "Measurements")
        .split(',')
        .map(|field| sanitize(field, Key::MetricName))
        .collect()
}

fn all_refs() -> Vec<MetricRef> {
    let mut refs = alarm_refs("infra/alarms.yaml");
    refs.extend(dashboard_refs());
    refs
}

#[test]
fn every_alarm_and_widget_metric_is_one_the_code_publishes() {
    let measurements = default_measurement_metrics();
    let refs = all_refs();
    assert!(
        refs.len() >= 12,
        "too few metric references found: {refs:#?}"
    );
    let violations: Vec<String> = refs
        .iter()
        .filter_map(|r| contract_violation(r, &measurements))
        .collect();
    assert!(
        violations.is_empty(),
        "templates ↔ metrics contract:\n{}",
        violations.join("\n")
    );
}

#[test]
fn contract_check_names_a_misspelt_metric_and_wrong_dimensions() {
    let measurements = default_measurement_metrics();
    let cases = [
        (("HealthCanary", "ComponentStatuss", vec!["Canary", "Target", "Component"]), "metric 'ComponentStatuss' is not published"),
        (("HealthCanary", "TargetStatus", vec!["Canary", "Component"]), "has dimensions [\"Canary\", \"Component\"], the code publishes [\"Canary\", \"Target\"]"),
        (("HealthCanry", "CanaryStatus", vec!["Canary"]), "namespace 'HealthCanry' is not the canary's"),
        (("AWS/Lambda", "Throttles", vec!["FunctionName"]), "is not the Errors alarm"),
        (("HealthCanary", "StaleSymbols", vec!["Canary", "Target"]), "the code publishes [\"Canary\", \"Target\", \"Component\"]"),
    ];
    for ((ns, name, dims), want) in cases {
        let r = MetricRef {
            place: "case".into(),
            namespace: ns.into(),
            name: name.into(),
            dimensions: dims.into_iter().map(String::from).collect(),
        };
        let got = contract_violation(&r, &measurements).unwrap_or_default();
        assert!(got.contains(want), "{name}: expected '{want}', got '{got}'");
    }
}

#[test]
fn every_status_metric_has_an_alarm_or_a_dashboard_graph() {
    let used: BTreeSet<String> = all_refs().into_iter().map(|r| r.name).collect();
    let unused: Vec<&str> = METRICS
        .iter()
        .filter(|m| m.is_status && !used.contains(m.name))
        .map(|m| m.name)
        .collect();
    assert!(
        unused.is_empty(),
        "status metrics with neither alarm nor graph: {unused:?}"
    );
}

#[test]
fn alarms_cover_the_seed_components_targets_heartbeat_and_errors() {
    let t = load("infra/alarms.yaml");
    assert_eq!(param_default(&t, "Components"), SEED_COMPONENTS);
    assert_eq!(param_default(&t, "CanaryName"), DEFAULT_CANARY);
    let names: BTreeMap<String, usize> =
        alarm_refs("infra/alarms.yaml")
            .into_iter()
            .fold(BTreeMap::new(), |mut m, r| {
                *m.entry(r.name).or_default() += 1;
                m
            });
    let want: BTreeMap<String, usize> = [
        ("ComponentStatus", 10),
        ("TargetStatus", 5),
        ("CanaryHeartbeat", 1),
        ("Errors", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(names, want);

    let stopped = &t["Resources"]["CanaryStoppedAlarm"]["Properties"];
    assert_eq!(stopped["TreatMissingData"].as_str(), Some("breaching"));
    assert_eq!(
        stopped["ComparisonOperator"].as_str(),
        Some("LessThanThreshold")
    );
    assert_eq!(param_default(&t, "HeartbeatEvaluationPeriods"), "2");
    // Canary-stopped and Errors always notify; status alarms only when switched on.
    for id in ["CanaryStoppedAlarm", "LambdaErrorsAlarm"] {
        let p = &t["Resources"][id]["Properties"];
        assert!(
            p["AlarmActions"].is_sequence() && p["OKActions"].is_sequence(),
            "{id} must notify"
        );
    }
    for (id, a) in of_type(&t, "AWS::CloudWatch::Alarm") {
        if id.starts_with("ComponentAlarm") || id.starts_with("TargetAlarm") {
            let (tag, args) = tagged(&a["Properties"]["AlarmActions"]).expect("actions are !If");
            assert_eq!(tag, "If");
            assert_eq!(args[0].as_str(), Some("StatusActions"), "{id}");
        }
    }
    assert_eq!(param_default(&t, "StatusAlarmActions"), "false");
}

#[test]
fn function_environment_uses_only_variables_the_code_reads() {
    let t = load("template.yaml");
    let vars = t["Resources"]["Function"]["Properties"]["Environment"]["Variables"]
        .as_mapping()
        .expect("Environment.Variables");
    let names: Vec<&str> = vars.keys().filter_map(Value::as_str).collect();
    for name in &names {
        assert!(
            health_canary::check::config::env::ALL.contains(name),
            "template sets {name}, which the canary does not read (check::config::env::ALL)"
        );
    }
    for needed in [
        "CANARY_URL",
        "CANARY_CONFIG",
        "CANARY_NAME",
        "CANARY_NAMESPACE",
        "CANARY_TOPIC_ARN",
        "CANARY_STATE_TABLE",
        "CANARY_FAILURE_THRESHOLD",
        "CANARY_RECOVERY_THRESHOLD",
        "CANARY_FUNCTION_TIMEOUT_SECONDS",
        "CANARY_REMINDER_MINUTES",
        "CANARY_NOTIFY_WARN",
        "CANARY_MEASUREMENTS",
    ] {
        assert!(names.contains(&needed), "template does not set {needed}");
    }
    assert_eq!(param_default(&t, "Namespace"), DEFAULT_NAMESPACE);
    let f = &t["Resources"]["Function"];
    assert_eq!(f["Properties"]["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(f["Properties"]["Architectures"][0].as_str(), Some("arm64"));
    assert_eq!(f["Properties"]["MemorySize"].as_u64(), Some(128));
    assert_eq!(
        f["Metadata"]["BuildMethod"].as_str(),
        Some("rust-cargolambda")
    );
    assert_eq!(
        f["Metadata"]["BuildProperties"]["Binary"].as_str(),
        Some("health-canary-lambda")
    );
    assert_eq!(
        f["Properties"]["EventInvokeConfig"]["MaximumRetryAttempts"].as_u64(),
        Some(0)
    );
    assert_eq!(
        f["Properties"]["LoggingConfig"]["LogFormat"].as_str(),
        Some("JSON")
    );
}

#[test]
fn nested_stacks_get_exactly_the_parameters_they_declare() {
    let t = load("template.yaml");
    for (id, app) in of_type(&t, "AWS::Serverless::Application") {
        let location = app["Properties"]["Location"]
            .as_str()
            .expect("Location is a path");
        let nested = load(location);
        let declared: BTreeSet<&str> = nested["Parameters"]
            .as_mapping()
            .expect("Parameters")
            .keys()
            .filter_map(Value::as_str)
            .collect();
        let passed: BTreeSet<&str> = app["Properties"]["Parameters"]
            .as_mapping()
            .expect("Parameters passed")
            .keys()
            .filter_map(Value::as_str)
            .collect();
        let unknown: Vec<_> = passed.difference(&declared).collect();
        assert!(
            unknown.is_empty(),
            "{id} passes parameters {location} does not declare: {unknown:?}"
        );
    }
}

#[test]
fn function_policy_is_least_privilege() {
    let t = load("template.yaml");
    let role = &t["Resources"]["FunctionRole"]["Properties"];
    let statements: Vec<&Value> = role["Policies"]
        .as_sequence()
        .expect("inline policies")
        .iter()
        .flat_map(|p| {
            p["PolicyDocument"]["Statement"]
                .as_sequence()
                .expect("statements")
        })
        .collect();
    assert!(
        role["ManagedPolicyArns"].is_null(),
        "no managed policies: they grant more than the canary needs"
    );
    let mut seen = BTreeSet::new();
    for s in &statements {
        assert_eq!(s["Effect"].as_str(), Some("Allow"));
        let actions: Vec<&str> = match &s["Action"] {
            Value::String(a) => vec![a.as_str()],
            Value::Sequence(v) => v.iter().filter_map(Value::as_str).collect(),
            other => panic!("Action must be a string or list: {other:?}"),
        };
        for a in &actions {
            assert!(!a.contains('*'), "wildcard action {a}");
            seen.insert(a.to_string());
        }
        let star = s["Resource"].as_str() == Some("*");
        match actions.as_slice() {
            ["cloudwatch:PutMetricData"] => {
                assert!(star, "PutMetricData has no resource ARN");
                assert!(
                    is_ref_to(&s["Condition"]["StringEquals"]["cloudwatch:namespace"], "Namespace"),
                    "PutMetricData must be limited with cloudwatch:namespace = !Ref Namespace: {s:?}"
                );
            }
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"] => {
                let (tag, args) = tagged(&s["Resource"]).expect("the table's ARN");
                assert_eq!(
                    (tag.as_str(), args.as_str()),
                    ("GetAtt", Some("StateTable.Arn")),
                    "only the state table: {s:?}"
                );
            }
            ["sns:Publish"] => {
                let (tag, args) = tagged(&s["Resource"]).expect("Publish resource is !If");
                assert_eq!(tag, "If");
                assert!(
                    is_ref_to(&args[1], "Topic") && is_ref_to(&args[2], "ExistingTopicArn"),
                    "{s:?}"
                );
            }
            logs => {
                assert!(
                    logs.iter().all(|a| a.starts_with("logs:")),
                    "unexpected statement {s:?}"
                );
                let (tag, args) = tagged(&s["Resource"]).expect("logs resource is the log group");
                assert_eq!(
                    (tag.as_str(), args.as_str()),
                    ("GetAtt", Some("LogGroup.Arn"))
                );
            }
        }
    }
    let want: BTreeSet<String> = [
        "cloudwatch:PutMetricData",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "sns:Publish",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(seen, want);
}

#[test]
fn phones_get_only_what_opens_or_closes_an_incident() {
    let t = load("template.yaml");
    let sms = &t["Resources"]["SmsSubscription"]["Properties"];
    assert_eq!(sms["Protocol"].as_str(), Some("sms"));
    assert_eq!(sms["FilterPolicyScope"].as_str(), Some("MessageAttributes"));
    let severities: Vec<&str> = sms["FilterPolicy"]["severity"]
        .as_sequence()
        .expect("severity filter")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(severities, ["FAIL", "FLAPPING", "RESOLVED"]);
}

#[test]
fn the_default_function_timeout_fits_the_default_target_and_the_alert_path() {
    use health_canary::check::config::{self, Overrides};
    use health_canary::sinks::alert::budget::check_fits;
    let t = load("template.yaml");
    let timeout: u64 = param_default(&t, "TimeoutSeconds")
        .parse()
        .expect("TimeoutSeconds is a number");
    let function = &t["Resources"]["Function"]["Properties"];
    assert!(is_ref_to(&function["Timeout"], "TimeoutSeconds"));
    assert!(is_ref_to(
        &function["Environment"]["Variables"]["CANARY_FUNCTION_TIMEOUT_SECONDS"],
        "TimeoutSeconds"
    ));
    let defaults = config::load(
        None,
        None,
        &Overrides {
            url: Some("https://example.com/health".into()),
            ..Overrides::default()
        },
        &|_| None,
    )
    .expect("simple mode");
    check_fits(
        &defaults.targets,
        health_canary::aws::OPERATION_TIMEOUT,
        std::time::Duration::from_secs(timeout),
    )
    .expect("the default target fits the default function timeout");
}

#[test]
fn default_measurements_are_the_ones_the_dashboard_draws() {
    let drawn: BTreeSet<String> = dashboard_refs()
        .into_iter()
        .filter(|r| spec(&r.name).is_none())
        .map(|r| r.name)
        .collect();
    let want: BTreeSet<String> = [
        "StaleSymbols",
        "MaxAgeMinutes",
        "LastCycleAgeMinutes",
        "OpenOrders",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(drawn, want);
    assert_eq!(default_measurement_metrics(), want);
}
