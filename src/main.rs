//! The `health-canary` command line: parse arguments, set up logging on stderr, run.

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = health_canary::cli::Cli::parse();
    health_canary::cli::run(cli).await
}
