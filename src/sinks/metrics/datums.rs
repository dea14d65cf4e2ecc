//! The pure mapping `Report → datums`: which metrics one run publishes, with their dimensions,
//! units, values and timestamp; plus the series guard and the PutMetricData batching rule.

use super::contract::{self, DIM_CANARY, DIM_COMPONENT, DIM_TARGET};
use super::sanitize::{sanitize, Key};
use crate::check::config::{Measurements, MetricsConfig};
use crate::check::report::{Report, TargetResult};
use chrono::{DateTime, Utc};
use std::ops::Range;

/// At most this many component-level datums (statuses and measurements) per run, so a service
/// listing thousands of components cannot multiply the CloudWatch bill. Extra ones are dropped
/// and counted in [`Datums::dropped`].
pub const MAX_COMPONENT_DATUMS: usize = 2000;
/// PutMetricData accepts at most this many datums per call.
pub const MAX_DATUMS_PER_CALL: usize = 1000;
/// PutMetricData accepts at most 1 MB per request; the batches stay this far below it, leaving
/// room for the request envelope (action, version, namespace, headers).
pub const MAX_BYTES_PER_CALL: usize = 1_000_000 - 16 * 1024;
/// CloudWatch rejects values larger than 2^360 in magnitude.
const MAX_ABS_VALUE: f64 = 2.348_542_582_773_833_2e108;
/// CloudWatch truncates magnitudes below this to zero; sending zero says so honestly.
const MIN_ABS_VALUE: f64 = 8.515_920e-109;

/// A CloudWatch unit the canary uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// No unit (statuses, counts of things in a component).
    None,
    /// Occurrences (the heartbeat).
    Count,
    /// Milliseconds (latency).
    Milliseconds,
    /// Seconds.
    Seconds,
    /// Bytes.
    Bytes,
    /// Percent.
    Percent,
}

impl Unit {
    /// The unit's CloudWatch name.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::None => "None",
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Seconds => "Seconds",
            Unit::Bytes => "Bytes",
            Unit::Percent => "Percent",
        }
    }

    /// The unit of a contract metric, by its CloudWatch unit name.
    fn from_contract(name: &str) -> Unit {
        match name {
            "Count" => Unit::Count,
            "Milliseconds" => Unit::Milliseconds,
            _ => Unit::None,
        }
    }

    /// The unit a service gave a measurement (`ms`, `percent`, …); unknown ones are `None`.
    fn from_measurement(unit: Option<&str>) -> Unit {
        match unit.map(|u| u.trim().to_ascii_lowercase()).as_deref() {
            Some("ms" | "millis" | "milliseconds") => Unit::Milliseconds,
            Some("s" | "sec" | "seconds") => Unit::Seconds,
            Some("b" | "bytes") => Unit::Bytes,
            Some("%" | "percent") => Unit::Percent,
            _ => Unit::None,
        }
    }
}

/// One metric value ready to publish (sanitised names, finite value).
#[derive(Clone, Debug, PartialEq)]
pub struct Datum {
    /// Metric name (PascalCase, ≤ 255 characters).
    pub name: String,
    /// Dimensions in contract order (`Canary`, `Target`, `Component`), values sanitised.
    pub dimensions: Vec<(&'static str, String)>,
    /// The value.
    pub value: f64,
    /// Its unit.
    pub unit: Unit,
    /// When the run started (`report.checked_at`).
    pub timestamp: DateTime<Utc>,
}

impl Datum {
    /// The value of one dimension, if the datum has it.
    pub fn dimension(&self, name: &str) -> Option<&str> {
        self.dimensions
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A conservative upper bound of this datum's size in a PutMetricData request: every
    /// character percent-encoded (3 bytes per UTF-8 byte) plus generous per-field overhead.
    pub fn encoded_size_bound(&self) -> usize {
        let dims: usize = self
            .dimensions
            .iter()
            .map(|(n, v)| 128 + 3 * (n.len() + v.len()))
            .sum();
        256 + 3 * self.name.len() + dims
    }
}

/// Every datum of one run, and how many component-level datums the guard dropped.
#[derive(Clone, Debug, PartialEq)]
pub struct Datums {
    /// What to publish.
    pub datums: Vec<Datum>,
    /// Component-level datums left out by [`MAX_COMPONENT_DATUMS`].
    pub dropped: usize,
}

/// Maps a report to its datums. Pure. Canary- and target-level metrics always come first, then
/// component statuses, then measurements (per `settings.measurements`), so the guard drops
/// measurements before any status.
pub fn datums(report: &Report, settings: &MetricsConfig) -> Datums {
    let at = report.checked_at;
    let canary = sanitize(&report.canary, Key::DimensionValue);
    let canary_dims = vec![(DIM_CANARY, canary.clone())];
    let mut out = vec![
        datum(
            contract::CANARY_STATUS,
            &canary_dims,
            report.status.metric_value(),
            at,
        ),
        datum(contract::CANARY_HEARTBEAT, &canary_dims, 1.0, at),
    ];
    for target in &report.targets {
        let dims = vec![
            (DIM_CANARY, canary.clone()),
            (DIM_TARGET, sanitize(&target.name, Key::DimensionValue)),
        ];
        out.push(datum(
            contract::TARGET_STATUS,
            &dims,
            target.status.metric_value(),
            at,
        ));
        out.push(datum(contract::TARGET_UP, &dims, target_up(target), at));
        if let Some(ms) = target.latency_ms {
            out.push(datum(contract::RESPONSE_TIME, &dims, ms as f64, at));
        }
        if let Some(days) = target.cert_days_remaining {
            out.push(datum(
                contract::CERTIFICATE_DAYS_REMAINING,
                &dims,
                days as f64,
                at,
            ));
        }
    }

    let (mut component_level, measurements) = component_datums(report, settings, &canary);
    component_level.extend(measurements);
    let dropped = component_level.len().saturating_sub(MAX_COMPONENT_DATUMS);
    component_level.truncate(MAX_COMPONENT_DATUMS);
    out.extend(component_level);
    Datums {
        datums: out,
        dropped,
    }
}

/// Component statuses and measurements (per `settings.measurements`), each in report order and
/// apart, so the series guard can keep every status before any measurement.
fn component_datums(
    report: &Report,
    settings: &MetricsConfig,
    canary: &str,
) -> (Vec<Datum>, Vec<Datum>) {
    let at = report.checked_at;
    let mut statuses = Vec::new();
    let mut measurements = Vec::new();
    for target in &report.targets {
        let target_name = sanitize(&target.name, Key::DimensionValue);
        for component in &target.components {
            let dims = vec![
                (DIM_CANARY, canary.to_string()),
                (DIM_TARGET, target_name.clone()),
                (
                    DIM_COMPONENT,
                    sanitize(&component.name, Key::DimensionValue),
                ),
            ];
            for m in &component.measurements {
                let name = sanitize(&m.name, Key::MetricName);
                if !wanted(&settings.measurements, &m.name, &name) || reserved(&name) {
                    continue;
                }
                if let Some(value) = cloudwatch_value(m.value.as_f64()) {
                    measurements.push(Datum {
                        name,
                        dimensions: dims.clone(),
                        value,
                        unit: Unit::from_measurement(m.unit.as_deref()),
                        timestamp: at,
                    });
                }
            }
            statuses.push(datum(
                contract::COMPONENT_STATUS,
                &dims,
                component.status.metric_value(),
                at,
            ));
        }
    }
    (statuses, measurements)
}

/// Splits datums into PutMetricData calls: at most [`MAX_DATUMS_PER_CALL`] datums and
/// [`MAX_BYTES_PER_CALL`] (by [`Datum::encoded_size_bound`]) per call, in order.
pub fn batches(datums: &[Datum]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, d) in datums.iter().enumerate() {
        let size = d.encoded_size_bound();
        if i > start && (i - start == MAX_DATUMS_PER_CALL || bytes + size > MAX_BYTES_PER_CALL) {
            out.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < datums.len() {
        out.push(start..datums.len());
    }
    out
}

fn datum(name: &str, dims: &[(&'static str, String)], value: f64, at: DateTime<Utc>) -> Datum {
    let unit = contract::METRICS
        .iter()
        .find(|m| m.name == name)
        .map_or(Unit::None, |m| Unit::from_contract(m.unit));
    Datum {
        name: name.to_string(),
        dimensions: dims.to_vec(),
        value,
        unit,
        timestamp: at,
    }
}

/// 1 when a response arrived with a status the target expects (as judged), else 0.
fn target_up(target: &TargetResult) -> f64 {
    f64::from(u8::from(target.http_status_expected == Some(true)))
}

/// Whether a measurement is selected, by the name the service gave it or its metric name.
fn wanted(selection: &Measurements, raw: &str, metric: &str) -> bool {
    match selection {
        Measurements::All => true,
        Measurements::None => false,
        Measurements::Only(names) => names.iter().any(|n| n == raw || n == metric),
    }
}

/// A measurement may not take a contract metric's name (it would corrupt that series and its
/// alarm) nor a dimension's name (EMF documents hold both as top-level keys).
fn reserved(metric: &str) -> bool {
    contract::METRICS.iter().any(|m| m.name == metric)
        || [DIM_CANARY, DIM_TARGET, DIM_COMPONENT].contains(&metric)
}

/// The value CloudWatch will accept, or `None` for NaN, infinities and out-of-range numbers.
fn cloudwatch_value(v: f64) -> Option<f64> {
    if !v.is_finite() || v.abs() > MAX_ABS_VALUE {
        None
    } else if v.abs() < MIN_ABS_VALUE {
        Some(0.0)
    } else {
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::config::{self, Overrides};
    use crate::check::report::{ComponentResult, Measurement, Status, Value};

    /// The metrics settings of a config selecting `measurements`.
    fn seed_config(measurements: &str) -> MetricsConfig {
        let json = format!(
            r#"{{"canary":"prod","targets":[{{"name":"system","url":"http://127.0.0.1:9/api/health/system"}}],
                "metrics":{{"measurements":{measurements}}}}}"#
        );
        config::load(None, Some(&json), &Overrides::default(), &|_| None)
            .unwrap()
            .metrics
    }

    fn component(name: &str, status: Status, measurements: &[(&str, Value)]) -> ComponentResult {
        ComponentResult {
            name: name.into(),
            status,
            reason: None,
            measurements: measurements
                .iter()
                .map(|(n, v)| Measurement {
                    name: (*n).into(),
                    value: v.clone(),
                    unit: None,
                })
                .collect(),
        }
    }

    fn target(name: &str, status: Status, components: Vec<ComponentResult>) -> TargetResult {
        TargetResult {
            name: name.into(),
            url: "http://127.0.0.1:9/api/health/system".into(),
            critical: true,
            status,
            reason: None,
            http_status: Some(200),
            http_status_expected: Some(true),
            latency_ms: Some(42),
            attempts: 1,
            cert_days_remaining: None,
            format: Some("component_map".into()),
            declared_status: Some("FAIL".into()),
            components,
            conditions: vec![],
        }
    }

    fn at() -> DateTime<Utc> {
        "2026-01-08T12:00:00Z".parse().unwrap()
    }

    /// The seed's example with market_data stale: market_data FAIL, the rest PASS.
    fn seed_report() -> Report {
        let n = Value::Number;
        let b = Value::Bool;
        Report::new(
            "prod".into(),
            at(),
            vec![target(
                "system",
                Status::Fail,
                vec![
                    component(
                        "market_data",
                        Status::Fail,
                        &[
                            ("fresh_symbols", n(0.0)),
                            ("stale_symbols", n(33.0)),
                            ("max_age_minutes", n(45.5)),
                        ],
                    ),
                    component(
                        "market_updater",
                        Status::Pass,
                        &[
                            ("is_running", b(true)),
                            ("last_heartbeat_age_minutes", n(0.21)),
                        ],
                    ),
                    component("signal_monitor", Status::Pass, &[("is_running", b(true))]),
                ],
            )],
        )
    }

    fn find<'a>(d: &'a [Datum], name: &str, component: Option<&str>) -> Vec<&'a Datum> {
        d.iter()
            .filter(|x| x.name == name && x.dimension(DIM_COMPONENT) == component)
            .collect()
    }

    /// (metric name, dimensions, value, unit) of one datum, for comparisons.
    type Row<'a> = (String, Vec<(&'a str, &'a str)>, f64, &'a str);

    #[test]
    fn maps_the_seed_report_to_the_contract_metrics() {
        let d = datums(&seed_report(), &seed_config(r#""all""#));
        assert_eq!(d.dropped, 0);
        let rows: Vec<Row> = d
            .datums
            .iter()
            .map(|x| {
                (
                    x.name.clone(),
                    x.dimensions.iter().map(|(n, v)| (*n, v.as_str())).collect(),
                    x.value,
                    x.unit.as_str(),
                )
            })
            .collect();
        let c = |comp: &'static str| {
            vec![
                ("Canary", "prod"),
                ("Target", "system"),
                ("Component", comp),
            ]
        };
        let t = vec![("Canary", "prod"), ("Target", "system")];
        let k = vec![("Canary", "prod")];
        let want: Vec<Row> = vec![
            ("CanaryStatus".into(), k.clone(), 2.0, "None"),
            ("CanaryHeartbeat".into(), k, 1.0, "Count"),
            ("TargetStatus".into(), t.clone(), 2.0, "None"),
            ("TargetUp".into(), t.clone(), 1.0, "None"),
            ("ResponseTime".into(), t, 42.0, "Milliseconds"),
            ("ComponentStatus".into(), c("market_data"), 2.0, "None"),
            ("ComponentStatus".into(), c("market_updater"), 0.0, "None"),
            ("ComponentStatus".into(), c("signal_monitor"), 0.0, "None"),
            ("FreshSymbols".into(), c("market_data"), 0.0, "None"),
            ("StaleSymbols".into(), c("market_data"), 33.0, "None"),
            ("MaxAgeMinutes".into(), c("market_data"), 45.5, "None"),
            ("IsRunning".into(), c("market_updater"), 1.0, "None"),
            (
                "LastHeartbeatAgeMinutes".into(),
                c("market_updater"),
                0.21,
                "None",
            ),
            ("IsRunning".into(), c("signal_monitor"), 1.0, "None"),
        ];
        assert_eq!(rows, want);
        assert!(d.datums.iter().all(|x| x.timestamp == at()));
    }

    #[test]
    fn measurements_follow_the_configured_selection() {
        let names = |sel: &str| -> Vec<String> {
            let d = datums(&seed_report(), &seed_config(sel));
            d.datums
                .iter()
                .filter(|x| x.dimension(DIM_COMPONENT).is_some() && x.name != "ComponentStatus")
                .map(|x| x.name.clone())
                .collect()
        };
        assert_eq!(names(r#""none""#), Vec::<String>::new());
        assert_eq!(names(r#"["stale_symbols"]"#), vec!["StaleSymbols"]);
        // The PascalCase metric name selects too.
        assert_eq!(
            names(r#"["MaxAgeMinutes","is_running"]"#),
            vec!["MaxAgeMinutes", "IsRunning", "IsRunning"]
        );
        assert_eq!(names(r#""all""#).len(), 6);
        // Statuses are published whatever the selection.
        let d = datums(&seed_report(), &seed_config(r#""none""#));
        assert_eq!(d.datums.len(), 8);
    }

    #[test]
    fn target_up_is_one_only_for_a_status_judged_as_expected() {
        let cases: &[(Option<u16>, Option<bool>, f64)] = &[
            (Some(503), Some(true), 1.0),
            (Some(200), Some(true), 1.0),
            (Some(200), Some(false), 0.0),
            (Some(500), Some(false), 0.0),
            // A report from before the judgement was recorded: not known to be up.
            (Some(200), None, 0.0),
            (None, None, 0.0),
        ];
        for (code, expected, want) in cases {
            let mut t = target("a", Status::Pass, vec![]);
            t.http_status = *code;
            t.http_status_expected = *expected;
            let r = Report::new("c".into(), at(), vec![t]);
            let d = datums(&r, &seed_config(r#""all""#));
            let up = find(&d.datums, "TargetUp", None);
            assert_eq!(up.len(), 1);
            assert_eq!(up[0].value, *want, "code {code:?} expected {expected:?}");
        }
    }

    #[test]
    fn certificate_days_and_latency_appear_only_when_known() {
        let mut t = target("tls", Status::Pass, vec![]);
        t.cert_days_remaining = Some(17);
        t.latency_ms = None;
        let r = Report::new("c".into(), at(), vec![t]);
        let d = datums(&r, &seed_config(r#""all""#));
        let cert = find(&d.datums, "CertificateDaysRemaining", None);
        assert_eq!(cert.len(), 1);
        assert_eq!(cert[0].value, 17.0);
        assert!(find(&d.datums, "ResponseTime", None).is_empty());
        let d = datums(&seed_report(), &seed_config(r#""all""#));
        assert!(find(&d.datums, "CertificateDaysRemaining", None).is_empty());
    }

    #[test]
    fn measurements_never_shadow_contract_metrics_or_dimensions_and_stay_finite() {
        let n = Value::Number;
        let r = Report::new(
            "c".into(),
            at(),
            vec![target(
                "t",
                Status::Pass,
                vec![component(
                    "x",
                    Status::Pass,
                    &[
                        ("component_status", n(0.0)),
                        ("canary_heartbeat", n(5.0)),
                        ("target", n(1.0)),
                        ("huge", n(1e300)),
                        ("nan", n(f64::NAN)),
                        ("tiny", n(1e-200)),
                        ("latency", n(12.0)),
                    ],
                )],
            )],
        );
        let d = datums(&r, &seed_config(r#""all""#));
        let comp: Vec<(&str, f64)> = d
            .datums
            .iter()
            .filter(|x| x.dimension(DIM_COMPONENT).is_some())
            .map(|x| (x.name.as_str(), x.value))
            .collect();
        assert_eq!(
            comp,
            vec![("ComponentStatus", 0.0), ("Tiny", 0.0), ("Latency", 12.0)]
        );
        assert_eq!(find(&d.datums, "CanaryHeartbeat", None)[0].value, 1.0);
    }

    #[test]
    fn measurement_units_map_to_cloudwatch_units() {
        let cases: &[(Option<&str>, Unit)] = &[
            (Some("ms"), Unit::Milliseconds),
            (Some("Milliseconds"), Unit::Milliseconds),
            (Some("s"), Unit::Seconds),
            (Some("bytes"), Unit::Bytes),
            (Some("percent"), Unit::Percent),
            (Some("%"), Unit::Percent),
            (Some("furlongs"), Unit::None),
            (None, Unit::None),
        ];
        for (raw, want) in cases {
            assert_eq!(Unit::from_measurement(*raw), *want, "unit {raw:?}");
        }
    }

    #[test]
    fn five_thousand_hostile_components_are_capped_with_statuses_first() {
        let n = Value::Number;
        let comps: Vec<ComponentResult> = (0..5000)
            .map(|i| {
                component(
                    &format!("c{i}\n\u{1b}[31m{}", "x".repeat(2000)),
                    Status::Fail,
                    &[("depth", n(i as f64))],
                )
            })
            .collect();
        let r = Report::new("c".into(), at(), vec![target("t", Status::Fail, comps)]);
        let d = datums(&r, &seed_config(r#""all""#));
        let component_level: Vec<&Datum> = d
            .datums
            .iter()
            .filter(|x| x.dimension(DIM_COMPONENT).is_some())
            .collect();
        assert_eq!(component_level.len(), MAX_COMPONENT_DATUMS);
        assert_eq!(d.dropped, 10_000 - MAX_COMPONENT_DATUMS);
        assert!(component_level.iter().all(|x| x.name == "ComponentStatus"));
        // Canary and target metrics survive the guard.
        assert_eq!(d.datums.len(), 5 + MAX_COMPONENT_DATUMS);
        let v = component_level[0].dimension(DIM_COMPONENT).unwrap();
        assert_eq!(v.chars().count(), 1024);
        assert!(v.starts_with("c0 [31mxxx"));
    }

    #[test]
    #[allow(clippy::single_range_in_vec_init)] // a list of one batch, not a range of numbers
    fn batches_respect_the_datum_count_limit() {
        let one = datums(&seed_report(), &seed_config(r#""all""#)).datums[0].clone();
        let cases: &[(usize, Vec<std::ops::Range<usize>>)] = &[
            (0, vec![]),
            (1, vec![0..1]),
            (1000, vec![0..1000]),
            (1001, vec![0..1000, 1000..1001]),
            (2005, vec![0..1000, 1000..2000, 2000..2005]),
        ];
        for (n, want) in cases {
            let d = vec![one.clone(); *n];
            assert_eq!(&batches(&d), want, "{n} datums");
        }
    }

    #[test]
    fn batches_stay_under_one_megabyte_with_the_largest_dimensions() {
        let mut big = datums(&seed_report(), &seed_config(r#""all""#)).datums[5].clone();
        for (_, v) in big.dimensions.iter_mut() {
            *v = "😀".repeat(1024);
        }
        big.name = "N".repeat(255);
        let d = vec![big.clone(); 200];
        let b = batches(&d);
        let per_call = big.encoded_size_bound();
        assert!(per_call > 36_000, "bound {per_call}");
        assert!(b.len() > 1);
        for r in &b {
            assert!(r.len() * per_call <= MAX_BYTES_PER_CALL);
        }
        assert_eq!(b.iter().map(|r| r.len()).sum::<usize>(), 200);
        assert_eq!(b[0].len(), MAX_BYTES_PER_CALL / per_call);
    }
}
