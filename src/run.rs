//! One canary run: probe every target concurrently (bounded), read and judge each, build the
//! `Report`. Both entry points (CLI and Lambda) call `run_check`.

use crate::config::Config;
use crate::report::Report;
use futures::StreamExt;

/// Probes and judges every target; never fails (a broken target is a FAIL in the report).
pub async fn run_check(config: &Config, client: &reqwest::Client) -> Report {
    let checked_at = chrono::Utc::now();
    let targets = futures::stream::iter(config.targets.iter())
        .map(|target| async move {
            let outcome = crate::probe::probe(client, target).await;
            crate::judge::judge(target, outcome)
        })
        .buffered(config.concurrency)
        .collect::<Vec<_>>()
        .await;
    Report::new(config.canary.clone(), checked_at, targets)
}
