//! Metrics: the pure `Report → datums` mapping (names, dimensions, units in one place) and the
//! two publishers (PutMetricData API and Embedded Metric Format).

pub mod api;
pub mod contract;
pub mod datums;
pub mod emf;
pub mod sanitize;

use crate::check::config::{Config, Publisher};
use crate::check::report::Report;
use tracing::{debug, error, warn};

/// Publishes one report's metrics with the configured publisher. `Ok` says what was published;
/// `Err` means PutMetricData failed after its retries (the unsent datums were then written as EMF
/// on stdout, so the data survives in the logs, but IAM or the network needs a look) or stdout
/// could not be written.
pub async fn publish(
    config: &Config,
    report: &Report,
    cloudwatch: &aws_sdk_cloudwatch::Client,
) -> Result<String, String> {
    let mapped = datums::datums(report, config);
    let namespace = &config.metrics.namespace;
    let guard = if mapped.dropped > 0 {
        warn!(
            dropped = mapped.dropped,
            limit = datums::MAX_COMPONENT_DATUMS,
            "component datums over the series guard dropped"
        );
        format!(
            "; {} component datums dropped over the {} limit",
            mapped.dropped,
            datums::MAX_COMPONENT_DATUMS
        )
    } else {
        String::new()
    };
    let all = &mapped.datums;
    match config.metrics.publisher {
        Publisher::Emf => match emf::print(namespace, all) {
            Ok(lines) => Ok(format!(
                "wrote {} datums as {lines} EMF lines to {namespace}{guard}",
                all.len()
            )),
            Err(e) => Err(format!("cannot write EMF to stdout: {e}")),
        },
        Publisher::Api => {
            let outcome = api::put(cloudwatch, namespace, all).await;
            match outcome.failure {
                None => {
                    debug!(datums = outcome.sent, calls = outcome.calls, namespace = %namespace, "metrics published");
                    Ok(format!(
                        "published {} datums to {namespace} in {} PutMetricData call{}{guard}",
                        outcome.sent,
                        outcome.calls,
                        if outcome.calls == 1 { "" } else { "s" }
                    ))
                }
                Some((message, first_unsent)) => {
                    let rest = &all[first_unsent..];
                    let fallback = match emf::print(namespace, rest) {
                        Ok(lines) => {
                            format!("{} datums written as {lines} EMF lines instead", rest.len())
                        }
                        Err(e) => format!("the EMF fallback failed too: {e}"),
                    };
                    error!(error = %message, sent = outcome.sent, unsent = rest.len(), namespace = %namespace, "PutMetricData failed; unsent datums written as EMF");
                    Err(format!(
                        "PutMetricData failed after retries ({} of {} datums sent): {message}; {fallback}{guard}",
                        outcome.sent,
                        all.len()
                    ))
                }
            }
        }
    }
}
