//! Configuration, in stages: the source (`source`: exactly one of a file, inline JSON, an SSM
//! parameter or a URL) is read into the file's raw shape (`raw`, serde, unknown keys rejected);
//! its references (`reference`: `${VAR}`, `${ssm:…}`, `${secretsmanager:…}`) are fetched once
//! through a [`SecretStore`] (`secrets`); then the raw shape and the environment's settings
//! (`env`, every `CANARY_*` setting in one struct, flags on top) are validated once into a
//! [`Config`] (`model`), the only shape the rest of the canary sees. Defaults and limits live in
//! `defaults`; `target`, `target_url` and `sections` check each part and report every problem
//! together. The CLI and the Lambda load through [`load_settings`], `validate` through
//! [`check_settings`], the demo and tests through [`load`].

pub mod defaults;
pub mod env;
mod error;
mod model;
mod problems;
mod raw;
mod reference;
#[cfg(test)]
mod schema;
mod secrets;
mod sections;
mod source;
mod target;
mod target_url;
mod windows;

pub use defaults::{
    DEFAULT_CANARY, DEFAULT_MAX_BODY_BYTES, DEFAULT_NAMESPACE, DEFAULT_TIMEOUT_SECONDS,
    MAX_BODY_BYTES_LIMIT, MAX_TIMEOUT_SECONDS,
};
pub use env::{Overrides, Settings};
pub use error::{ConfigError, FetchError};
pub use model::{
    AlertConfig, Config, Measurements, MetricsConfig, Publisher, Secret, StatusRange, Target,
};
pub use secrets::SecretStore;

use problems::Problems;
use raw::{RawConfig, RawTarget};
use reference::Reference;
use secrets::{Fetched, Values};
use source::Source;
use std::collections::{BTreeSet, HashSet};

/// Loads the configuration from the one source `settings` give, fetching the config (from
/// `CANARY_CONFIG_SSM`) and every `${ssm:…}` / `${secretsmanager:…}` reference through `store`,
/// each parameter or secret once; `env` resolves `${VAR}`. What the CLI and the Lambda run with.
pub async fn load_settings(
    settings: &Settings,
    env: &dyn Fn(&str) -> Option<String>,
    store: &impl SecretStore,
) -> Result<Config, ConfigError> {
    let raw = Source::choose(settings)?.read(store).await?;
    let fetched = secrets::fetch_all(&references(&raw), store).await;
    validate(
        raw,
        &settings.overrides,
        &Values::Resolve {
            env,
            fetched: &fetched,
        },
    )
}

/// Loads a config from a file path or inline JSON (exactly one), or simple mode from the URL
/// override, resolving `${VAR}` through `env`. It fetches nothing: an `${ssm:…}` or
/// `${secretsmanager:…}` reference is an error here (use [`load_settings`]).
pub fn load(
    file: Option<&str>,
    inline_json: Option<&str>,
    overrides: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let settings = Settings {
        config_file: file.map(str::to_string),
        config_json: env::non_empty(inline_json.map(str::to_string)),
        overrides: overrides.clone(),
        ..Settings::default()
    };
    let raw = Source::choose(&settings)?.read_local()?;
    validate(
        raw,
        overrides,
        &Values::Resolve {
            env,
            fetched: &Fetched::default(),
        },
    )
}

/// What a valid config holds, as `validate` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    /// Where it came from (`config file canary.json`).
    pub source: String,
    /// The canary's name.
    pub canary: String,
    /// How many targets.
    pub targets: usize,
    /// How many distinct references (`${…}`), checked but not resolved.
    pub references: usize,
}

impl std::fmt::Display for Checked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        write!(
            f,
            "{} is valid: canary '{}', {}, {} (checked, not fetched)",
            self.source,
            self.canary,
            plural(self.targets, "target", "targets"),
            plural(self.references, "secret reference", "secret references"),
        )
    }
}

/// Checks the config from the one source `settings` give without resolving any reference: every
/// problem at once, nothing probed, no secret fetched (only a config kept in SSM is read, through
/// `store`).
pub async fn check_settings(
    settings: &Settings,
    store: &impl SecretStore,
) -> Result<Checked, ConfigError> {
    let source = Source::choose(settings)?;
    let raw = source.read(store).await?;
    let references = references(&raw).len();
    let config = validate(raw, &settings.overrides, &Values::SyntaxOnly)?;
    Ok(Checked {
        source: source.describe(),
        canary: config.canary,
        targets: config.targets.len(),
        references,
    })
}

/// Every well-formed reference of the config, once (malformed ones are reported by validation).
fn references(raw: &RawConfig) -> BTreeSet<Reference> {
    raw.templates()
        .filter_map(|t| reference::references(t).ok())
        .flatten()
        .collect()
}

/// Raw file + overrides → a validated [`Config`], or every problem at once.
fn validate(raw: RawConfig, ov: &Overrides, values: &Values) -> Result<Config, ConfigError> {
    let mut p = Problems::under("");
    if raw.targets.is_empty() {
        return Err(ConfigError::Missing);
    }
    let canary = sections::canary(raw.canary, ov, &mut p);
    let concurrency = sections::concurrency(raw.concurrency, &mut p);
    let targets = validate_targets(raw.targets, ov.allow_http, values, &mut p);
    let metrics = sections::metrics(raw.metrics, ov, &mut p);
    let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    let mut alerts = sections::alerts(raw.alerts, ov, &names, &mut p);
    alerts.hints = targets
        .iter()
        .filter(|t| !t.hints.is_empty())
        .map(|t| (t.name.clone(), t.hints.clone()))
        .collect();
    if p.is_empty() {
        Ok(Config {
            canary,
            targets,
            concurrency,
            metrics,
            alerts,
        })
    } else {
        Err(ConfigError::Invalid(p.into_messages()))
    }
}

/// Every target validated, names unique; problems are recorded in target order.
fn validate_targets(
    raw: Vec<RawTarget>,
    allow_http: bool,
    values: &Values,
    p: &mut Problems,
) -> Vec<Target> {
    let mut seen = HashSet::new();
    let mut targets = Vec::new();
    for (i, t) in raw.into_iter().enumerate() {
        match target::validate_target(i, t, allow_http, values) {
            Ok(t) => {
                if !seen.insert(t.name.clone()) {
                    p.push(
                        &format!("targets[{i}]"),
                        format!("duplicate target name '{}': names must be unique (they are metric dimensions)", t.name),
                    );
                }
                targets.push(t);
            }
            Err(messages) => p.extend(messages),
        }
    }
    targets
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::formats::Format;
    use crate::check::report::Status;
    use crate::sinks::alert::settings::Flapping;
    use crate::sinks::alert::silence::Scope;
    use secrets::MapStore;
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn load_json(json: &str) -> Result<Config, ConfigError> {
        load(None, Some(json), &Overrides::default(), &no_env)
    }

    fn errors_of(json: &str) -> String {
        load_json(json).unwrap_err().to_string()
    }

    #[test]
    fn simple_mode_needs_only_a_url() {
        let ov = Overrides {
            url: Some("https://example.com/api/health/system".into()),
            ..Overrides::default()
        };
        let c = load(None, None, &ov, &no_env).unwrap();
        assert_eq!(c.canary, DEFAULT_CANARY);
        assert_eq!(c.targets.len(), 1);
        let t = &c.targets[0];
        assert_eq!(t.name, "example.com");
        assert_eq!(t.timeout, Duration::from_secs(10));
        assert_eq!(t.retries, 1);
        assert!(t.critical);
        assert_eq!(
            t.expected_statuses,
            vec![StatusRange {
                low: 200,
                high: 299
            }]
        );
        assert_eq!(c.metrics.namespace, "HealthCanary");
        let engine = &c.alerts.engine;
        assert_eq!(engine.reminder, Some(chrono::Duration::minutes(60)));
        assert_eq!(
            (engine.failure_threshold, engine.recovery_threshold),
            (1, 1)
        );
        assert!(!engine.notify_warn);
        assert_eq!(
            engine.flapping,
            Some(Flapping {
                window: chrono::Duration::minutes(60),
                changes: 5
            })
        );
        assert!(engine.maintenance.is_empty());
        assert_eq!(c.alerts.state_table, None);
    }

    #[test]
    fn nothing_given_says_how_to_give_targets() {
        let e = load(None, None, &Overrides::default(), &no_env).unwrap_err();
        assert!(e.to_string().contains("--url or CANARY_URL"));
    }

    #[test]
    fn full_mode_reads_every_field() {
        let env = |k: &str| (k == "TOKEN").then(|| "s3cret".to_string());
        let c = load(
            None,
            Some(
                r#"{"canary":"prod","concurrency":4,
                "targets":[{"name":"system","url":"https://x.example/h","method":"get",
                  "headers":{"Authorization":"Bearer ${TOKEN}"},"timeout_seconds":2.5,
                  "expected_status":[200,"3xx"],"format":"component_map",
                  "conditions":["market_data.max_age_minutes < 30",{"expr":"trade_system.open_orders <= 50","severity":"warn"}],
                  "critical":false,"retries":0,"hints":{"market_data":"restart the updater"}}],
                "metrics":{"namespace":"Ops/Canary","measurements":["stale_symbols"],"publisher":"emf"},
                "alerts":{"reminder_minutes":30,"notify_warn":true,"failure_threshold":2}}"#,
            ),
            &Overrides::default(),
            &env,
        )
        .unwrap();
        let t = &c.targets[0];
        assert_eq!(t.headers[0].1.expose(), "Bearer s3cret");
        assert_eq!(format!("{:?}", t.headers[0].1), "Secret(***)");
        assert_eq!(t.format, Some(Format::ComponentMap));
        assert_eq!(t.conditions.len(), 2);
        assert_eq!(t.conditions[1].severity, Status::Warn);
        assert!(!t.critical);
        assert_eq!(
            t.expected_statuses[1],
            StatusRange {
                low: 300,
                high: 399
            }
        );
        assert_eq!(
            c.metrics.measurements,
            Measurements::Only(vec!["stale_symbols".into()])
        );
        assert_eq!(c.metrics.publisher, Publisher::Emf);
        assert_eq!(c.alerts.engine.failure_threshold, 2);
    }

    #[test]
    fn alert_keys_set_the_engine_thresholds_flapping_and_maintenance_windows() {
        let c = load_json(
            r#"{"targets":[{"name":"trading","url":"https://a/"}],
                "alerts":{"topic_arn":"arn:aws:sns:us-east-1:000000000000:t","state_table":"canary-state",
                  "failure_threshold":3,"recovery_threshold":2,"reminder_minutes":0,
                  "flapping":{"window_minutes":30,"changes":4},
                  "maintenance":[{"days":["sun","Saturday"],"start":"22:30","duration_minutes":180,
                                  "time_zone":"Europe/Berlin","target":"trading"},
                                 {"days":["wed"],"start":"03:00","duration_minutes":60}]}}"#,
        )
        .unwrap();
        let a = &c.alerts;
        assert_eq!(a.state_table.as_deref(), Some("canary-state"));
        let e = &a.engine;
        assert_eq!((e.failure_threshold, e.recovery_threshold), (3, 2));
        assert_eq!(e.reminder, None, "0 turns reminders off");
        assert_eq!(
            e.flapping,
            Some(Flapping {
                window: chrono::Duration::minutes(30),
                changes: 4
            })
        );
        let w = &e.maintenance;
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].scope, Scope::Target("trading".into()));
        assert_eq!(w[0].days, [chrono::Weekday::Sun, chrono::Weekday::Sat]);
        assert_eq!(w[0].zone, chrono_tz::Europe::Berlin);
        assert_eq!(w[0].length, chrono::Duration::minutes(180));
        assert_eq!(
            (w[1].scope.clone(), w[1].zone),
            (Scope::All, chrono_tz::UTC)
        );
        let off = load_json(r#"{"targets":[{"url":"https://a/"}],"alerts":{"flapping":false}}"#);
        assert_eq!(off.unwrap().alerts.engine.flapping, None);
    }

    #[test]
    fn each_invalid_alert_setting_is_named_together_with_the_others() {
        let e = errors_of(
            r#"{"targets":[{"name":"trading","url":"https://a/"}],
                "alerts":{"topic_arn":"arn:aws:sns:us-east-1:000000000000:t",
                  "recovery_threshold":0,"flapping":{"window_minutes":2,"changes":1},
                  "maintenance":[{"days":["caturday"],"start":"25:00","duration_minutes":0,
                                  "time_zone":"Mars/Olympus","target":"tradng"},
                                 {"days":[],"start":"01:00","duration_minutes":20000}]}}"#,
        );
        for want in [
            "alerts.recovery_threshold: 0 is out of range, use 1 to 100",
            "alerts.state_table: alerts need a state table with a topic",
            "alerts.flapping.window_minutes: 2 is out of range",
            "alerts.flapping.changes: 1 is out of range",
            "alerts.maintenance[0].days: 'caturday' is not a weekday",
            "alerts.maintenance[0].start: '25:00' is not a local time as HH:MM",
            "alerts.maintenance[0].duration_minutes: 0 is out of range",
            "alerts.maintenance[0].time_zone: 'Mars/Olympus' is not an IANA time zone",
            "alerts.maintenance[0].target: 'tradng' is not a configured target name",
            "alerts.maintenance[1].days: list at least one weekday",
            "alerts.maintenance[1].duration_minutes: 20000 is out of range",
        ] {
            assert!(e.contains(want), "missing {want:?} in:\n{e}");
        }
        let bad_table =
            errors_of(r#"{"targets":[{"url":"https://a/"}],"alerts":{"state_table":"a b"}}"#);
        assert!(
            bad_table.contains("'a b' is not a DynamoDB table name"),
            "{bad_table}"
        );
        assert!(load_json(
            r#"{"targets":[{"url":"https://a/"}],"alerts":{"state_table":"arn:aws:dynamodb:us-east-1:000000000000:table/canary-state"}}"#
        )
        .is_ok());
    }

    #[test]
    fn each_invalid_value_is_named_with_what_to_fix() {
        let cases = [
            (
                r#"{"targets":[{"url":"https://a/","timout_seconds":3}]}"#,
                "unknown field `timout_seconds`",
            ),
            (
                r#"{"targets":[{"name":"a","url":"https://a/"},{"name":"a","url":"https://b/"}]}"#,
                "duplicate target name 'a'",
            ),
            (
                r#"{"targets":[{"url":"ftp://a/"}]}"#,
                "must be an http:// or https:// URL",
            ),
            (r#"{"targets":[{"url":"not a url"}]}"#, "is not a URL"),
            (
                r#"{"targets":[{"url":"https://a/","timeout_seconds":0}]}"#,
                "timeout_seconds: 0 is out of range",
            ),
            (
                r#"{"targets":[{"url":"https://a/","timeout_seconds":600}]}"#,
                "timeout_seconds: 600 is out of range",
            ),
            (
                r#"{"targets":[{"url":"https://a/","expected_status":[99]}]}"#,
                "is not an HTTP status",
            ),
            (
                r#"{"targets":[{"url":"https://a/","format":"yaml"}]}"#,
                "'yaml' is not a format",
            ),
            (
                r#"{"targets":[{"url":"https://a/","conditions":["x <"]}]}"#,
                "conditions[0]",
            ),
            (
                r#"{"targets":[{"url":"https://a/","headers":{"X":"${NOPE}"}}]}"#,
                "references ${NOPE}, which is not set",
            ),
            (
                r#"{"targets":[{"url":"http://example.com/"}]}"#,
                "plain http to 'example.com' is refused",
            ),
            (
                r#"{"targets":[{"url":"https://u:p@a/"}]}"#,
                "credentials in the URL",
            ),
            (
                r#"{"targets":[{"url":"https://a/","retries":9}]}"#,
                "retries: 9 is out of range",
            ),
            (
                r#"{"targets":[{"url":"https://a/"}],"concurrency":0}"#,
                "concurrency: 0 is out of range",
            ),
            (
                r#"{"targets":[{"url":"https://a/"}],"metrics":{"namespace":"AWS/Lambda"}}"#,
                "not a valid CloudWatch namespace",
            ),
            (
                r#"{"targets":[{"url":"https://a/"}],"alerts":{"failure_threshold":0}}"#,
                "failure_threshold: 0 is out of range",
            ),
            (
                r#"{"targets":[{"url":"https://a/"}],"alerts":{"topic_arn":"my-topic"}}"#,
                "is not an SNS topic ARN",
            ),
            (
                r#"{"targets":[{"url":"https://a/","method":"DELETE"}]}"#,
                "'DELETE' is not supported",
            ),
            (
                r#"{"targets":[{"url":"https://a/","ca_file":"/nonexistent/ca.pem"}]}"#,
                "targets[0].ca_file: cannot read '/nonexistent/ca.pem'",
            ),
            (
                r#"{"targets":[{"url":"https://a/","ca_file":"Cargo.toml"}]}"#,
                "holds no PEM certificate",
            ),
            (r#"{"targets":"#, "invalid config in CANARY_CONFIG"),
        ];
        for (json, want) in cases {
            let e = errors_of(json);
            assert!(e.contains(want), "{json}\n=> {e}");
        }
    }

    #[test]
    fn all_errors_are_reported_together() {
        let e = errors_of(r#"{"targets":[{"url":"ftp://a/","retries":9}],"concurrency":0}"#);
        assert!(
            e.contains("ftp://") && e.contains("retries") && e.contains("concurrency"),
            "{e}"
        );
    }

    #[test]
    fn plain_http_is_allowed_to_loopback_or_when_opted_in() {
        assert!(load_json(r#"{"targets":[{"url":"http://127.0.0.1:8080/h"}]}"#).is_ok());
        assert!(load_json(r#"{"targets":[{"url":"http://localhost/h"}]}"#).is_ok());
        assert!(load_json(r#"{"targets":[{"url":"http://[::1]/h"}]}"#).is_ok());
        assert!(
            load_json(r#"{"targets":[{"url":"http://example.com/","allow_http":true}]}"#).is_ok()
        );
        let ov = Overrides {
            url: Some("http://example.com/".into()),
            allow_http: true,
            ..Overrides::default()
        };
        assert!(load(None, None, &ov, &no_env).is_ok());
    }

    #[test]
    fn env_overrides_beat_the_file() {
        let ov = Overrides {
            namespace: Some("Other".into()),
            reminder_minutes: Some("15".into()),
            notify_warn: Some("true".into()),
            measurements: Some("none".into()),
            topic_arn: Some("arn:aws:sns:us-east-1:000000000000:t".into()),
            state_table: Some("from-env".into()),
            failure_threshold: Some("2".into()),
            recovery_threshold: Some("3".into()),
            ..Overrides::default()
        };
        let c = load(
            None,
            Some(
                r#"{"targets":[{"url":"https://a/"}],"alerts":{"reminder_minutes":60,"state_table":"from-file","recovery_threshold":1}}"#,
            ),
            &ov,
            &no_env,
        )
        .unwrap();
        assert_eq!(c.metrics.namespace, "Other");
        assert_eq!(
            c.alerts.engine.reminder,
            Some(chrono::Duration::minutes(15))
        );
        assert!(c.alerts.engine.notify_warn);
        assert_eq!(c.alerts.state_table.as_deref(), Some("from-env"));
        assert_eq!(
            (
                c.alerts.engine.failure_threshold,
                c.alerts.engine.recovery_threshold
            ),
            (2, 3)
        );
        assert_eq!(c.metrics.measurements, Measurements::None);
        assert!(c.alerts.topic_arn.is_some());
        let bad = Overrides {
            reminder_minutes: Some("soon".into()),
            ..Overrides::default()
        };
        let e = load(
            None,
            Some(r#"{"targets":[{"url":"https://a/"}]}"#),
            &bad,
            &no_env,
        )
        .unwrap_err();
        assert!(e.to_string().contains("'soon' is not a whole number"));
    }

    #[test]
    fn a_url_and_a_config_together_are_refused_naming_both() {
        let ov = Overrides {
            url: Some("https://a/".into()),
            ..Overrides::default()
        };
        let e = load(
            None,
            Some(r#"{"targets":[{"url":"https://b/"}]}"#),
            &ov,
            &no_env,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "several config sources given (CANARY_CONFIG, a URL (--url or CANARY_URL)): give exactly one"
        );
    }

    #[test]
    fn missing_file_names_the_path() {
        let e = load(
            Some("/nonexistent/canary.json"),
            None,
            &Overrides::default(),
            &no_env,
        )
        .unwrap_err();
        assert!(e
            .to_string()
            .contains("cannot read config file /nonexistent/canary.json"));
    }

    fn ssm_settings(name: &str) -> Settings {
        let name = name.to_string();
        Settings::from_lookup(&|k| (k == env::CANARY_CONFIG_SSM).then(|| name.clone()))
    }

    fn store(config: &str) -> MapStore {
        MapStore {
            parameters: [
                ("/canary/config", config),
                ("/p/token", "tok-1"),
                ("/p/tenant", "acme"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into(),
            secrets: [("creds".to_string(), r#"{"key":"k&y"}"#.to_string())].into(),
            ..MapStore::default()
        }
    }

    #[tokio::test]
    async fn loads_from_an_ssm_parameter_with_secrets_from_both_stores() {
        let store = store(
            r#"{"$schema":"./canary.schema.json","targets":[{"name":"api",
                "url":"https://a.example/t/${ssm:/p/tenant}/h?key=${secretsmanager:creds#key}",
                "headers":{"Authorization":"Bearer ${ssm:/p/token}","X-Tenant":"${ssm:/p/tenant}"}}]}"#,
        );
        let c = load_settings(&ssm_settings("/canary/config"), &no_env, &store)
            .await
            .unwrap();
        let t = &c.targets[0];
        assert_eq!(t.headers[0].1.expose(), "Bearer tok-1");
        assert_eq!(t.url.as_str(), "https://a.example/t/acme/h?key=k%26y");
        assert_eq!(
            t.shown_url,
            "https://a.example/t/${ssm:/p/tenant}/h?key=${secretsmanager:creds#key}"
        );
        // The config, the two parameters and the secret: each read once.
        assert_eq!(store.calls.load(Ordering::SeqCst), 4);
        let debug = format!("{c:?}");
        for value in ["tok-1", "acme", "k&y", "k%26y"] {
            assert!(!debug.contains(value), "{value} in {debug}");
        }
    }

    #[tokio::test]
    async fn an_unreadable_config_parameter_is_a_config_error_naming_it() {
        let e = load_settings(&ssm_settings("/nope"), &no_env, &store("{}"))
            .await
            .unwrap_err();
        assert!(matches!(e, ConfigError::Parameter { .. }));
        assert!(
            e.to_string().starts_with(
                "cannot read the config from SSM parameter /nope (CANARY_CONFIG_SSM): it is not found"
            ),
            "{e}"
        );
        let e = load_settings(
            &ssm_settings("/canary/config"),
            &no_env,
            &store("{\"targets\":"),
        )
        .await
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid config in SSM parameter /canary/config: "),
            "{e}"
        );
    }

    #[tokio::test]
    async fn every_missing_secret_is_named_by_its_reference_never_its_value() {
        let store = store(
            r#"{"targets":[{"url":"https://a.example/h?k=${ssm:/p/gone}",
                "headers":{"A":"${secretsmanager:creds#nokey}","B":"${secretsmanager:denied}","C":"${ssm:/p/token}"}}]}"#,
        );
        let e = load_settings(&ssm_settings("/canary/config"), &no_env, &store)
            .await
            .unwrap_err()
            .to_string();
        for want in [
            "targets[0].url: references ${ssm:/p/gone}, which is not found",
            "targets[0].headers: the value of 'A' references ${secretsmanager:creds#nokey}, which is a secret without the key 'nokey'",
            "targets[0].headers: the value of 'B' references ${secretsmanager:denied}, which is not readable: access denied",
        ] {
            assert!(e.contains(want), "{want}\n{e}");
        }
        assert!(!e.contains("tok-1") && !e.contains("k&y"), "{e}");
    }

    #[tokio::test]
    async fn check_settings_checks_references_without_fetching_any() {
        let settings = Settings::from_lookup(&|k| {
            (k == env::CANARY_CONFIG).then(|| {
                r#"{"canary":"prod","targets":[
                    {"url":"https://a.example/h?k=${ssm:/p/token}","headers":{"A":"${UNSET_VAR}"}},
                    {"url":"https://b.example/h","headers":{"B":"x ${secretsmanager:creds#k} ${ssm:/p/token}"}}]}"#
                    .to_string()
            })
        });
        let store = store("{}");
        let checked = check_settings(&settings, &store).await.unwrap();
        assert_eq!(store.calls.load(Ordering::SeqCst), 0);
        assert_eq!(
            checked.to_string(),
            "the config in CANARY_CONFIG is valid: canary 'prod', 2 targets, 3 secret references (checked, not fetched)"
        );
        let bad = Settings::from_lookup(&|k| {
            (k == env::CANARY_CONFIG).then(|| {
                r#"{"targets":[{"url":"https://${ssm:/host}/h","retries":9,
                    "headers":{"A":"${vault:x}"}}]}"#
                    .to_string()
            })
        });
        let e = check_settings(&bad, &store).await.unwrap_err().to_string();
        for want in [
            "stands outside the path",
            "unknown kind 'vault'",
            "retries: 9",
        ] {
            assert!(e.contains(want), "{want}\n{e}");
        }
    }

    #[test]
    fn load_without_a_store_refuses_remote_references() {
        let e = errors_of(r#"{"targets":[{"url":"https://a/","headers":{"A":"${ssm:/x}"}}]}"#);
        assert!(
            e.contains("references ${ssm:/x}, which is not fetched"),
            "{e}"
        );
    }
}
