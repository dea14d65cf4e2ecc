//! The `health-canary` command line: argument parsing, logging set-up, and the `check` (once, or
//! `--wait` as a deploy gate), `validate`, `demo`, `silence` and `incidents` commands. Results go
//! to stdout, logs (only with `-v`), errors and the gate's progress to stderr.

use crate::aws::secrets::AwsSecrets;
use crate::aws::Aws;
use crate::check::config::env::{non_empty, process_env};
use crate::check::config::{self, Config, Settings};
use crate::check::report::Report;
use crate::entry::alert_state::{self, NewSilence, StateCommandError};
use crate::entry::exit::{exit_code, EXIT_CANARY_FAILED, EXIT_FAILED, EXIT_USAGE};
use crate::entry::wait::{self, Wait};
use crate::sinks::alert::store::Store;
use clap::{Args, Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

/// Probe health endpoints, judge every component, print a table or JSON.
#[derive(Parser, Debug)]
#[command(name = "health-canary", version, about)]
pub struct Cli {
    /// More logging on stderr (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check one URL or every target of a config, once (or until it passes, with --wait).
    Check(CheckArgs),
    /// Check a config without probing anything: every problem at once (exit 2), or one line
    /// saying what it holds (exit 0). Secret references are checked, not fetched.
    Validate(SourceArgs),
    /// Run against an embedded sample service through healthy and broken scenarios.
    Demo,
    /// Silence alerts of one target (or all) for a while; list or remove silences.
    #[command(subcommand)]
    Silence(SilenceCommand),
    /// Open and recent incidents per target, from the alert state table.
    Incidents(IncidentsArgs),
}

/// Where the alert state lives, for `silence` and `incidents`.
#[derive(Args, Debug, Clone)]
pub struct StateArgs {
    /// The alert state table (the stack's StateTableName output); wins over CANARY_STATE_TABLE.
    #[arg(long)]
    pub table: Option<String>,
    /// The canary's name; wins over CANARY_NAME and the config.
    #[arg(long)]
    pub canary: Option<String>,
    /// A JSON config file (for the canary name, the table and the target names); wins over
    /// CANARY_CONFIG_FILE.
    #[arg(long)]
    pub config: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

impl StateArgs {
    /// The settings with these flags on top (flags win).
    pub fn apply(&self, mut settings: Settings) -> Settings {
        if let Some(table) = non_empty(self.table.clone()) {
            settings.overrides.state_table = Some(table);
        }
        if let Some(canary) = non_empty(self.canary.clone()) {
            settings.overrides.canary = Some(canary);
        }
        if let Some(file) = non_empty(self.config.clone()) {
            settings.config_file = Some(file);
        }
        settings
    }
}

/// `silence` subcommands.
#[derive(Subcommand, Debug)]
pub enum SilenceCommand {
    /// Silence one target (--target) or every target (--all) from now on, for a while.
    Add(SilenceAddArgs),
    /// List the silences (active, scheduled, and expired ones not yet removed by the table's TTL).
    List(StateArgs),
    /// Remove a silence by its id (from `silence list`).
    Remove {
        /// The silence's id.
        id: String,
        /// Where the state lives.
        #[command(flatten)]
        state: StateArgs,
    },
}

/// Arguments of `silence add`.
#[derive(Args, Debug)]
pub struct SilenceAddArgs {
    /// The target to silence (its configured name).
    #[arg(long, required_unless_present = "all", conflicts_with = "all")]
    pub target: Option<String>,
    /// Silence every target of the canary.
    #[arg(long)]
    pub all: bool,
    /// How long: 2h, 30m, 1d, 1h 30m (1 minute to 90 days).
    #[arg(long = "for", value_name = "DURATION")]
    pub duration: String,
    /// Why (shown by `silence list`).
    #[arg(long)]
    pub reason: String,
    /// Who (default: $USER).
    #[arg(long)]
    pub by: Option<String>,
    /// Where the state lives.
    #[command(flatten)]
    pub state: StateArgs,
}

/// Arguments of `incidents`.
#[derive(Args, Debug)]
pub struct IncidentsArgs {
    /// Closed incidents are listed when they ended within this long (open ones always are).
    #[arg(long, default_value = "7d", value_name = "DURATION")]
    pub since: String,
    /// Where the state lives.
    #[command(flatten)]
    pub state: StateArgs,
}

/// Where the config comes from, and the plain-http opt-in (`check` and `validate`).
#[derive(Args, Debug)]
pub struct SourceArgs {
    /// A single health URL (simple mode); wins over CANARY_URL.
    #[arg(long)]
    pub url: Option<String>,
    /// A JSON config file (full mode); wins over CANARY_CONFIG_FILE. A config can also come from
    /// CANARY_CONFIG (inline) or CANARY_CONFIG_SSM (an SSM parameter); give exactly one source.
    #[arg(long)]
    pub config: Option<String>,
    /// Allow plain http to hosts other than loopback.
    #[arg(long)]
    pub allow_http: bool,
}

impl SourceArgs {
    /// The settings to run with: the environment's, with the flags given on top (flags win over
    /// their own variable; a flag given as `""` counts as not given, like an empty variable).
    pub fn apply(&self, mut settings: Settings) -> Settings {
        if let Some(url) = non_empty(self.url.clone()) {
            settings.overrides.url = Some(url);
        }
        if let Some(file) = non_empty(self.config.clone()) {
            settings.config_file = Some(file);
        }
        settings.overrides.allow_http |= self.allow_http;
        settings
    }
}

/// Arguments of `check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Where the config comes from.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Exit 1 on WARN as well as on FAIL (with --wait: keep waiting on WARN).
    #[arg(long)]
    pub fail_on_warn: bool,
    /// Publish metrics and alerts to AWS (default credential chain); exit 3 if that fails.
    #[arg(long)]
    pub publish: bool,
    /// Print the metrics as CloudWatch Embedded Metric Format lines.
    #[arg(long)]
    pub emf: bool,
    /// Deploy gate: check again until PASS (WARN counts unless --fail-on-warn), giving up after
    /// DURATION (90s, 5m, 1h30m) with exit 1 and the last report.
    #[arg(long, value_name = "DURATION", value_parser = wait::parse_duration, conflicts_with_all = ["publish", "emf"])]
    pub wait: Option<Duration>,
    /// With --wait: time between checks.
    #[arg(long, value_name = "DURATION", value_parser = wait::parse_duration, default_value = wait::DEFAULT_INTERVAL, requires = "wait")]
    pub interval: Duration,
}

/// Runs the CLI with the environment's `settings` and returns the process exit code.
pub async fn run(cli: Cli, settings: Settings) -> ExitCode {
    match cli.command {
        Command::Check(args) => {
            let settings = args.source.apply(settings);
            check(args, settings).await
        }
        Command::Validate(args) => validate(args.apply(settings)).await,
        Command::Silence(cmd) => finish(silence(cmd, settings).await),
        Command::Incidents(args) => finish(incidents(args, settings).await),
        Command::Demo => {
            let mut stdout = std::io::stdout();
            match crate::entry::demo::run(&mut stdout).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("health-canary: demo: {e}");
                    ExitCode::from(EXIT_USAGE)
                }
            }
        }
    }
}

/// Prints a state command's output, or its error with the exit code it calls for.
fn finish(result: Result<String, StateCommandError>) -> ExitCode {
    match result {
        Ok(text) => {
            print_stdout(&text);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("health-canary: {e}");
            ExitCode::from(match e {
                StateCommandError::Usage(_) => EXIT_USAGE,
                StateCommandError::NoSuchSilence(_) => EXIT_FAILED,
                StateCommandError::Store(_) => EXIT_CANARY_FAILED,
            })
        }
    }
}

async fn silence(cmd: SilenceCommand, settings: Settings) -> Result<String, StateCommandError> {
    let now = chrono::Utc::now();
    match cmd {
        SilenceCommand::Add(a) => {
            let settings = a.state.apply(settings);
            let at = alert_state::resolve(&settings)?;
            let ask = NewSilence {
                target: a.target.clone(),
                duration: a.duration.clone(),
                reason: a.reason.clone(),
                by: a
                    .by
                    .clone()
                    .or(settings.user.clone())
                    .unwrap_or_else(|| "unknown".into()),
            };
            let silence = alert_state::new_silence(&ask, now, at.targets.as_deref())?;
            let store = alert_state::store(&settings, &at).await;
            store.add_silence(&at.canary, &silence).await?;
            Ok(alert_state::render_silences(&[silence], now, a.state.json))
        }
        SilenceCommand::List(state) => {
            let settings = state.apply(settings);
            let at = alert_state::resolve(&settings)?;
            let store = alert_state::store(&settings, &at).await;
            let list = store.silences(&at.canary).await?;
            Ok(alert_state::render_silences(&list, now, state.json))
        }
        SilenceCommand::Remove { id, state } => {
            let settings = state.apply(settings);
            let at = alert_state::resolve(&settings)?;
            let store = alert_state::store(&settings, &at).await;
            alert_state::remove(&store, &at.canary, &id).await?;
            Ok(if state.json {
                format!("{}\n", serde_json::json!({ "removed": id }))
            } else {
                format!("removed silence {id}\n")
            })
        }
    }
}

async fn incidents(args: IncidentsArgs, settings: Settings) -> Result<String, StateCommandError> {
    let now = chrono::Utc::now();
    let since = alert_state::parse_duration("--since", &args.since)?;
    let settings = args.state.apply(settings);
    let at = alert_state::resolve(&settings)?;
    let store = alert_state::store(&settings, &at).await;
    let list = alert_state::recent(store.incidents(&at.canary).await?, now, since);
    Ok(alert_state::render_incidents(&list, now, args.state.json))
}

/// Sends logs to stderr: nothing by default, `-v` info, `-vv` debug for the canary (its
/// dependencies stay at warn / info so no library dumps requests). `rust_log` (`RUST_LOG`), when
/// set and valid, wins.
pub fn init_logging(verbose: u8, rust_log: Option<&str>) {
    let from_env = rust_log.and_then(|v| tracing_subscriber::EnvFilter::try_new(v).ok());
    let filter = match (from_env, verbose) {
        (Some(f), _) => f,
        (None, 0) => return,
        (None, 1) => tracing_subscriber::EnvFilter::new("warn,health_canary=info"),
        (None, _) => tracing_subscriber::EnvFilter::new("info,health_canary=debug"),
    };
    // Fails only when a subscriber is already installed, and then logs still go somewhere.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// The report as stdout shows it: the console table, or pretty JSON with `json`.
pub fn render_output(report: &Report, json: bool) -> Result<String, serde_json::Error> {
    if json {
        serde_json::to_string_pretty(report).map(|mut s| {
            s.push('\n');
            s
        })
    } else {
        Ok(crate::sinks::console::render(report))
    }
}

/// Writes to stdout, ignoring a closed pipe (`health-canary check … | head -1` must not panic).
fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// `validate`: the config checked from its one source, nothing probed, no secret fetched.
async fn validate(settings: Settings) -> ExitCode {
    let aws = Aws::from_settings(&settings);
    match config::check_settings(&settings, &AwsSecrets::new(&aws)).await {
        Ok(checked) => {
            print_stdout(&format!("{checked}\n"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("health-canary: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// The config (its secrets fetched) and the HTTP client, or the exit code after saying why not.
async fn prepare(settings: &Settings, aws: &Aws) -> Result<(Config, reqwest::Client), ExitCode> {
    let config = config::load_settings(settings, &process_env, &AwsSecrets::new(aws))
        .await
        .map_err(|e| {
            eprintln!("health-canary: {e}");
            ExitCode::from(EXIT_USAGE)
        })?;
    let client = crate::check::probe::build_client().map_err(|e| {
        eprintln!("health-canary: cannot build the HTTP client: {e}");
        ExitCode::from(EXIT_USAGE)
    })?;
    tracing::info!(
        canary = %config.canary,
        targets = config.targets.len(),
        "config loaded"
    );
    Ok((config, client))
}

async fn check(args: CheckArgs, settings: Settings) -> ExitCode {
    // Loaded only if a secret, the config's SSM parameter or --publish needs AWS.
    let aws = Aws::from_settings(&settings);
    let (config, client) = match prepare(&settings, &aws).await {
        Ok(ready) => ready,
        Err(code) => return code,
    };
    let report = match args.wait {
        None => crate::check::run_check(&config, &client, None).await,
        Some(within) => gate(&config, &client, &args, within).await,
    };
    for t in &report.targets {
        tracing::debug!(
            target_name = %t.name,
            status = %t.status,
            http_status = ?t.http_status,
            latency_ms = ?t.latency_ms,
            attempts = t.attempts,
            "target judged"
        );
    }
    tracing::info!(status = %report.status, "check finished");
    print_report(&args, &config, &report);
    if args.publish {
        let delivery = crate::sinks::deliver(&config, &report, &aws, None).await;
        eprintln!("health-canary: {}", delivery.summary());
        if delivery.canary_failed() {
            return ExitCode::from(EXIT_CANARY_FAILED);
        }
    }
    ExitCode::from(exit_code(report.status, args.fail_on_warn))
}

/// `--wait`: checks until it passes or `within` is up, the progress on stderr; the last report.
async fn gate(
    config: &Config,
    client: &reqwest::Client,
    args: &CheckArgs,
    within: Duration,
) -> Report {
    let wait = Wait {
        within,
        every: args.interval,
    };
    let mut progress = |line: String| eprintln!("health-canary: {line}");
    let waited = wait::until_pass(config, client, &wait, args.fail_on_warn, &mut progress).await;
    if !waited.passed {
        eprintln!(
            "health-canary: gave up after {} and {} checks: still {}",
            wait::readable(within),
            waited.checks,
            waited.report.status
        );
    }
    waited.report
}

/// The report on stdout: the table, JSON, or (`--emf`) the metrics as EMF lines instead, through
/// the same sink as `publisher: emf`.
fn print_report(args: &CheckArgs, config: &Config, report: &Report) {
    if args.emf {
        if let Err(e) = crate::sinks::metrics::write_emf(&config.metrics, report) {
            eprintln!("health-canary: {e}");
        }
    } else {
        match render_output(report, args.json) {
            Ok(text) => print_stdout(&text),
            Err(e) => eprintln!("health-canary: cannot serialise the report: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_check_flag() {
        let cli = Cli::try_parse_from([
            "health-canary",
            "-vv",
            "check",
            "--url",
            "http://127.0.0.1:1/h",
            "--json",
            "--fail-on-warn",
            "--allow-http",
            "--publish",
            "--emf",
        ])
        .unwrap();
        assert_eq!(cli.verbose, 2);
        let Command::Check(a) = cli.command else {
            panic!("expected check")
        };
        assert_eq!(a.source.url.as_deref(), Some("http://127.0.0.1:1/h"));
        assert!(a.json && a.fail_on_warn && a.source.allow_http && a.publish && a.emf);
        assert_eq!(a.wait, None);
    }

    #[test]
    fn flags_win_over_the_environment_and_empty_flags_count_as_unset() {
        let env = Settings::from_lookup(&|k| match k {
            "CANARY_URL" => Some("https://env.example/h".into()),
            "CANARY_CONFIG_FILE" => Some("env.json".into()),
            "CANARY_NAME" => Some("from-env".into()),
            _ => None,
        });
        let parse = |args: &[&str]| {
            let cli = Cli::try_parse_from(args).unwrap();
            let Command::Check(a) = cli.command else {
                panic!("expected check")
            };
            a.source.apply(env.clone())
        };
        let s = parse(&[
            "health-canary",
            "check",
            "--url",
            "https://flag.example/h",
            "--config",
            "flag.json",
            "--allow-http",
        ]);
        assert_eq!(s.overrides.url.as_deref(), Some("https://flag.example/h"));
        assert_eq!(s.config_file.as_deref(), Some("flag.json"));
        assert!(s.overrides.allow_http);
        assert_eq!(s.overrides.canary.as_deref(), Some("from-env"));
        let s = parse(&["health-canary", "check", "--url", " ", "--config", ""]);
        assert_eq!(s.overrides.url.as_deref(), Some("https://env.example/h"));
        assert_eq!(s.config_file.as_deref(), Some("env.json"));
        assert!(!s.overrides.allow_http);
    }

    #[test]
    fn wait_takes_durations_and_conflicts_with_publishing() {
        let parse = |args: &[&str]| Cli::try_parse_from(args);
        let cli = parse(&[
            "health-canary",
            "check",
            "--wait",
            "5m",
            "--interval",
            "15s",
        ])
        .unwrap();
        let Command::Check(a) = cli.command else {
            panic!("expected check")
        };
        assert_eq!(a.wait, Some(Duration::from_secs(300)));
        assert_eq!(a.interval, Duration::from_secs(15));
        let cli = parse(&["health-canary", "check", "--wait", "90s"]).unwrap();
        let Command::Check(a) = cli.command else {
            panic!("expected check")
        };
        assert_eq!(a.interval, Duration::from_secs(10));
        for (args, want) in [
            (
                &["health-canary", "check", "--interval", "5s"][..],
                "--wait",
            ),
            (
                &["health-canary", "check", "--wait", "1m", "--publish"][..],
                "cannot be used with",
            ),
            (
                &["health-canary", "check", "--wait", "1m", "--emf"][..],
                "cannot be used with",
            ),
            (
                &["health-canary", "check", "--wait", "soon"][..],
                "like 90s, 5m",
            ),
        ] {
            let e = parse(args).unwrap_err();
            assert_eq!(e.exit_code(), i32::from(EXIT_USAGE), "{args:?}");
            assert!(e.to_string().contains(want), "{args:?}: {e}");
        }
    }

    #[test]
    fn validate_takes_the_same_source_flags_as_check() {
        let cli = Cli::try_parse_from([
            "health-canary",
            "validate",
            "--config",
            "c.json",
            "--allow-http",
        ])
        .unwrap();
        let Command::Validate(a) = cli.command else {
            panic!("expected validate")
        };
        let s = a.apply(Settings::default());
        assert_eq!(s.config_file.as_deref(), Some("c.json"));
        assert!(s.overrides.allow_http);
    }

    #[test]
    fn unknown_flags_are_usage_errors_with_exit_code_two() {
        let e = Cli::try_parse_from(["health-canary", "check", "--nope"]).unwrap_err();
        assert_eq!(e.exit_code(), i32::from(EXIT_USAGE));
        let e = Cli::try_parse_from(["health-canary"]).unwrap_err();
        assert_eq!(e.exit_code(), i32::from(EXIT_USAGE));
    }
}
