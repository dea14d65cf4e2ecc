//! The PutMetricData publisher: datums sent in batches (≤ 1,000 datums and ≤ 1 MB per call)
//! through the SDK client and its standard retries.

use super::datums::{batches, Datum, Unit};
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};

/// What an API publish achieved.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiOutcome {
    /// Calls that succeeded.
    pub calls: usize,
    /// Datums those calls carried.
    pub sent: usize,
    /// The first failure (after the SDK's retries) and the index of the first datum not sent;
    /// after a failure no further calls are made, so a dead endpoint costs one retry budget only.
    pub failure: Option<(String, usize)>,
}

/// Sends every datum with PutMetricData, batch after batch, stopping at the first failed call.
pub async fn put(
    client: &aws_sdk_cloudwatch::Client,
    namespace: &str,
    datums: &[Datum],
) -> ApiOutcome {
    let mut outcome = ApiOutcome {
        calls: 0,
        sent: 0,
        failure: None,
    };
    for range in batches(datums) {
        let start = range.start;
        let batch: Vec<MetricDatum> = datums[range].iter().map(to_sdk).collect();
        let n = batch.len();
        let result = client
            .put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(batch))
            .send()
            .await;
        match result {
            Ok(_) => {
                outcome.calls += 1;
                outcome.sent += n;
            }
            Err(e) => {
                let message = aws_sdk_cloudwatch::error::DisplayErrorContext(&e).to_string();
                outcome.failure = Some((message, start));
                break;
            }
        }
    }
    outcome
}

/// The SDK shape of one datum.
pub fn to_sdk(d: &Datum) -> MetricDatum {
    let dimensions = d
        .dimensions
        .iter()
        .map(|(name, value)| Dimension::builder().name(*name).value(value).build())
        .collect();
    MetricDatum::builder()
        .metric_name(&d.name)
        .set_dimensions(Some(dimensions))
        .value(d.value)
        .unit(sdk_unit(d.unit))
        .timestamp(aws_sdk_cloudwatch::primitives::DateTime::from_millis(
            d.timestamp.timestamp_millis(),
        ))
        .build()
}

fn sdk_unit(u: Unit) -> StandardUnit {
    match u {
        Unit::None => StandardUnit::None,
        Unit::Count => StandardUnit::Count,
        Unit::Milliseconds => StandardUnit::Milliseconds,
        Unit::Seconds => StandardUnit::Seconds,
        Unit::Bytes => StandardUnit::Bytes,
        Unit::Percent => StandardUnit::Percent,
    }
}
