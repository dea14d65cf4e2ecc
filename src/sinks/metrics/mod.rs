//! Metrics: the pure `Report → datums` mapping (names, dimensions, units in one place) and the
//! two publishers (PutMetricData API and Embedded Metric Format), behind `publish`, which reads
//! the report and the metrics settings only.

pub mod api;
pub mod contract;
pub mod datums;
pub mod emf;
pub mod sanitize;

use crate::check::config::{MetricsConfig, Publisher};
use crate::check::report::Report;
use tracing::{debug, error, warn};

/// What a publish achieved. `Display` is the line logs and summaries show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    /// How the datums went out.
    pub via: Via,
    /// Datums published.
    pub datums: usize,
    /// The namespace.
    pub namespace: String,
    /// Component datums left out by the series guard.
    pub dropped: usize,
}

/// How datums went out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// As EMF documents on stdout, this many lines.
    Emf {
        /// Lines written.
        lines: usize,
    },
    /// Through PutMetricData, in this many calls.
    Api {
        /// Calls made.
        calls: usize,
    },
}

impl std::fmt::Display for Published {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (n, ns) = (self.datums, &self.namespace);
        match self.via {
            Via::Emf { lines } => write!(f, "wrote {n} datums as {lines} EMF lines to {ns}")?,
            Via::Api { calls } => write!(
                f,
                "published {n} datums to {ns} in {calls} PutMetricData call{}",
                if calls == 1 { "" } else { "s" }
            )?,
        }
        f.write_str(&guard(self.dropped))
    }
}

/// Why metrics were not (all) published. `Display` is the line logs and summaries show.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MetricsError {
    /// Stdout could not be written (EMF publisher, or `--emf`).
    #[error("cannot write EMF to stdout: {0}")]
    Emf(String),
    /// PutMetricData failed after the SDK's retries; the unsent datums went to the EMF fallback.
    /// IAM or the network needs a look even when the fallback kept the data.
    #[error(
        "PutMetricData failed after retries ({sent} of {total} datums sent): {detail}; {}{}",
        fallback_text(.unsent, .fallback),
        guard(*.dropped)
    )]
    PutMetricData {
        /// Datums the successful calls carried.
        sent: usize,
        /// Datums of the run.
        total: usize,
        /// The SDK's error, with its context.
        detail: String,
        /// Datums not sent by the API.
        unsent: usize,
        /// The fallback: EMF lines written, or why stdout failed too.
        fallback: Result<usize, String>,
        /// Component datums left out by the series guard.
        dropped: usize,
    },
}

fn fallback_text(unsent: &usize, fallback: &Result<usize, String>) -> String {
    match fallback {
        Ok(lines) => format!("{unsent} datums written as {lines} EMF lines instead"),
        Err(e) => format!("the EMF fallback failed too: {e}"),
    }
}

/// The note on a line when the series guard dropped component datums.
fn guard(dropped: usize) -> String {
    if dropped == 0 {
        return String::new();
    }
    format!(
        "; {dropped} component datums dropped over the {} limit",
        datums::MAX_COMPONENT_DATUMS
    )
}

/// Publishes one report's metrics with the configured publisher. `Err` means PutMetricData
/// failed after its retries (the unsent datums were then written as EMF on stdout, so the data
/// survives in the logs, but IAM or the network needs a look) or stdout could not be written.
pub async fn publish(
    settings: &MetricsConfig,
    report: &Report,
    cloudwatch: &aws_sdk_cloudwatch::Client,
) -> Result<Published, MetricsError> {
    match settings.publisher {
        Publisher::Emf => write_emf(settings, report),
        Publisher::Api => put(settings, report, cloudwatch).await,
    }
}

/// Writes one report's metrics as EMF lines on stdout: the EMF publisher, and the CLI's `--emf`.
pub fn write_emf(settings: &MetricsConfig, report: &Report) -> Result<Published, MetricsError> {
    let mapped = mapped(settings, report);
    let lines = emf::print(&settings.namespace, &mapped.datums)
        .map_err(|e| MetricsError::Emf(e.to_string()))?;
    Ok(Published {
        via: Via::Emf { lines },
        datums: mapped.datums.len(),
        namespace: settings.namespace.clone(),
        dropped: mapped.dropped,
    })
}

async fn put(
    settings: &MetricsConfig,
    report: &Report,
    cloudwatch: &aws_sdk_cloudwatch::Client,
) -> Result<Published, MetricsError> {
    let mapped = mapped(settings, report);
    let (all, namespace) = (&mapped.datums, &settings.namespace);
    let outcome = api::put(cloudwatch, namespace, all).await;
    let Some((detail, first_unsent)) = outcome.failure else {
        debug!(datums = outcome.sent, calls = outcome.calls, namespace = %namespace, "metrics published");
        return Ok(Published {
            via: Via::Api {
                calls: outcome.calls,
            },
            datums: outcome.sent,
            namespace: namespace.clone(),
            dropped: mapped.dropped,
        });
    };
    let rest = &all[first_unsent..];
    let fallback = emf::print(namespace, rest).map_err(|e| e.to_string());
    error!(error = %detail, sent = outcome.sent, unsent = rest.len(), namespace = %namespace, "PutMetricData failed; unsent datums written as EMF");
    Err(MetricsError::PutMetricData {
        sent: outcome.sent,
        total: all.len(),
        detail,
        unsent: rest.len(),
        fallback,
        dropped: mapped.dropped,
    })
}

/// The report's datums, with a warning when the series guard dropped some.
fn mapped(settings: &MetricsConfig, report: &Report) -> datums::Datums {
    let mapped = datums::datums(report, settings);
    if mapped.dropped > 0 {
        warn!(
            dropped = mapped.dropped,
            limit = datums::MAX_COMPONENT_DATUMS,
            "component datums over the series guard dropped"
        );
    }
    mapped
}
