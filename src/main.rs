//! The `health-canary` command line: parse arguments, set up logging on stderr, run.

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    // Usage errors exit 2 (clap's convention); --help and --version exit 0.
    let cli = health_canary::entry::cli::Cli::parse();
    health_canary::entry::cli::init_logging(cli.verbose);
    health_canary::entry::cli::run(cli).await
}
