//! The `health-canary` command line: parse arguments, read the environment once, set up logging
//! on stderr, run.

use clap::Parser;
use health_canary::check::config::Settings;
use health_canary::entry::cli;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    // Usage errors exit 2 (clap's convention); --help and --version exit 0.
    let args = cli::Cli::parse();
    let settings = Settings::from_process_env();
    cli::init_logging(args.verbose, settings.rust_log.as_deref());
    cli::run(args, settings).await
}
