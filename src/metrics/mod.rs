//! Metrics: the pure `Report → datums` mapping (names, dimensions, units in one place) and the
//! two publishers (PutMetricData API and Embedded Metric Format).

pub mod contract;
