//! The `health-canary` command line: argument parsing and the `check` / `demo` commands.

use crate::config::{self, Overrides};
use clap::{Args, Parser, Subcommand};
use std::process::ExitCode;

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
    /// Check one URL or every target of a config, once.
    Check(CheckArgs),
    /// Run against an embedded sample service through healthy and broken scenarios.
    Demo,
}

/// Arguments of `check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// A single health URL (simple mode).
    #[arg(long, env = "CANARY_URL")]
    pub url: Option<String>,
    /// A JSON config file (full mode); inline JSON can come from CANARY_CONFIG instead.
    #[arg(long, env = "CANARY_CONFIG_FILE")]
    pub config: Option<String>,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Exit 1 on WARN as well as on FAIL.
    #[arg(long)]
    pub fail_on_warn: bool,
    /// Allow plain http to hosts other than loopback.
    #[arg(long)]
    pub allow_http: bool,
    /// Publish metrics and alerts to AWS (default credential chain); exit 3 if that fails.
    #[arg(long)]
    pub publish: bool,
    /// Print the metrics as CloudWatch Embedded Metric Format lines.
    #[arg(long)]
    pub emf: bool,
}

/// Exit code for usage or configuration errors.
pub const EXIT_USAGE: u8 = 2;
/// Exit code when `--publish` could not do its job: PutMetricData failed (even if the EMF
/// fallback kept the data) or a due alert could not be sent. Takes precedence over 0 and 1.
pub const EXIT_CANARY_FAILED: u8 = 3;

/// Runs the CLI and returns the process exit code.
pub async fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Check(args) => check(args).await,
        Command::Demo => {
            eprintln!("demo: not yet");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

async fn check(args: CheckArgs) -> ExitCode {
    let mut overrides = Overrides::from_env();
    overrides.url = args.url.clone();
    overrides.allow_http = args.allow_http;
    let inline = std::env::var("CANARY_CONFIG").ok();
    let env = |k: &str| std::env::var(k).ok();
    let config = match config::load(args.config.as_deref(), inline.as_deref(), &overrides, &env) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("health-canary: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let client = match crate::probe::build_client() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("health-canary: cannot build the HTTP client: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let report = crate::run::run_check(&config, &client).await;
    if args.emf {
        // --emf: the metrics as EMF lines on stdout, instead of the table/JSON.
        let mapped = crate::metrics::datums::datums(&report, &config);
        if let Err(e) = crate::metrics::emf::print(&config.metrics.namespace, &mapped.datums) {
            eprintln!("health-canary: cannot write EMF to stdout: {e}");
        }
    } else {
        match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(e) => eprintln!("health-canary: cannot serialise the report: {e}"),
        }
    }
    if args.publish {
        let aws = crate::deliver::Aws::from_env().await;
        let delivery = crate::deliver::deliver(&config, &report, &aws).await;
        eprintln!("health-canary: {}", delivery.summary());
        if delivery.canary_failed() {
            return ExitCode::from(EXIT_CANARY_FAILED);
        }
    }
    let failing = match report.status {
        crate::report::Status::Fail => true,
        crate::report::Status::Warn => args.fail_on_warn,
        crate::report::Status::Pass => false,
    };
    ExitCode::from(u8::from(failing))
}
