//! The Lambda handler: state built once at init (config, the probes' HTTP client, the AWS side,
//! whose configuration and service clients are made when a run first needs them), then per
//! invocation `run_check` → `deliver` → a short JSON summary, or an error with a stable
//! `error_type` when the canary itself could not do its job.

use crate::aws::secrets::AwsSecrets;
use crate::aws::Aws;
use crate::check::config::env::process_env;
use crate::check::config::{self, Config, Settings};
use crate::check::report::{Report, Status};
use crate::sinks::alert::budget;
use crate::sinks::{self, Delivery};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::Diagnostic;
use serde::Serialize;
use std::str::FromStr;
use std::time::{Duration, Instant, SystemTime};
use tracing::{debug, info, warn};
use tracing_subscriber::filter::{EnvFilter, LevelFilter};

/// `error_type` when the configuration from the environment is invalid.
pub const ERROR_CONFIG_INVALID: &str = "CanaryConfigInvalid";
/// `error_type` when the HTTP client cannot be built.
pub const ERROR_HTTP_CLIENT: &str = "CanaryHttpClientFailed";
/// `error_type` when metrics or a due alert could not be delivered.
pub const ERROR_DELIVERY_FAILED: &str = "CanaryDeliveryFailed";

/// Why an invocation failed: the canary could not do its job (the watched service failing is
/// not one of these).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CanaryError {
    /// The configuration is invalid, or its source or a secret it references could not be
    /// read; fix the function's settings (or its role).
    #[error("invalid canary configuration: {0}")]
    ConfigInvalid(String),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(String),
    /// Metrics or a due alert could not be delivered; the summary says which and why.
    #[error("delivery failed: {0}")]
    DeliveryFailed(String),
}

impl CanaryError {
    /// The stable `error_type` Lambda reports for this error.
    pub fn error_type(&self) -> &'static str {
        match self {
            CanaryError::ConfigInvalid(_) => ERROR_CONFIG_INVALID,
            CanaryError::HttpClient(_) => ERROR_HTTP_CLIENT,
            CanaryError::DeliveryFailed(_) => ERROR_DELIVERY_FAILED,
        }
    }
}

impl From<CanaryError> for Diagnostic {
    fn from(e: CanaryError) -> Diagnostic {
        Diagnostic {
            error_type: e.error_type().to_string(),
            error_message: e.to_string(),
        }
    }
}

/// How many targets ended in each status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// PASS targets.
    pub pass: usize,
    /// WARN targets.
    pub warn: usize,
    /// FAIL targets.
    pub fail: usize,
}

/// What one invocation returns: enough to read the run at a glance.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// The canary's name.
    pub canary: String,
    /// The overall status.
    pub status: Status,
    /// When the run started.
    pub checked_at: chrono::DateTime<chrono::Utc>,
    /// Targets per status.
    pub targets: Counts,
    /// Failing components as `target/component` (or `target` when the target itself failed
    /// without a failing component: unreachable, bad HTTP status, unreadable body).
    pub failing: Vec<String>,
    /// The metrics outcome.
    pub metrics: String,
    /// The alerts outcome.
    pub alert: String,
}

impl Summary {
    /// Summarises a report and its delivery. Pure.
    pub fn new(report: &Report, delivery: &Delivery) -> Summary {
        let mut targets = Counts::default();
        let mut failing = Vec::new();
        for t in &report.targets {
            match t.status {
                Status::Pass => targets.pass += 1,
                Status::Warn => targets.warn += 1,
                Status::Fail => targets.fail += 1,
            }
            let before = failing.len();
            failing.extend(
                t.components
                    .iter()
                    .filter(|c| c.status == Status::Fail)
                    .map(|c| format!("{}/{}", t.name, c.name)),
            );
            if t.status == Status::Fail && failing.len() == before {
                failing.push(t.name.clone());
            }
        }
        Summary {
            canary: report.canary.clone(),
            status: report.status,
            checked_at: report.checked_at,
            targets,
            failing,
            metrics: delivery.metrics_line(),
            alert: delivery.alert_line(),
        }
    }
}

/// Everything built once per Lambda instance. A bad configuration is kept as an error so each
/// invocation reports it (with [`ERROR_CONFIG_INVALID`]) instead of crashing init into a
/// restart loop.
#[derive(Debug)]
pub struct Canary {
    /// The validated configuration, or why it is invalid.
    pub config: Result<Config, String>,
    /// The shared HTTP client, or why it could not be built.
    pub client: Result<reqwest::Client, String>,
    /// The AWS configuration and clients, each made on first use.
    pub aws: Aws,
}

impl Canary {
    /// Loads the configuration the environment's `settings` describe (exactly one of
    /// `CANARY_CONFIG_FILE`, `CANARY_CONFIG`, `CANARY_CONFIG_SSM` and `CANARY_URL`, plus every
    /// `CANARY_*` override), resolving its secret references once for the life of the instance,
    /// and builds the probes' HTTP client. AWS is loaded only if the config's source or its
    /// references need it; the sinks' clients are made on first use.
    pub async fn from_settings(settings: &Settings) -> Canary {
        let aws = Aws::from_settings(settings);
        let config = config::load_settings(settings, &process_env, &AwsSecrets::new(&aws))
            .await
            .map_err(|e| e.to_string())
            .and_then(|c| {
                fits_function_timeout(
                    &c,
                    settings.function_timeout_seconds.as_deref(),
                    aws.timeout(),
                )
                .map(|()| c)
            });
        if let Err(e) = &config {
            warn!(error = %e, "invalid canary configuration; every invocation will report it");
        }
        let client = crate::check::probe::build_client().map_err(|e| e.to_string());
        Canary {
            config,
            client,
            aws,
        }
    }

    /// One invocation: check, deliver, summarise. Any JSON payload is accepted (the scheduled
    /// event's id and time are only logged). `deadline` is the invocation's (Lambda's context,
    /// Unix milliseconds): probing gets what is left once the alert path's AWS calls are
    /// reserved, and no notice is claimed that could not be sent and recorded in time.
    pub async fn handle(
        &self,
        event: serde_json::Value,
        deadline: Option<SystemTime>,
    ) -> Result<Summary, CanaryError> {
        if let Ok(e) = serde_json::from_value::<EventBridgeEvent>(event) {
            debug!(event_id = ?e.id, time = ?e.time, detail_type = %e.detail_type, "scheduled event");
        }
        let config = self
            .config
            .as_ref()
            .map_err(|e| CanaryError::ConfigInvalid(e.clone()))?;
        let client = self
            .client
            .as_ref()
            .map_err(|e| CanaryError::HttpClient(e.clone()))?;
        let remaining = time_left(deadline);
        let budget = remaining.map(|r| budget::probe_budget(r, self.aws.timeout()));
        let ends = remaining.map(|r| Instant::now() + r);
        if let (Some(r), Some(b)) = (remaining, budget) {
            debug!(
                remaining_ms = r.as_millis() as u64,
                probe_budget_ms = b.as_millis() as u64,
                "time budget"
            );
        }
        let report = crate::check::run_check(config, client, budget).await;
        let delivery = sinks::deliver(config, &report, &self.aws, ends).await;
        let summary = Summary::new(&report, &delivery);
        info!(
            canary = %summary.canary,
            status = %summary.status,
            pass = summary.targets.pass,
            warn = summary.targets.warn,
            fail = summary.targets.fail,
            failing = ?summary.failing,
            metrics = %summary.metrics,
            alert = %summary.alert,
            "canary run finished"
        );
        if delivery.canary_failed() {
            let detail = serde_json::to_string(&summary).unwrap_or_else(|_| delivery.summary());
            return Err(CanaryError::DeliveryFailed(detail));
        }
        Ok(summary)
    }
}

/// The time left before `deadline`. A deadline that is not in the future carries nothing usable
/// (local emulators send one; Lambda's is always ahead): the run then has no budget, as in the CLI.
fn time_left(deadline: Option<SystemTime>) -> Option<Duration> {
    let left = deadline?
        .duration_since(SystemTime::now())
        .ok()
        .filter(|d| !d.is_zero());
    if left.is_none() {
        warn!("the invocation's deadline has already passed; probing without a time budget");
    }
    left
}

/// Whether the configuration's slowest probe and the alert path after it fit the function
/// timeout (`CANARY_FUNCTION_TIMEOUT_SECONDS`, which the template sets); unknown timeout, no
/// check. `Err` names the numbers.
fn fits_function_timeout(
    config: &Config,
    function_timeout: Option<&str>,
    aws_timeout: Duration,
) -> Result<(), String> {
    let Some(text) = function_timeout else {
        return Ok(());
    };
    let timeout = budget::function_timeout(text)?;
    budget::check_fits(&config.targets, aws_timeout, timeout).map_err(|e| e.to_string())
}

/// Sets up logging once, following Lambda's advanced logging controls the way
/// `lambda_runtime::tracing::init_default_subscriber` does (see [`log_filter`]):
/// `AWS_LAMBDA_LOG_FORMAT=JSON` gives one JSON object per line, else plain text.
///
/// That subscriber itself does not fit: it writes to stdout, which carries only EMF documents
/// here; its JSON nests every field under `fields` (log queries and the summary line read
/// `message`, `level`, `status` at the top level) and has no timestamp; its text carries ANSI
/// colour codes (this crate enables them for the CLI). So logs go to stderr, JSON events are
/// flat with a timestamp, and text has no colours; Lambda sends both streams to CloudWatch Logs.
pub fn init_tracing(settings: &Settings) {
    let filter = log_filter(
        settings.lambda_log_level.as_deref(),
        settings.rust_log.as_deref(),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false);
    let json = settings
        .lambda_log_format
        .as_deref()
        .is_some_and(|f| f.eq_ignore_ascii_case("json"));
    // try_init: a second call (tests) keeps the first subscriber instead of panicking.
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init()
    } else {
        builder.without_time().try_init()
    };
}

/// The log filter, as `lambda_runtime`'s default subscriber builds it: the level from
/// `AWS_LAMBDA_LOG_LEVEL` (the function's log-level setting), else `RUST_LOG` when it is a bare
/// level, else INFO; valid `RUST_LOG` directives (`health_canary=debug`) replace that level.
/// Lambda's `FATAL` reads as ERROR, the nearest level `tracing` has.
pub fn log_filter(aws_level: Option<&str>, rust_log: Option<&str>) -> EnvFilter {
    let level = aws_level
        .or(rust_log)
        .map(|l| match l.trim() {
            l if l.eq_ignore_ascii_case("fatal") => "error",
            l => l,
        })
        .and_then(|l| LevelFilter::from_str(l).ok())
        .unwrap_or(LevelFilter::INFO);
    EnvFilter::builder()
        .with_default_directive(level.into())
        .parse_lossy(rust_log.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_ahead_is_the_time_left_and_one_already_passed_is_none() {
        let ahead = time_left(Some(SystemTime::now() + Duration::from_secs(60))).unwrap();
        assert!(ahead > Duration::from_secs(55) && ahead <= Duration::from_secs(60));
        assert_eq!(time_left(Some(SystemTime::UNIX_EPOCH)), None);
        assert_eq!(time_left(None), None);
    }

    #[test]
    fn log_level_follows_lambdas_setting_and_rust_log_directives_refine_it() {
        let cases: [(Option<&str>, Option<&str>, &str); 7] = [
            (None, None, "info"),
            (Some("DEBUG"), None, "debug"),
            (Some("WARN"), None, "warn"),
            (Some("FATAL"), None, "error"),
            (Some("nonsense"), None, "info"),
            (None, Some("trace"), "trace"),
            (
                Some("WARN"),
                Some("health_canary=debug"),
                "health_canary=debug",
            ),
        ];
        for (aws_level, rust_log, want) in cases {
            assert_eq!(
                log_filter(aws_level, rust_log).to_string(),
                want,
                "{aws_level:?} {rust_log:?}"
            );
        }
    }
}
