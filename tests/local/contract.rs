//! One source of truth: the SAM template, alarms and dashboard must name only metrics the code
//! publishes (`metrics::contract`), in the stack's namespace with dimensions the code sets, must use
//! every status metric, must pass only environment variables the code reads (and only when set),
//! and must keep the function's and the chat channel's IAM policies least-privilege.

mod insights;

use crate::support::cfn::{self, is_ref_to, param_default, scalar, Stack};
use health_canary::check::config::{self, Overrides, DEFAULT_NAMESPACE};
use health_canary::sinks::metrics::contract::{MetricSpec, METRICS};
use serde_yaml_ng::Value;
use std::collections::BTreeSet;

/// One metric a template reads: where, namespace, metric, and the dimensions it names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MetricRef {
    place: String,
    namespace: String,
    name: String,
    /// A plain alarm's or widget's dimension set; a query's WHERE and GROUP BY dimensions.
    dimensions: Vec<String>,
    /// A query's GROUP BY (each group one series, an alarm contributor); empty otherwise.
    group_by: Vec<String>,
    /// A Metrics Insights query (else a fixed metric and dimension set).
    query: bool,
    /// The dimensions must be the published set exactly (a fixed series, or a query's SCHEMA).
    exact: bool,
    /// In an alarm (else a dashboard widget).
    alarm: bool,
}

/// The parameter sets the templates are checked under: defaults, a named canary, another namespace.
const CASES: &[&[(&str, &str)]] = &[
    &[],
    &[("CanaryName", "prod-eu")],
    &[("Namespace", "Ops/Canary")],
];

fn place(file: &str, id: &str, overrides: &[(&str, &str)]) -> String {
    format!("{file} {id} {overrides:?}")
}

/// A Metrics Insights query as a reference, or why it cannot be read.
fn query_ref(place: String, sql: &str, alarm: bool) -> Result<MetricRef, String> {
    let q =
        insights::parse(sql).map_err(|e| format!("{place}: cannot read the query ({e}): {sql}"))?;
    if !["AVG", "MIN", "MAX", "SUM", "COUNT"].contains(&q.function.as_str()) {
        return Err(format!("{place}: unknown function {} in {sql}", q.function));
    }
    let mut dimensions = q.schema.clone().unwrap_or_default();
    for d in q.filters.iter().chain(&q.group_by) {
        if !dimensions.contains(d) {
            dimensions.push(d.clone());
        }
    }
    Ok(MetricRef {
        place,
        exact: q.schema.is_some(),
        namespace: q.namespace,
        name: q.metric,
        dimensions,
        group_by: q.group_by,
        query: true,
        alarm,
    })
}

/// The metrics every alarm of `infra/alarms.yaml` watches, for one parameter set.
fn alarm_refs(overrides: &[(&str, &str)]) -> Vec<Result<MetricRef, String>> {
    let file = "infra/alarms.yaml";
    let t = cfn::load(file);
    let stack = Stack::new(&t, overrides);
    let mut refs = Vec::new();
    for (id, _) in of_type(&t, "AWS::CloudWatch::Alarm") {
        let Some(p) = stack.properties(&id) else {
            continue;
        };
        let here = place(file, &id, overrides);
        for m in p["Metrics"].as_sequence().into_iter().flatten() {
            let sql = scalar(&m["Expression"]).unwrap_or_default();
            refs.push(query_ref(here.clone(), &sql, true));
        }
        if p["Metrics"].is_null() {
            refs.push(Ok(MetricRef {
                place: here,
                namespace: scalar(&p["Namespace"]).unwrap_or_default(),
                name: scalar(&p["MetricName"]).unwrap_or_default(),
                dimensions: p["Dimensions"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .filter_map(|d| scalar(&d["Name"]))
                    .collect(),
                group_by: Vec::new(),
                query: false,
                exact: true,
                alarm: true,
            }));
        }
    }
    refs
}

/// The metrics every dashboard widget draws, for one parameter set.
fn dashboard_refs(overrides: &[(&str, &str)]) -> Vec<Result<MetricRef, String>> {
    let file = "infra/dashboard.yaml";
    let t = cfn::load(file);
    let stack = Stack::new(&t, overrides);
    let mut refs = Vec::new();
    for (id, _) in of_type(&t, "AWS::CloudWatch::Dashboard") {
        let p = stack.properties(&id).expect("the dashboard exists");
        let json = scalar(&p["DashboardBody"]).expect("DashboardBody is text");
        let body: serde_json::Value = serde_json::from_str(&json)
            .unwrap_or_else(|e| panic!("{file} {id}: DashboardBody is not JSON: {e}\n{json}"));
        for widget in body["widgets"].as_array().expect("widgets") {
            let here = format!(
                "{} widget {}",
                place(file, &id, overrides),
                widget["properties"]["title"]
            );
            for m in widget["properties"]["metrics"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let entry = m.as_array().expect("a metric entry is an array");
                match entry[0]["expression"].as_str() {
                    Some(sql) => refs.push(query_ref(here.clone(), sql, false)),
                    None => refs.push(Err(format!(
                        "{here}: draw metrics with Metrics Insights queries, not fixed series: {m}"
                    ))),
                }
            }
        }
    }
    refs
}

fn of_type<'a>(t: &'a Value, ty: &str) -> Vec<(String, &'a Value)> {
    t["Resources"]
        .as_mapping()
        .expect("Resources is a mapping")
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(ty))
        .map(|(k, r)| (k.as_str().unwrap_or_default().to_string(), r))
        .collect()
}

fn spec(name: &str) -> Option<&'static MetricSpec> {
    METRICS.iter().find(|m| m.name == name)
}

/// Why a reference is not one the code publishes in `namespace`, or `None` when it is.
fn contract_violation(r: &MetricRef, namespace: &str) -> Option<String> {
    let dims: Vec<&str> = r.dimensions.iter().map(String::as_str).collect();
    if r.namespace == "AWS/Lambda" {
        return (r.name != "Errors" || dims != ["FunctionName"]).then(|| {
            format!(
                "{}: AWS/Lambda {} {dims:?} is not the Errors alarm",
                r.place, r.name
            )
        });
    }
    if r.namespace != namespace {
        return Some(format!(
            "{}: namespace '{}' is not the canary's ({namespace})",
            r.place, r.namespace
        ));
    }
    let Some(s) = spec(&r.name) else {
        return Some(format!(
            "{}: metric '{}' is not published by the code (metrics::contract::METRICS: {:?})",
            r.place,
            r.name,
            METRICS.iter().map(|m| m.name).collect::<Vec<_>>()
        ));
    };
    let published = s.scope.dimensions();
    let named: BTreeSet<&str> = dims.iter().copied().collect();
    let every = named == published.iter().copied().collect();
    // A query may aggregate over dimensions it does not name; a fixed series or a SCHEMA (which
    // matches one dimension set exactly) must name them all.
    if dims.iter().any(|d| !published.contains(d)) || (r.exact && !every) {
        return Some(format!(
            "{}: metric '{}' has dimensions {dims:?}, the code publishes {published:?}",
            r.place, r.name
        ));
    }
    // An alarm contributor must be one published series: filters and groups name every dimension.
    (r.query && r.alarm && !r.group_by.is_empty() && !every).then(|| {
        format!(
            "{}: alarm query on '{}' groups by {:?}, so a contributor is not one series of {published:?}",
            r.place, r.name, r.group_by
        )
    })
}

/// Every reference in the alarms and dashboard for one parameter set, with its namespace.
fn all_refs(overrides: &[(&str, &str)]) -> Vec<Result<MetricRef, String>> {
    let mut refs = alarm_refs(overrides);
    refs.extend(dashboard_refs(overrides));
    refs
}

#[test]
fn every_alarm_and_widget_query_names_only_metrics_and_dimensions_the_code_publishes() {
    let mut violations = Vec::new();
    for overrides in CASES {
        let namespace = Stack::new(&cfn::load("infra/alarms.yaml"), overrides)
            .param("Namespace")
            .to_string();
        let refs = all_refs(overrides);
        assert!(refs.len() >= 10, "too few metric references: {refs:#?}");
        for r in refs {
            match r {
                Ok(r) => violations.extend(contract_violation(&r, &namespace)),
                Err(e) => violations.push(e),
            }
        }
    }
    assert!(
        violations.is_empty(),
        "templates ↔ metrics contract:\n{}",
        violations.join("\n")
    );
}

#[test]
fn contract_check_names_a_misspelt_metric_a_wrong_dimension_and_an_unreadable_query() {
    let q = |sql: &str, alarm| query_ref("case".into(), sql, alarm);
    let cases = [
        (q("SELECT MAX(ComponentStatuss) FROM \"HealthCanary\" GROUP BY Canary, Target, Component", true), "metric 'ComponentStatuss' is not published"),
        (q("SELECT MAX(TargetStatus) FROM \"HealthCanary\" GROUP BY Canary, Component", true), "has dimensions [\"Canary\", \"Component\"], the code publishes [\"Canary\", \"Target\"]"),
        (q("SELECT MAX(ComponentStatus) FROM \"HealthCanary\" WHERE Canary = 'x' GROUP BY Target", true), "a contributor is not one series"),
        (q("SELECT MAX(CanaryStatus) FROM \"HealthCanry\"", false), "namespace 'HealthCanry' is not the canary's"),
        (q("SELECT MAX(TargetStatus) FROM SCHEMA(\"HealthCanary\", Canary)", false), "has dimensions [\"Canary\"]"),
        (q("SELECT MAX(ComponentStatus) WHERE Canary = 'x'", false), "cannot read the query"),
    ];
    for (r, want) in cases {
        let got = match r {
            Ok(r) => contract_violation(&r, DEFAULT_NAMESPACE).unwrap_or_default(),
            Err(e) => e,
        };
        assert!(got.contains(want), "expected '{want}', got '{got}'");
    }
    let fixed = |name: &str, dims: &[&str]| MetricRef {
        place: "case".into(),
        namespace: if name == "Throttles" {
            "AWS/Lambda"
        } else {
            DEFAULT_NAMESPACE
        }
        .into(),
        name: name.into(),
        dimensions: dims.iter().map(|d| d.to_string()).collect(),
        group_by: Vec::new(),
        query: false,
        exact: true,
        alarm: true,
    };
    let got = contract_violation(&fixed("Throttles", &["FunctionName"]), DEFAULT_NAMESPACE);
    assert!(got.unwrap_or_default().contains("is not the Errors alarm"));
    let got = contract_violation(
        &fixed("CanaryHeartbeat", &["Canary", "Target"]),
        DEFAULT_NAMESPACE,
    );
    assert!(got
        .unwrap_or_default()
        .contains("the code publishes [\"Canary\"]"));
}

#[test]
fn every_status_metric_has_an_alarm_or_a_dashboard_graph() {
    let used: BTreeSet<String> = all_refs(&[])
        .into_iter()
        .flatten()
        .map(|r| r.name)
        .collect();
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
fn status_alarms_cover_every_target_and_component_without_fixed_names() {
    for overrides in CASES {
        let refs: Vec<MetricRef> = alarm_refs(overrides).into_iter().flatten().collect();
        for (metric, contributors) in [
            (
                "ComponentStatus",
                ["Canary", "Target", "Component"].as_slice(),
            ),
            ("TargetStatus", ["Canary", "Target"].as_slice()),
        ] {
            let alarms: Vec<&MetricRef> = refs.iter().filter(|r| r.name == metric).collect();
            assert_eq!(
                alarms.len(),
                1,
                "one {metric} alarm for {overrides:?}: {alarms:#?}"
            );
            let a = alarms[0];
            assert!(
                a.query && !a.group_by.is_empty(),
                "{a:#?} is a query with contributors"
            );
            let named: BTreeSet<&str> = a.dimensions.iter().map(String::as_str).collect();
            assert_eq!(named, contributors.iter().copied().collect(), "{a:#?}");
        }
    }
    let t = cfn::load("infra/alarms.yaml");
    for id in ["ComponentStatusAlarm", "TargetStatusAlarm"] {
        let p = Stack::new(&t, &[]).properties(id).expect(id);
        assert_eq!(
            scalar(&p["Threshold"]).as_deref(),
            Some("2"),
            "{id}: FAIL is 2"
        );
        assert_eq!(
            p["ComparisonOperator"].as_str(),
            Some("GreaterThanOrEqualToThreshold")
        );
        assert_eq!(p["TreatMissingData"].as_str(), Some("notBreaching"), "{id}");
        let sql = scalar(&p["Metrics"][0]["Expression"]).unwrap_or_default();
        assert!(
            sql.ends_with("ORDER BY MAX() DESC"),
            "{id}: failing series first: {sql}"
        );
        assert_eq!(
            scalar(&p["Metrics"][0]["Period"]).as_deref(),
            Some("300"),
            "{id}"
        );
        for (actions, want) in [("false", 0), ("true", 1)] {
            let p = Stack::new(&t, &[("StatusAlarmActions", actions)])
                .properties(id)
                .expect(id);
            let n = p["AlarmActions"].as_sequence().map_or(0, Vec::len);
            assert_eq!(n, want, "{id} with StatusAlarmActions={actions}");
        }
    }
    // Metrics Insights aggregates by the minute: a shorter period becomes 60 s.
    let p = Stack::new(&t, &[("PeriodSeconds", "10")])
        .properties("ComponentStatusAlarm")
        .expect("alarm");
    assert_eq!(scalar(&p["Metrics"][0]["Period"]).as_deref(), Some("60"));
}

#[test]
fn canary_stopped_and_errors_alarms_always_notify() {
    let t = cfn::load("infra/alarms.yaml");
    // With the canary's name: a plain CanaryHeartbeat alarm on its Canary dimension.
    let named = Stack::new(&t, &[("CanaryName", "prod-eu"), ("FunctionName", "fn")]);
    assert!(!named.has("CanaryStoppedQueryAlarm"));
    let p = named
        .properties("CanaryStoppedAlarm")
        .expect("canary-stopped");
    assert_eq!(p["MetricName"].as_str(), Some("CanaryHeartbeat"));
    assert_eq!(p["Dimensions"][0]["Value"].as_str(), Some("prod-eu"));
    // Without: the heartbeats of the namespace summed into one series.
    let unnamed = Stack::new(&t, &[("FunctionName", "fn")]);
    assert!(!unnamed.has("CanaryStoppedAlarm"));
    let q = unnamed
        .properties("CanaryStoppedQueryAlarm")
        .expect("canary-stopped");
    let sql = scalar(&q["Metrics"][0]["Expression"]).unwrap_or_default();
    let parsed = insights::parse(&sql).expect("readable");
    assert_eq!(
        (parsed.function.as_str(), parsed.metric.as_str()),
        ("SUM", "CanaryHeartbeat")
    );
    assert!(
        parsed.group_by.is_empty(),
        "a stopped canary leaves no series to group: {sql}"
    );
    for (stack, id, p) in [
        (&named, "CanaryStoppedAlarm", p),
        (&unnamed, "CanaryStoppedQueryAlarm", q),
        (
            &named,
            "LambdaErrorsAlarm",
            named.properties("LambdaErrorsAlarm").expect("errors"),
        ),
    ] {
        assert_eq!(
            scalar(&p["AlarmName"]).unwrap_or_default(),
            format!(
                "{}-{}",
                stack.param("AlarmNamePrefix"),
                if id == "LambdaErrorsAlarm" {
                    "lambda-errors"
                } else {
                    "canary-stopped"
                }
            )
        );
        for actions in ["AlarmActions", "OKActions"] {
            assert_eq!(
                p[actions].as_sequence().map(Vec::len),
                Some(1),
                "{id} {actions}"
            );
        }
        if id != "LambdaErrorsAlarm" {
            assert_eq!(p["TreatMissingData"].as_str(), Some("breaching"), "{id}");
            assert_eq!(
                p["ComparisonOperator"].as_str(),
                Some("LessThanThreshold"),
                "{id}"
            );
        }
    }
    assert_eq!(param_default(&t, "HeartbeatEvaluationPeriods"), "2");
    assert!(
        !Stack::new(&t, &[]).has("LambdaErrorsAlarm"),
        "no function, no errors alarm"
    );
}

/// The function's environment for the given parameters.
fn function_env(overrides: &[(&str, &str)]) -> Vec<(String, String)> {
    let t = cfn::load("template.yaml");
    let p = Stack::new(&t, overrides)
        .properties("Function")
        .expect("the function");
    p["Environment"]["Variables"]
        .as_mapping()
        .expect("Environment.Variables")
        .iter()
        .map(|(k, v)| (scalar(k).unwrap_or_default(), scalar(v).unwrap_or_default()))
        .collect()
}

#[test]
fn function_environment_uses_only_variables_the_code_reads() {
    let env = function_env(&[]);
    let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
    for name in &names {
        assert!(
            health_canary::check::config::env::ALL.contains(name),
            "template sets {name}, which the canary does not read (check::config::env::ALL)"
        );
    }
    for needed in [
        "CANARY_URL",
        "CANARY_CONFIG",
        "CANARY_CONFIG_FILE",
        "CANARY_CONFIG_SSM",
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
    let t = cfn::load("template.yaml");
    assert_eq!(param_default(&t, "Namespace"), DEFAULT_NAMESPACE);
    assert_eq!(
        t["Parameters"]["ConfigJson"]["NoEcho"].as_bool(),
        Some(true)
    );
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

/// What only the stack can know, so it always sets it; every other variable is empty by default.
const STACK_OWNED: &[&str] = &[
    "CANARY_NAMESPACE",
    "CANARY_TOPIC_ARN",
    "CANARY_STATE_TABLE",
    "CANARY_FUNCTION_TIMEOUT_SECONDS",
    "CANARY_CONFIG_FILE",
];

#[test]
fn template_parameters_reach_the_function_only_when_set() {
    let defaults = function_env(&[]);
    for (name, value) in &defaults {
        if !STACK_OWNED.contains(&name.as_str()) {
            assert_eq!(
                value, "",
                "{name} is set by default: it would override the config"
            );
        }
    }
    let get = |env: &[(String, String)], k: &str| {
        env.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(get(&defaults, "CANARY_NAMESPACE"), DEFAULT_NAMESPACE);
    assert_eq!(get(&defaults, "CANARY_TOPIC_ARN"), "ref:Topic");
    assert_eq!(get(&defaults, "CANARY_STATE_TABLE"), "ref:StateTable");
    assert_eq!(
        get(&defaults, "CANARY_FUNCTION_TIMEOUT_SECONDS"),
        param_default(&cfn::load("template.yaml"), "TimeoutSeconds")
    );
    let set = function_env(&[
        ("CanaryName", "prod-eu"),
        ("ReminderMinutes", "15"),
        ("FailureThreshold", "3"),
        ("RecoveryThreshold", "2"),
        ("NotifyWarn", "true"),
        ("Measurements", "none"),
        ("ExistingTopicArn", "arn:aws:sns:us-east-1:123456789012:ops"),
    ]);
    for (name, want) in [
        ("CANARY_NAME", "prod-eu"),
        ("CANARY_REMINDER_MINUTES", "15"),
        ("CANARY_FAILURE_THRESHOLD", "3"),
        ("CANARY_RECOVERY_THRESHOLD", "2"),
        ("CANARY_NOTIFY_WARN", "true"),
        ("CANARY_MEASUREMENTS", "none"),
        ("CANARY_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:ops"),
    ] {
        assert_eq!(get(&set, name), want, "{name}");
    }
    // The status alarms follow FailureThreshold when it is given, else one period.
    let t = cfn::load("template.yaml");
    for (overrides, want) in [(vec![], "1"), (vec![("FailureThreshold", "3")], "3")] {
        let p = Stack::new(&t, &overrides)
            .properties("Alarms")
            .expect("alarms");
        assert_eq!(
            scalar(&p["Parameters"]["EvaluationPeriods"]).as_deref(),
            Some(want)
        );
    }
}

#[test]
fn the_repository_config_is_the_source_unless_another_is_given() {
    let t = cfn::load("template.yaml");
    let file_of = |overrides: &[(&str, &str)]| {
        let env = function_env(overrides);
        let file = env
            .iter()
            .find(|(k, _)| k == "CANARY_CONFIG_FILE")
            .map(|(_, v)| v.clone());
        let stack = Stack::new(&t, overrides);
        let layers = stack.properties("Function").expect("function")["Layers"].clone();
        (file.unwrap_or_default(), stack.has("ConfigLayer"), layers)
    };
    let (file, layer, layers) = file_of(&[]);
    assert_eq!(file, "/opt/canary.json");
    assert!(layer);
    assert_eq!(
        layers,
        serde_yaml_ng::from_str::<Value>("[ref:ConfigLayer]").expect("yaml")
    );
    // The layer is config/ as it is: the file the function reads is config/<path under /opt>.
    let content = Stack::new(&t, &[])
        .properties("ConfigLayer")
        .expect("layer");
    let dir = scalar(&content["ContentUri"]).expect("ContentUri");
    let shipped = cfn::root().join(dir).join(file.trim_start_matches("/opt/"));
    assert!(shipped.is_file(), "{} is missing", shipped.display());
    // The example the repository ships is a valid config for the real parser.
    let path = shipped.to_string_lossy().into_owned();
    let loaded = config::load(Some(&path), None, &Overrides::default(), &|_| None);
    assert!(loaded.is_ok(), "{path}: {loaded:?}");
    for other in [
        ("HealthUrl", "https://status.example.com/health"),
        (
            "ConfigJson",
            "{\"targets\":[{\"url\":\"https://a.example/\"}]}",
        ),
        ("ConfigSsmParameter", "/canary/config"),
    ] {
        let (file, layer, layers) = file_of(&[other]);
        assert_eq!((file.as_str(), layer), ("", false), "{other:?}");
        assert!(layers.is_null(), "{other:?}: no layer: {layers:?}");
    }
}

#[test]
fn rules_reject_two_config_sources_and_half_given_options() {
    let t = cfn::load("template.yaml");
    let sources = [
        ("HealthUrl", "https://status.example.com/health"),
        (
            "ConfigJson",
            "{\"targets\":[{\"url\":\"https://a.example/\"}]}",
        ),
        ("ConfigSsmParameter", "/canary/config"),
    ];
    for mask in 0..8u8 {
        let given: Vec<(&str, &str)> = (0..3)
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| sources[i])
            .collect();
        let failed = Stack::new(&t, &given).failed_rules();
        assert_eq!(failed.is_empty(), given.len() <= 1, "{given:?}: {failed:?}");
        assert!(failed.iter().all(|f| f.contains("not both")), "{failed:?}");
    }
    let slack = [
        ("SlackWorkspaceId", "T0123ABCD"),
        ("SlackChannelId", "C0123ABCD"),
    ];
    let teams = [
        ("TeamsTenantId", "00000000-0000-0000-0000-000000000001"),
        ("TeamsTeamId", "00000000-0000-0000-0000-000000000002"),
        ("TeamsChannelId", "19:abc@thread.tacv2"),
    ];
    let vpc = [
        ("SubnetIds", "subnet-0a1b2c3d"),
        ("SecurityGroupIds", "sg-0a1b2c3d"),
    ];
    for group in [&slack[..], &teams[..], &vpc[..]] {
        assert!(Stack::new(&t, group).failed_rules().is_empty(), "{group:?}");
        for alone in group {
            let failed = Stack::new(&t, &[*alone]).failed_rules();
            assert_eq!(failed.len(), 1, "{alone:?} alone: {failed:?}");
            assert!(failed[0].contains("together"), "{failed:?}");
        }
    }
}

#[test]
fn nested_stacks_get_exactly_the_parameters_they_declare() {
    let t = cfn::load("template.yaml");
    for (id, app) in of_type(&t, "AWS::Serverless::Application") {
        let location = app["Properties"]["Location"]
            .as_str()
            .expect("Location is a path");
        let nested = cfn::load(location);
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
        // What the root and the nested stack both check must agree (a name the root accepts must
        // not fail the nested stack).
        for p in &passed {
            let (root, inner) = (
                &t["Parameters"][*p]["AllowedPattern"],
                &nested["Parameters"][*p]["AllowedPattern"],
            );
            if !root.is_null() {
                assert_eq!(root, inner, "{id} {p}: AllowedPattern differs");
            }
        }
    }
}

/// The function role's statements and managed policies for the given parameters.
fn role(overrides: &[(&str, &str)]) -> (Vec<Value>, Vec<String>) {
    let t = cfn::load("template.yaml");
    let p = Stack::new(&t, overrides)
        .properties("FunctionRole")
        .expect("the role");
    let statements = p["Policies"]
        .as_sequence()
        .expect("inline policies")
        .iter()
        .flat_map(|p| {
            p["PolicyDocument"]["Statement"]
                .as_sequence()
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    let managed = p["ManagedPolicyArns"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(scalar)
        .collect();
    (statements, managed)
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Sequence(items) => items.iter().filter_map(scalar).collect(),
        other => scalar(other).into_iter().collect(),
    }
}

#[test]
fn function_policy_is_least_privilege() {
    let (statements, managed) = role(&[]);
    assert!(
        managed.is_empty(),
        "no managed policies outside a VPC: {managed:?}"
    );
    let mut seen = BTreeSet::new();
    for s in &statements {
        assert_eq!(s["Effect"].as_str(), Some("Allow"));
        let actions = strings(&s["Action"]);
        for a in &actions {
            assert!(!a.contains('*'), "wildcard action {a}");
            seen.insert(a.clone());
        }
        let resources = strings(&s["Resource"]);
        let actions: Vec<&str> = actions.iter().map(String::as_str).collect();
        match actions.as_slice() {
            ["cloudwatch:PutMetricData"] => {
                assert_eq!(resources, ["*"], "PutMetricData has no resource ARN");
                assert_eq!(
                    s["Condition"]["StringEquals"]["cloudwatch:namespace"].as_str(),
                    Some(DEFAULT_NAMESPACE),
                    "PutMetricData must be limited to the stack's namespace: {s:?}"
                );
            }
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"] => {
                assert_eq!(resources, ["getatt:StateTable.Arn"], "only the state table")
            }
            ["sns:Publish"] => assert_eq!(resources, ["ref:Topic"]),
            ["logs:CreateLogStream", "logs:PutLogEvents"] => {
                assert_eq!(resources, ["getatt:LogGroup.Arn"])
            }
            other => panic!("unexpected statement {other:?}: {s:?}"),
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
    let (statements, _) = role(&[("ExistingTopicArn", "arn:aws:sns:us-east-1:123456789012:ops")]);
    let publish = statements
        .iter()
        .find(|s| strings(&s["Action"]) == ["sns:Publish"])
        .expect("Publish");
    assert_eq!(
        strings(&publish["Resource"]),
        ["arn:aws:sns:us-east-1:123456789012:ops"]
    );
}

#[test]
fn optional_permissions_name_exactly_the_given_parameters_secrets_and_vpc_policy() {
    let parameters = "arn:aws:ssm:us-east-1:123456789012:parameter/prod/api-token,arn:aws:ssm:us-east-1:123456789012:parameter/prod/db";
    let secrets = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/partner-AbCdEf";
    let (statements, managed) = role(&[
        ("ConfigSsmParameter", "/health-canary/config"),
        ("SecretParameterArns", parameters),
        ("SecretArns", secrets),
        ("SubnetIds", "subnet-0a1b2c3d,subnet-4e5f6a7b"),
        ("SecurityGroupIds", "sg-0a1b2c3d"),
    ]);
    let by_sid = |sid: &str| {
        statements
            .iter()
            .find(|s| s["Sid"].as_str() == Some(sid))
            .unwrap_or_else(|| panic!("no statement {sid}: {statements:#?}"))
    };
    let config = by_sid("ReadConfigParameter");
    assert_eq!(strings(&config["Action"]), ["ssm:GetParameter"]);
    assert_eq!(
        strings(&config["Resource"]),
        [format!(
            "arn:aws:ssm:{}:{}:parameter/health-canary/config",
            cfn::REGION,
            cfn::ACCOUNT_ID
        )]
    );
    let params = by_sid("ReadSecretParameters");
    assert_eq!(
        strings(&params["Action"]),
        ["ssm:GetParameter", "ssm:GetParameters"]
    );
    assert_eq!(
        strings(&params["Resource"]),
        parameters.split(',').collect::<Vec<_>>()
    );
    let read = by_sid("ReadSecrets");
    assert_eq!(strings(&read["Action"]), ["secretsmanager:GetSecretValue"]);
    assert_eq!(strings(&read["Resource"]), [secrets]);
    for s in &statements {
        for a in strings(&s["Action"]) {
            assert!(!a.contains('*'), "wildcard action {a}");
        }
    }
    assert_eq!(
        managed,
        ["arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"],
        "in a VPC, exactly the policy that lets Lambda manage the function's network interfaces"
    );
    let t = cfn::load("template.yaml");
    let vpc = Stack::new(
        &t,
        &[
            ("SubnetIds", "subnet-0a1b2c3d,subnet-4e5f6a7b"),
            ("SecurityGroupIds", "sg-0a1b2c3d"),
        ],
    )
    .properties("Function")
    .expect("function")["VpcConfig"]
        .clone();
    assert_eq!(
        strings(&vpc["SubnetIds"]),
        ["subnet-0a1b2c3d", "subnet-4e5f6a7b"]
    );
    assert_eq!(strings(&vpc["SecurityGroupIds"]), ["sg-0a1b2c3d"]);
    let outside = Stack::new(&t, &[])
        .properties("Function")
        .expect("function");
    assert!(outside["VpcConfig"].is_null(), "no VPC by default");
    // Every optional statement is gone when its parameter is empty.
    let (defaults, _) = role(&[]);
    let sids: Vec<&str> = defaults.iter().filter_map(|s| s["Sid"].as_str()).collect();
    for sid in ["ReadConfigParameter", "ReadSecretParameters", "ReadSecrets"] {
        assert!(!sids.contains(&sid), "{sid} without its parameter");
    }
}

#[test]
fn phones_get_fail_flapping_resolved_and_every_alarm_notification() {
    let t = cfn::load("template.yaml");
    let stack = Stack::new(&t, &[("AlertPhone", "+15555550100")]);
    let sms = stack
        .properties("SmsSubscription")
        .expect("SMS subscription");
    assert_eq!(sms["Protocol"].as_str(), Some("sms"));
    assert_eq!(sms["FilterPolicyScope"].as_str(), Some("MessageAttributes"));
    let policy: serde_json::Value =
        serde_json::to_value(&sms["FilterPolicy"]).expect("filter policy as JSON");
    // The canary's FAIL, FLAPPING and RESOLVED by their severity attribute (what opens and closes
    // an incident); CloudWatch alarm notifications
    // (canary-stopped, errors) carry no attributes, hence `exists: false`. tests/aws/infra.rs
    // drives real alarms and alerts through this policy.
    assert_eq!(
        policy,
        serde_json::json!({"severity": ["FAIL", "FLAPPING", "RESOLVED", {"exists": false}]})
    );
    assert!(!Stack::new(&t, &[]).has("SmsSubscription"));
}

#[test]
fn the_default_function_timeout_fits_the_default_target_and_the_alert_path() {
    use health_canary::sinks::alert::budget::check_fits;
    let t = cfn::load("template.yaml");
    let timeout = param_default(&t, "TimeoutSeconds");
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
        std::time::Duration::from_secs(timeout.parse().expect("TimeoutSeconds is a number")),
    )
    .expect("the default target fits the default function timeout");
}

#[test]
fn chat_channels_subscribe_to_the_alert_topic_with_a_read_only_role() {
    let t = cfn::load("template.yaml");
    let none = Stack::new(&t, &[]);
    for id in ["ChatRole", "SlackChannel", "TeamsChannel"] {
        assert!(!none.has(id), "{id} without chat parameters");
    }
    let stack = Stack::new(
        &t,
        &[
            ("SlackWorkspaceId", "T0123ABCD"),
            ("SlackChannelId", "C0123ABCD"),
            ("TeamsTenantId", "00000000-0000-0000-0000-000000000001"),
            ("TeamsTeamId", "00000000-0000-0000-0000-000000000002"),
            ("TeamsChannelId", "19:abc@thread.tacv2"),
        ],
    );
    for id in ["SlackChannel", "TeamsChannel"] {
        let p = stack.properties(id).expect(id);
        assert_eq!(strings(&p["SnsTopicArns"]), ["ref:Topic"], "{id}");
        assert_eq!(strings(&p["IamRoleArn"]), ["getatt:ChatRole.Arn"], "{id}");
        assert_eq!(
            strings(&p["GuardrailPolicies"]),
            ["arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess"],
            "{id}: without a guardrail the channel defaults to AdministratorAccess"
        );
        assert_eq!(p["UserRoleRequired"].as_bool(), Some(false), "{id}");
    }
    let role = stack.properties("ChatRole").expect("chat role");
    let trust = &role["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(
        trust["Principal"]["Service"].as_str(),
        Some("chatbot.amazonaws.com")
    );
    assert!(role["ManagedPolicyArns"].is_null());
    for policy in role["Policies"].as_sequence().expect("policies") {
        for s in policy["PolicyDocument"]["Statement"]
            .as_sequence()
            .expect("statements")
        {
            for a in strings(&s["Action"]) {
                let read_only = ["cloudwatch:Describe", "cloudwatch:Get", "cloudwatch:List"]
                    .iter()
                    .any(|p| a.starts_with(p));
                assert!(read_only, "chat role action {a} is not a CloudWatch read");
            }
        }
    }
    assert!(is_ref_to(
        &t["Resources"]["SlackChannel"]["Properties"]["SlackChannelId"],
        "SlackChannelId"
    ));
}

#[test]
fn no_template_lists_names_or_keeps_the_first_users_defaults() {
    let files = [
        "template.yaml",
        "infra/alarms.yaml",
        "infra/dashboard.yaml",
        "config/canary.json",
    ];
    for file in files {
        let t = cfn::load(file);
        for gone in [
            "AlarmTargets",
            "AlarmComponents",
            "Targets",
            "Components",
            "ComponentTarget",
        ] {
            assert!(
                t["Parameters"][gone].is_null(),
                "{file} still has parameter {gone}"
            );
        }
        let text = cfn::text(file);
        for name in [
            "hilovivo",
            "market_data",
            "signal_monitor",
            "trade_system",
            "StaleSymbols",
        ] {
            assert!(!text.contains(name), "{file} names '{name}'");
        }
    }
    assert!(!cfn::root().join("infra/gen_alarms.py").exists());
}
