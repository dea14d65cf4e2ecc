//! The check itself, in pipeline order: `config` (validated settings) → `probe` (HTTP) →
//! `formats` (body → components) → `condition` and `judge` (statuses) → `report` (the result
//! every sink reads). `run_check` runs it for every target; both entry points call it.

pub mod condition;
pub mod config;
pub mod formats;
pub mod judge;
pub mod probe;
pub mod report;
pub mod text;

use config::Config;
use futures::StreamExt;
use report::Report;

/// Probes and judges every target; never fails (a broken target is a FAIL in the report).
pub async fn run_check(config: &Config, client: &reqwest::Client) -> Report {
    let checked_at = chrono::Utc::now();
    let targets = futures::stream::iter(config.targets.iter())
        .map(|target| async move {
            let outcome = probe::probe(client, target).await;
            judge::judge(target, outcome)
        })
        .buffered(config.concurrency)
        .collect::<Vec<_>>()
        .await;
    Report::new(config.canary.clone(), checked_at, targets)
}
