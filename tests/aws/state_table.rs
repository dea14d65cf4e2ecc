//! The DynamoDB alert store over DynamoDB's real wire protocol (moto's server, started by
//! scripts/test and reached through `AWS_ENDPOINT_URL_DYNAMODB`), on a table created from
//! `template.yaml`'s own `StateTable` definition: conditional writes, consistent reads,
//! transactions, TTL, and the engine on top across cold starts and concurrent runs.

use crate::support::fault_proxy::{Fault, FaultProxy, Service};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, PointInTimeRecoverySpecification,
    ScalarAttributeType, TimeToLiveSpecification, TimeToLiveStatus,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use health_canary::check::report::Status;
use health_canary::sinks::alert::dynamo::{self, DynamoStore};
use health_canary::sinks::alert::engine::{self, Notifier, NotifyError, Outgoing, RunContext};
use health_canary::sinks::alert::record::{Incident, NoticeDetail, NoticeKind, TargetRecord};
use health_canary::sinks::alert::settings::Settings;
use health_canary::sinks::alert::silence::{Scope, Silence};
use health_canary::sinks::alert::store::{SaveError, Store, StoreError};
use health_canary::sinks::alert::transition::Observation;
use serde_yaml_ng::Value;
use std::sync::Mutex;

/// A DynamoDB client for moto (the SDK reads `AWS_ENDPOINT_URL_DYNAMODB` itself).
async fn client() -> aws_sdk_dynamodb::Client {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok(),
        "AWS_ENDPOINT_URL_DYNAMODB is not set: run the AWS tests through scripts/test, which starts moto (scripts/moto start)"
    );
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&shared)
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{prefix}-{}-{nanos}", std::process::id())
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("StateTable: {key} is not a string: {v:?}"))
}

/// A new state table in moto, created from the template's definition; returns its name.
pub async fn new_table() -> String {
    table_from_template(&client().await).await
}

/// Creates a table from `template.yaml`'s `StateTable` properties (keys, billing, TTL, point-in-
/// time recovery), so the tests exercise exactly what the stack provisions.
async fn table_from_template(c: &aws_sdk_dynamodb::Client) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml");
    let t: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(path).expect("template.yaml"))
        .expect("template.yaml is YAML");
    let table = &t["Resources"]["StateTable"];
    assert_eq!(table["Type"].as_str(), Some("AWS::DynamoDB::Table"));
    let p = &table["Properties"];
    let name = unique("canary-state");
    let mut create = c
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::from(text(p, "BillingMode")));
    for a in p["AttributeDefinitions"]
        .as_sequence()
        .expect("AttributeDefinitions")
    {
        create = create.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(text(a, "AttributeName"))
                .attribute_type(ScalarAttributeType::from(text(a, "AttributeType")))
                .build()
                .expect("attribute definition"),
        );
    }
    for k in p["KeySchema"].as_sequence().expect("KeySchema") {
        create = create.key_schema(
            KeySchemaElement::builder()
                .attribute_name(text(k, "AttributeName"))
                .key_type(KeyType::from(text(k, "KeyType")))
                .build()
                .expect("key schema"),
        );
    }
    create.send().await.expect("CreateTable");
    let ttl = &p["TimeToLiveSpecification"];
    c.update_time_to_live()
        .table_name(&name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(text(ttl, "AttributeName"))
                .enabled(ttl["Enabled"].as_bool().expect("TTL Enabled"))
                .build()
                .expect("TTL specification"),
        )
        .send()
        .await
        .expect("UpdateTimeToLive");
    let pitr = p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]
        .as_bool()
        .expect("PointInTimeRecoveryEnabled");
    c.update_continuous_backups()
        .table_name(&name)
        .point_in_time_recovery_specification(
            PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(pitr)
                .build()
                .expect("PITR specification"),
        )
        .send()
        .await
        .expect("UpdateContinuousBackups");
    name
}

async fn store(table: &str) -> DynamoStore {
    DynamoStore::new(client().await, table, Duration::days(90))
}

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 8, 12, 0, 0).unwrap() + Duration::minutes(minutes)
}

fn observation(failing: bool) -> Observation {
    Observation {
        failing,
        warning: false,
        detail: NoticeDetail {
            status: if failing { Status::Fail } else { Status::Pass },
            reason: failing.then(|| "HTTP 503".to_string()),
            components: vec![],
            more: 0,
        },
    }
}

/// SNS as a list: what was published, and whether the next publishes are refused.
#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<(String, NoticeKind, bool, bool)>>,
    refuse: Mutex<bool>,
}

impl Recorder {
    fn kinds(&self) -> Vec<(String, NoticeKind)> {
        let sent = self.sent.lock().unwrap();
        sent.iter().map(|(t, k, _, _)| (t.clone(), *k)).collect()
    }
}

impl Notifier for Recorder {
    async fn publish(&self, out: &Outgoing<'_>) -> Result<String, NotifyError> {
        if *self.refuse.lock().unwrap() {
            return Err(NotifyError::Rejected("topic unavailable".into()));
        }
        let mut sent = self.sent.lock().unwrap();
        sent.push((
            out.target.to_string(),
            out.notice.kind,
            out.late,
            out.maybe_repeat,
        ));
        Ok(format!("m{}", sent.len()))
    }
}

/// One run over `store`; returns what it did per target.
async fn run_on(
    store: &DynamoStore,
    sns: &Recorder,
    when: DateTime<Utc>,
    failing: &[(&str, bool)],
) -> Vec<engine::TargetOutcome> {
    let settings = Settings::default();
    let ctx = RunContext {
        canary: "prod",
        checked_at: when,
        now: when,
        settings: &settings,
        claim_until: None,
    };
    let obs: Vec<(String, Observation)> = failing
        .iter()
        .map(|(t, f)| (t.to_string(), observation(*f)))
        .collect();
    engine::run(store, sns, &ctx, &obs).await
}

/// One run, as a cold start would make it (a new client and store); the table must work.
async fn run(table: &str, sns: &Recorder, when: DateTime<Utc>, failing: &[(&str, bool)]) {
    for o in run_on(&store(table).await, sns, when, failing).await {
        let unexpected: Vec<_> = o
            .errors
            .iter()
            .filter(|e| !matches!(e, engine::AlertError::Publish { .. }))
            .collect();
        assert!(unexpected.is_empty(), "{}: {unexpected:?}", o.target);
    }
}

/// A store reaching DynamoDB through the fault proxy, with short timeouts and the SDK's
/// standard retries (3 attempts), as the canary's own clients are configured.
async fn store_via(proxy: &FaultProxy, table: &str, timeout: std::time::Duration) -> DynamoStore {
    use aws_config::retry::RetryConfig;
    use aws_config::timeout::TimeoutConfig;
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(std::time::Duration::from_secs(1))
                .operation_attempt_timeout(timeout.mul_f64(0.4))
                .operation_timeout(timeout)
                .build(),
        )
        .load()
        .await;
    let config = aws_sdk_dynamodb::config::Builder::from(&shared)
        .endpoint_url(proxy.url())
        .build();
    DynamoStore::new(
        aws_sdk_dynamodb::Client::from_conf(config),
        table,
        Duration::days(90),
    )
}

async fn moto_proxy() -> FaultProxy {
    let moto = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect("AWS_ENDPOINT_URL_DYNAMODB");
    FaultProxy::start(&moto).await
}

fn store_errors(outcomes: &[engine::TargetOutcome]) -> usize {
    outcomes
        .iter()
        .flat_map(|o| &o.errors)
        .filter(|e| matches!(e, engine::AlertError::Store(_)))
        .count()
}

#[tokio::test]
async fn table_from_the_template_has_ttl_and_point_in_time_recovery() {
    let c = client().await;
    let table = table_from_template(&c).await;
    let ttl = c
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .expect("DescribeTimeToLive");
    let ttl = ttl.time_to_live_description().expect("TTL description");
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    assert_eq!(ttl.attribute_name(), Some(dynamo::TTL_ATTRIBUTE));
    let backups = c
        .describe_continuous_backups()
        .table_name(&table)
        .send()
        .await
        .expect("DescribeContinuousBackups");
    let pitr = backups
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .and_then(|d| d.point_in_time_recovery_status())
        .map(|s| s.as_str().to_string());
    assert_eq!(pitr.as_deref(), Some("ENABLED"));
}

#[tokio::test]
async fn a_write_on_a_version_already_replaced_is_refused_and_the_winner_is_read_back() {
    let c = client().await;
    let table = table_from_template(&c).await;
    let (a, b) = (store(&table).await, store(&table).await);
    let empty = TargetRecord::default();
    let mut first = TargetRecord {
        version: 1,
        ..TargetRecord::default()
    };
    first.state.last_checked = Some(at(0));
    first.state.failing_runs = 1;
    let mut second = first.clone();
    second.state.failing_runs = 7;
    assert_eq!(a.save("prod", "api", &first, &empty).await, Ok(()));
    assert_eq!(
        b.save("prod", "api", &second, &empty).await,
        Err(SaveError::Conflict),
        "both read version 0; only one may write"
    );
    assert_eq!(b.load("prod", "api").await, Ok(Some(first.clone())));

    // A run older than the one applied cannot win even on the right version.
    let mut late = first.clone();
    late.version = 2;
    late.state.last_checked = Some(at(-5));
    assert_eq!(
        a.save("prod", "api", &late, &first).await,
        Err(SaveError::Conflict)
    );
    assert_eq!(a.load("prod", "other").await, Ok(None));
}

#[tokio::test]
async fn incidents_are_written_with_their_target_and_expire_once_closed() {
    let c = client().await;
    let table = table_from_template(&c).await;
    let s = store(&table).await;
    let mut open = TargetRecord {
        version: 1,
        ..TargetRecord::default()
    };
    open.state.last_checked = Some(at(0));
    open.state.incident = Some(Incident::open(at(0), at(0)));
    s.save("prod", "api", &open, &TargetRecord::default())
        .await
        .expect("open");
    let listed = s.incidents("prod").await.expect("incidents");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].target, "api");
    assert_eq!(listed[0].incident.ended, None);

    let mut closed = open.clone();
    closed.version = 2;
    closed.state.last_checked = Some(at(30));
    let mut incident = closed.state.incident.take().unwrap();
    incident.ended = Some(at(30));
    incident.notices_sent = 2;
    closed.state.last_closed = Some(incident);
    s.save("prod", "api", &closed, &open).await.expect("close");
    let listed = s.incidents("prod").await.expect("incidents");
    assert_eq!(listed.len(), 1, "the same incident item, updated");
    assert_eq!(listed[0].incident.ended, Some(at(30)));
    assert_eq!(listed[0].incident.notices_sent, 2);

    let items = c
        .scan()
        .table_name(&table)
        .send()
        .await
        .expect("Scan")
        .items()
        .to_vec();
    let incident = items
        .iter()
        .find(|i| i.contains_key("started"))
        .expect("incident item");
    assert_eq!(
        dynamo::expires_at(incident),
        Some(at(30) + Duration::days(90)),
        "TTL 90 days after the end"
    );
    let target = items
        .iter()
        .find(|i| i.contains_key("record"))
        .expect("target item");
    assert_eq!(
        dynamo::expires_at(target),
        None,
        "target items never expire"
    );
}

#[tokio::test]
async fn silences_are_added_listed_refused_twice_and_removed() {
    let c = client().await;
    let table = table_from_template(&c).await;
    let s = store(&table).await;
    let silence = Silence {
        id: Silence::id_for(at(0)),
        scope: Scope::Target("api".into()),
        start: at(0),
        end: at(120),
        reason: "database migration".into(),
        created_by: "ops@example.com".into(),
    };
    s.add_silence("prod", &silence).await.expect("add");
    assert_eq!(
        s.add_silence("prod", &silence).await,
        Err(StoreError::DuplicateSilence(silence.id.clone()))
    );
    assert_eq!(s.silences("prod").await, Ok(vec![silence.clone()]));
    assert_eq!(s.silences("other-canary").await, Ok(vec![]));
    assert_eq!(s.remove_silence("prod", &silence.id).await, Ok(true));
    assert_eq!(s.remove_silence("prod", &silence.id).await, Ok(false));
    assert_eq!(s.silences("prod").await, Ok(vec![]));
}

#[tokio::test]
async fn each_target_pages_once_per_incident_across_cold_starts_and_concurrent_runs() {
    use NoticeKind::{Fail, Resolved};
    let c = client().await;
    let table = table_from_template(&c).await;
    let sns = Recorder::default();
    run(&table, &sns, at(0), &[("api", true), ("db", false)]).await;
    // Five invocations of the same schedule at once (at-least-once delivery, cold starts).
    let same_time: Vec<_> = (0..5)
        .map(|i| {
            run(
                &table,
                &sns,
                at(5) + Duration::seconds(i),
                &[("api", true), ("db", true)],
            )
        })
        .collect();
    futures::future::join_all(same_time).await;
    run(&table, &sns, at(10), &[("api", false), ("db", true)]).await;
    run(&table, &sns, at(15), &[("api", false), ("db", false)]).await;
    let s = |t: &str, k| (t.to_string(), k);
    assert_eq!(
        sns.kinds(),
        vec![
            s("api", Fail),
            s("db", Fail),
            s("api", Resolved),
            s("db", Resolved)
        ]
    );
    let incidents = store(&table)
        .await
        .incidents("prod")
        .await
        .expect("incidents");
    assert_eq!(incidents.len(), 2);
    assert!(incidents
        .iter()
        .all(|i| i.incident.ended.is_some() && i.incident.notices_sent == 2));
}

#[tokio::test]
async fn a_fail_and_a_resolved_that_could_not_be_published_go_out_once_with_the_next_run() {
    use NoticeKind::{Fail, Resolved};
    let c = client().await;
    let table = table_from_template(&c).await;
    let sns = Recorder::default();
    *sns.refuse.lock().unwrap() = true;
    run(&table, &sns, at(0), &[("api", true)]).await;
    run(&table, &sns, at(5), &[("api", false)]).await;
    assert!(sns.kinds().is_empty());
    *sns.refuse.lock().unwrap() = false;
    run(&table, &sns, at(10), &[("api", false)]).await;
    run(&table, &sns, at(15), &[("api", false)]).await;
    let sent = sns.sent.lock().unwrap().clone();
    assert_eq!(
        sent,
        vec![
            ("api".to_string(), Fail, true, false),
            ("api".to_string(), Resolved, true, false)
        ],
        "each once, marked late, not marked as a possible repeat (SNS refused them outright)"
    );
}

#[tokio::test]
async fn an_open_incident_survives_runs_without_the_table_and_still_gets_its_resolved() {
    use NoticeKind::{Fail, Resolved};
    let c = client().await;
    let table = table_from_template(&c).await;
    let proxy = moto_proxy().await;
    let sns = Recorder::default();
    let timeout = std::time::Duration::from_secs(2);
    run_on(
        &store_via(&proxy, &table, timeout).await,
        &sns,
        at(0),
        &[("api", true)],
    )
    .await;
    assert_eq!(sns.kinds(), vec![("api".to_string(), Fail)]);

    // The target recovers while the table answers 500s, throttles, resets and stalls.
    let faults = [
        Fault::InternalError,
        Fault::Throttle,
        Fault::Reset,
        Fault::Stall(std::time::Duration::from_secs(30)),
    ];
    for (i, fault) in faults.into_iter().enumerate() {
        proxy.set(Service::DynamoDb, fault.clone());
        let started = std::time::Instant::now();
        let store = store_via(&proxy, &table, timeout).await;
        let out = run_on(&store, &sns, at(5 * (i as i64 + 1)), &[("api", false)]).await;
        assert_eq!(
            store_errors(&out),
            1,
            "{fault:?}: the run says the table failed"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(15),
            "{fault:?}: ended by the 2 s AWS timeout, not by the table, took {:?}",
            started.elapsed()
        );
    }
    assert_eq!(sns.kinds().len(), 1, "nothing sent without the table");
    let retried = proxy.count(Service::DynamoDb);
    assert!(
        retried >= 4 * 3,
        "the SDK retried each fault ({retried} requests)"
    );

    proxy.set(Service::DynamoDb, Fault::Pass);
    let store = store_via(&proxy, &table, timeout).await;
    run_on(&store, &sns, at(30), &[("api", false)]).await;
    run_on(&store, &sns, at(35), &[("api", false)]).await;
    assert_eq!(
        sns.kinds(),
        vec![("api".to_string(), Fail), ("api".to_string(), Resolved)],
        "the incident stayed open in the table until a run could see the recovery"
    );
}

#[tokio::test]
async fn a_throttled_write_is_retried_by_the_sdk_and_the_run_still_pages_once() {
    let c = client().await;
    let table = table_from_template(&c).await;
    let proxy = moto_proxy().await;
    proxy.set_operation(
        Service::DynamoDb,
        "TransactWriteItems",
        Fault::first(1, Fault::Throttle),
    );
    let sns = Recorder::default();
    let store = store_via(&proxy, &table, std::time::Duration::from_secs(5)).await;
    let out = run_on(&store, &sns, at(0), &[("api", true)]).await;
    assert_eq!(store_errors(&out), 0, "{out:?}");
    assert_eq!(sns.kinds(), vec![("api".to_string(), NoticeKind::Fail)]);
    assert_eq!(
        proxy.count_operation(Service::DynamoDb, "TransactWriteItems"),
        3,
        "the throttled attempt, its retry, and the write recording the delivery (which counts \
         the notice on the incident's item)"
    );
}
