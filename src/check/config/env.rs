//! The process environment: every variable the canary reads, named once, read only here
//! ([`process_env`] is the one place in the crate that calls `std::env::var`), and gathered into
//! one [`Settings`] value that the entry points hand on. Empty or blank values count as unset,
//! as SAM passes unset parameters that way.
//!
//! | Variable | Meaning |
//! |---|---|
//! | `CANARY_URL` | Simple mode: one health URL with every default (`--url` wins over it). |
//! | `CANARY_CONFIG` | Full mode: the JSON config inline. |
//! | `CANARY_CONFIG_FILE` | Full mode: path to a JSON config file (`--config` wins over it). |
//! | `CANARY_CONFIG_SSM` | Full mode: name (or ARN) of an SSM parameter holding the JSON config, read once at start, decrypted. |
//! | `CANARY_NAME` | The canary's name, the `Canary` dimension (config `canary`; default `health-canary`). |
//! | `CANARY_NAMESPACE` | CloudWatch namespace (config `metrics.namespace`; default `HealthCanary`). |
//! | `CANARY_MEASUREMENTS` | `all`, `none` or a comma-separated list of field names (config `metrics.measurements`; default `all`). |
//! | `CANARY_PUBLISHER` | `api` or `emf` (config `metrics.publisher`; default `api`). |
//! | `CANARY_TOPIC_ARN` | SNS topic for alerts; alerts are off without it (config `alerts.topic_arn`). |
//! | `CANARY_REMINDER_MINUTES` | Minutes between REMINDERs while an incident lasts, 0–10080 (config `alerts.reminder_minutes`; default 60). |
//! | `CANARY_NOTIFY_WARN` | Send WARN notices: `true`/`false` (also `1`/`0`, `yes`/`no`; config `alerts.notify_warn`; default false). |
//! | `CANARY_FAILURE_THRESHOLD` | Consecutive failing runs of a target before its FAIL alert, 1–100 (config `alerts.failure_threshold`; default 1). |
//! | `CANARY_RECOVERY_THRESHOLD` | Consecutive non-failing runs of a target before its RESOLVED alert, 1–100 (config `alerts.recovery_threshold`; default 1). |
//! | `CANARY_STATE_TABLE` | The DynamoDB table holding alert state, incidents and silences; needed with a topic (config `alerts.state_table`). |
//! | `CANARY_AWS_TIMEOUT_SECONDS` | Time per AWS call, retries included, whole seconds 1–300 (default 10; other values are ignored with a warning). |
//! | `CANARY_FUNCTION_TIMEOUT_SECONDS` | Lambda only: the function's timeout in whole seconds (the template sets it); a config whose probes cannot fit it with the alert path is rejected. |
//! | `RUST_LOG` | Log filter (e.g. `health_canary=debug`); replaces the CLI's `-v` levels and wins over `AWS_LAMBDA_LOG_LEVEL`. |
//! | `AWS_LAMBDA_LOG_FORMAT` | Lambda only: `JSON` for JSON log lines, else plain text. |
//! | `AWS_LAMBDA_LOG_LEVEL` | Lambda only: log level when `RUST_LOG` is unset (default `info`). |
//! | `USER` | CLI only: who added a silence, when `silence add` has no `--by`. |
//! | any `${VAR}` in a header value or a URL's path or query | Resolved when the config loads; here an empty value is a value. |
//!
//! Exactly one config source: `CANARY_CONFIG_FILE` (or `--config`), `CANARY_CONFIG`,
//! `CANARY_CONFIG_SSM` or `CANARY_URL` (or `--url`); several at once are refused, naming each.
//! Precedence: command-line flags > these variables > the config file > defaults. The AWS SDK
//! reads its own variables (`AWS_REGION`, `AWS_ENDPOINT_URL`, credentials) itself.

/// Simple mode: one health URL.
pub const CANARY_URL: &str = "CANARY_URL";
/// Full mode: the JSON config inline.
pub const CANARY_CONFIG: &str = "CANARY_CONFIG";
/// Full mode: path to a JSON config file.
pub const CANARY_CONFIG_FILE: &str = "CANARY_CONFIG_FILE";
/// Full mode: an SSM parameter holding the JSON config.
pub const CANARY_CONFIG_SSM: &str = "CANARY_CONFIG_SSM";
/// The canary's name.
pub const CANARY_NAME: &str = "CANARY_NAME";
/// CloudWatch namespace.
pub const CANARY_NAMESPACE: &str = "CANARY_NAMESPACE";
/// Which measurements become metrics.
pub const CANARY_MEASUREMENTS: &str = "CANARY_MEASUREMENTS";
/// `api` or `emf`.
pub const CANARY_PUBLISHER: &str = "CANARY_PUBLISHER";
/// SNS topic for alerts.
pub const CANARY_TOPIC_ARN: &str = "CANARY_TOPIC_ARN";
/// Minutes between REMINDERs.
pub const CANARY_REMINDER_MINUTES: &str = "CANARY_REMINDER_MINUTES";
/// Whether WARN notices are sent.
pub const CANARY_NOTIFY_WARN: &str = "CANARY_NOTIFY_WARN";
/// Consecutive failing runs before a target's FAIL alert.
pub const CANARY_FAILURE_THRESHOLD: &str = "CANARY_FAILURE_THRESHOLD";
/// Consecutive non-failing runs before a target's RESOLVED alert.
pub const CANARY_RECOVERY_THRESHOLD: &str = "CANARY_RECOVERY_THRESHOLD";
/// The DynamoDB alert state table.
pub const CANARY_STATE_TABLE: &str = "CANARY_STATE_TABLE";
/// Time per AWS call in whole seconds.
pub const CANARY_AWS_TIMEOUT_SECONDS: &str = "CANARY_AWS_TIMEOUT_SECONDS";
/// The Lambda function's timeout in whole seconds.
pub const CANARY_FUNCTION_TIMEOUT_SECONDS: &str = "CANARY_FUNCTION_TIMEOUT_SECONDS";
/// Log filter.
pub const RUST_LOG: &str = "RUST_LOG";
/// Lambda's log format setting.
pub const AWS_LAMBDA_LOG_FORMAT: &str = "AWS_LAMBDA_LOG_FORMAT";
/// Lambda's log level setting.
pub const AWS_LAMBDA_LOG_LEVEL: &str = "AWS_LAMBDA_LOG_LEVEL";
/// The login name (who adds a silence).
pub const USER: &str = "USER";

/// Every variable [`Settings`] reads, in the order of the table above.
pub const ALL: [&str; 20] = [
    CANARY_URL,
    CANARY_CONFIG,
    CANARY_CONFIG_FILE,
    CANARY_CONFIG_SSM,
    CANARY_NAME,
    CANARY_NAMESPACE,
    CANARY_MEASUREMENTS,
    CANARY_PUBLISHER,
    CANARY_TOPIC_ARN,
    CANARY_REMINDER_MINUTES,
    CANARY_NOTIFY_WARN,
    CANARY_FAILURE_THRESHOLD,
    CANARY_RECOVERY_THRESHOLD,
    CANARY_STATE_TABLE,
    CANARY_AWS_TIMEOUT_SECONDS,
    CANARY_FUNCTION_TIMEOUT_SECONDS,
    RUST_LOG,
    AWS_LAMBDA_LOG_FORMAT,
    AWS_LAMBDA_LOG_LEVEL,
    USER,
];

/// Settings that override the config file: filled from the environment, then from the CLI's
/// flags (which win). Values stay text here; the config's validation parses and checks them.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// Simple mode: a single URL (`CANARY_URL`, `--url`).
    pub url: Option<String>,
    /// Canary name (`CANARY_NAME`).
    pub canary: Option<String>,
    /// CloudWatch namespace (`CANARY_NAMESPACE`).
    pub namespace: Option<String>,
    /// SNS topic (`CANARY_TOPIC_ARN`).
    pub topic_arn: Option<String>,
    /// `CANARY_REMINDER_MINUTES`.
    pub reminder_minutes: Option<String>,
    /// `CANARY_NOTIFY_WARN`.
    pub notify_warn: Option<String>,
    /// `CANARY_FAILURE_THRESHOLD`.
    pub failure_threshold: Option<String>,
    /// `CANARY_RECOVERY_THRESHOLD`.
    pub recovery_threshold: Option<String>,
    /// `CANARY_STATE_TABLE` (or `--table`).
    pub state_table: Option<String>,
    /// `CANARY_MEASUREMENTS`: `all`, `none`, or a comma-separated list.
    pub measurements: Option<String>,
    /// `CANARY_PUBLISHER`: `api` or `emf`.
    pub publisher: Option<String>,
    /// `--allow-http`: plain http allowed for every target (a flag only).
    pub allow_http: bool,
}

/// Everything the process environment says, read once at start-up and handed on by value.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// `CANARY_CONFIG_FILE` (or `--config`).
    pub config_file: Option<String>,
    /// `CANARY_CONFIG`.
    pub config_json: Option<String>,
    /// `CANARY_CONFIG_SSM`.
    pub config_ssm: Option<String>,
    /// The settings that override the config file.
    pub overrides: Overrides,
    /// `CANARY_AWS_TIMEOUT_SECONDS`, unparsed (the AWS clients check it).
    pub aws_timeout_seconds: Option<String>,
    /// `CANARY_FUNCTION_TIMEOUT_SECONDS`, unparsed (the Lambda checks it).
    pub function_timeout_seconds: Option<String>,
    /// `RUST_LOG`.
    pub rust_log: Option<String>,
    /// `AWS_LAMBDA_LOG_FORMAT`.
    pub lambda_log_format: Option<String>,
    /// `AWS_LAMBDA_LOG_LEVEL`.
    pub lambda_log_level: Option<String>,
    /// `USER`.
    pub user: Option<String>,
}

impl Settings {
    /// Gathers the settings from `lookup` (a variable's value by name). Pure: tests pass a map.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Settings {
        let var = |name: &str| non_empty(lookup(name));
        Settings {
            config_file: var(CANARY_CONFIG_FILE),
            config_json: var(CANARY_CONFIG),
            config_ssm: var(CANARY_CONFIG_SSM),
            overrides: Overrides {
                url: var(CANARY_URL),
                canary: var(CANARY_NAME),
                namespace: var(CANARY_NAMESPACE),
                topic_arn: var(CANARY_TOPIC_ARN),
                reminder_minutes: var(CANARY_REMINDER_MINUTES),
                notify_warn: var(CANARY_NOTIFY_WARN),
                failure_threshold: var(CANARY_FAILURE_THRESHOLD),
                recovery_threshold: var(CANARY_RECOVERY_THRESHOLD),
                state_table: var(CANARY_STATE_TABLE),
                measurements: var(CANARY_MEASUREMENTS),
                publisher: var(CANARY_PUBLISHER),
                allow_http: false,
            },
            aws_timeout_seconds: var(CANARY_AWS_TIMEOUT_SECONDS),
            function_timeout_seconds: var(CANARY_FUNCTION_TIMEOUT_SECONDS),
            rust_log: var(RUST_LOG),
            lambda_log_format: var(AWS_LAMBDA_LOG_FORMAT),
            lambda_log_level: var(AWS_LAMBDA_LOG_LEVEL),
            user: var(USER),
        }
    }

    /// Gathers the settings from this process's environment.
    pub fn from_process_env() -> Settings {
        Settings::from_lookup(&process_env)
    }
}

/// A variable of this process's environment, as it is (an empty value is a value); `None` when
/// unset or not UTF-8. `${VAR}` references resolve through it.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// `None` for an absent, empty or blank value (a flag or a variable given as `""` is unset).
pub fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings_from(pairs: &[(&str, &str)]) -> Settings {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(&|k| map.get(k).cloned())
    }

    #[test]
    fn reads_every_variable_into_its_field() {
        let pairs: Vec<(&str, String)> = ALL.iter().map(|k| (*k, format!("v-{k}"))).collect();
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let s = settings_from(&borrowed);
        let o = &s.overrides;
        let got = [
            &o.url,
            &s.config_json,
            &s.config_file,
            &s.config_ssm,
            &o.canary,
            &o.namespace,
            &o.measurements,
            &o.publisher,
            &o.topic_arn,
            &o.reminder_minutes,
            &o.notify_warn,
            &o.failure_threshold,
            &o.recovery_threshold,
            &o.state_table,
            &s.aws_timeout_seconds,
            &s.function_timeout_seconds,
            &s.rust_log,
            &s.lambda_log_format,
            &s.lambda_log_level,
            &s.user,
        ];
        for (name, value) in ALL.iter().zip(got) {
            assert_eq!(
                value.as_deref(),
                Some(format!("v-{name}").as_str()),
                "{name}"
            );
        }
        assert!(
            !o.allow_http,
            "allow_http is a flag, never read from the environment"
        );
    }

    #[test]
    fn empty_and_blank_values_count_as_unset() {
        let s = settings_from(&[(CANARY_URL, ""), (CANARY_CONFIG, "  "), (RUST_LOG, "\t")]);
        assert_eq!(s.overrides.url, None);
        assert_eq!(s.config_json, None);
        assert_eq!(s.rust_log, None);
    }

    #[test]
    fn every_variable_is_documented_once_in_the_module_table() {
        let docs = include_str!("env.rs");
        for name in ALL {
            let row = format!("//! | `{name}` |");
            assert_eq!(docs.matches(&row).count(), 1, "{name} needs one table row");
        }
    }
}
