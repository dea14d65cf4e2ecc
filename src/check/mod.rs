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
use std::time::Duration;

/// Probes and judges every target; never fails (a broken target is a FAIL in the report). With
/// a `budget` (the Lambda's, from its deadline), a probe still running when it is spent is cut
/// off and its target judged FAIL with that reason, so the run still publishes what it found.
pub async fn run_check(
    config: &Config,
    client: &reqwest::Client,
    budget: Option<Duration>,
) -> Report {
    let checked_at = chrono::Utc::now();
    let deadline = budget.map(|b| tokio::time::Instant::now() + b);
    let targets = futures::stream::iter(config.targets.iter())
        .map(|target| async move {
            let probing = probe::probe(client, target);
            let outcome = match (deadline, budget) {
                (Some(deadline), Some(budget)) => tokio::time::timeout_at(deadline, probing)
                    .await
                    .unwrap_or_else(|_| probe::out_of_time(budget)),
                _ => probing.await,
            };
            judge::judge(target, outcome)
        })
        .buffered(config.concurrency)
        .collect::<Vec<_>>()
        .await;
    Report::new(config.canary.clone(), checked_at, targets)
}
