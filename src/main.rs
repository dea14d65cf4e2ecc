//! The `health-canary` command line: parse arguments, set up logging on stderr, run.

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    // Usage errors exit 2 (clap's convention); --help and --version exit 0.
    let cli = health_canary::cli::Cli::parse();
    health_canary::cli::init_logging(cli.verbose);
    health_canary::cli::run(cli).await
}
