//! The Embedded Metric Format publisher: datums as CloudWatch EMF JSON documents, one per line on
//! stdout, which CloudWatch Logs turns into metrics (used by `publisher: emf`, `--emf`, and as
//! the fallback when PutMetricData fails).

use super::datums::Datum;
use serde_json::{json, Map, Value};
use std::io::Write;

/// EMF allows at most 100 metrics per directive.
pub const MAX_METRICS_PER_DOCUMENT: usize = 100;

/// Renders datums as EMF documents: one dimension set per document, at most
/// [`MAX_METRICS_PER_DOCUMENT`] metrics each, and a metric name at most once per document
/// (a repeated name, e.g. two components with the same name, goes into another document).
/// Pure; documents come out in the order their dimension sets first appear.
pub fn documents(namespace: &str, datums: &[Datum]) -> Vec<Value> {
    struct Doc<'a> {
        dimensions: &'a [(&'static str, String)],
        timestamp_ms: i64,
        metrics: Vec<&'a Datum>,
    }
    let mut docs: Vec<Doc> = Vec::new();
    for d in datums {
        let ts = d.timestamp.timestamp_millis();
        let slot = docs.iter_mut().find(|doc| {
            doc.dimensions == d.dimensions.as_slice()
                && doc.timestamp_ms == ts
                && doc.metrics.len() < MAX_METRICS_PER_DOCUMENT
                && !doc.metrics.iter().any(|m| m.name == d.name)
        });
        match slot {
            Some(doc) => doc.metrics.push(d),
            None => docs.push(Doc {
                dimensions: &d.dimensions,
                timestamp_ms: ts,
                metrics: vec![d],
            }),
        }
    }
    docs.into_iter()
        .map(|doc| {
            let dimension_names: Vec<&str> = doc.dimensions.iter().map(|(n, _)| *n).collect();
            let metrics: Vec<Value> = doc
                .metrics
                .iter()
                .map(|m| json!({"Name": m.name, "Unit": m.unit.as_str()}))
                .collect();
            let mut root = Map::new();
            root.insert(
                "_aws".into(),
                json!({
                    "Timestamp": doc.timestamp_ms,
                    "CloudWatchMetrics": [{
                        "Namespace": namespace,
                        "Dimensions": [dimension_names],
                        "Metrics": metrics,
                    }],
                }),
            );
            for (name, value) in doc.dimensions {
                root.insert((*name).to_string(), Value::String(value.clone()));
            }
            for m in &doc.metrics {
                root.insert(m.name.clone(), json!(m.value));
            }
            Value::Object(root)
        })
        .collect()
}

/// Writes the EMF documents as JSON lines; returns how many lines were written.
pub fn write(namespace: &str, datums: &[Datum], out: &mut impl Write) -> std::io::Result<usize> {
    let docs = documents(namespace, datums);
    for doc in &docs {
        serde_json::to_writer(&mut *out, doc)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(docs.len())
}

/// Writes the EMF documents to stdout (locked, so lines never interleave with logs).
pub fn print(namespace: &str, datums: &[Datum]) -> std::io::Result<usize> {
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    write(namespace, datums, &mut lock)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::metrics::datums::Unit;
    use chrono::{DateTime, Utc};

    fn at() -> DateTime<Utc> {
        "2026-01-08T12:00:00Z".parse().unwrap()
    }

    fn d(name: &str, dims: &[(&'static str, &str)], value: f64, unit: Unit) -> Datum {
        Datum {
            name: name.into(),
            dimensions: dims.iter().map(|(n, v)| (*n, (*v).to_string())).collect(),
            value,
            unit,
            timestamp: at(),
        }
    }

    #[test]
    fn one_document_per_dimension_set_in_emf_shape() {
        let k = [("Canary", "prod")];
        let c = [
            ("Canary", "prod"),
            ("Target", "system"),
            ("Component", "market_data"),
        ];
        let docs = documents(
            "Ops/Canary",
            &[
                d("CanaryStatus", &k, 2.0, Unit::None),
                d("CanaryHeartbeat", &k, 1.0, Unit::Count),
                d("ComponentStatus", &c, 2.0, Unit::None),
                d("StaleSymbols", &c, 33.0, Unit::None),
            ],
        );
        assert_eq!(
            docs,
            vec![
                json!({
                    "_aws": {"Timestamp": 1767873600000i64, "CloudWatchMetrics": [{
                        "Namespace": "Ops/Canary",
                        "Dimensions": [["Canary"]],
                        "Metrics": [{"Name": "CanaryStatus", "Unit": "None"}, {"Name": "CanaryHeartbeat", "Unit": "Count"}]
                    }]},
                    "Canary": "prod", "CanaryStatus": 2.0, "CanaryHeartbeat": 1.0
                }),
                json!({
                    "_aws": {"Timestamp": 1767873600000i64, "CloudWatchMetrics": [{
                        "Namespace": "Ops/Canary",
                        "Dimensions": [["Canary", "Target", "Component"]],
                        "Metrics": [{"Name": "ComponentStatus", "Unit": "None"}, {"Name": "StaleSymbols", "Unit": "None"}]
                    }]},
                    "Canary": "prod", "Target": "system", "Component": "market_data",
                    "ComponentStatus": 2.0, "StaleSymbols": 33.0
                }),
            ]
        );
    }

    #[test]
    fn splits_at_one_hundred_metrics_and_on_repeated_names() {
        let t = [("Canary", "c"), ("Target", "t")];
        let mut many: Vec<Datum> = (0..250)
            .map(|i| d(&format!("M{i}"), &t, f64::from(i), Unit::None))
            .collect();
        // Two components with the same name give the same dimension set twice.
        many.push(d("M0", &t, 99.0, Unit::None));
        let docs = documents("N", &many);
        let sizes: Vec<usize> = docs
            .iter()
            .map(|x| {
                x["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                    .as_array()
                    .unwrap()
                    .len()
            })
            .collect();
        assert_eq!(sizes, vec![100, 100, 51]);
        assert_eq!(docs[2]["M0"], json!(99.0));
        assert_eq!(docs[2]["M200"], json!(200.0));
        for doc in &docs {
            let names = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap();
            for m in names {
                let name = m["Name"].as_str().unwrap();
                assert!(doc[name].is_number(), "{name} has its value at the root");
            }
        }
    }

    #[test]
    fn writes_one_json_line_per_document() {
        let k = [("Canary", "line\u{2028}sep")];
        let mut out = Vec::new();
        let n = write("N", &[d("CanaryHeartbeat", &k, 1.0, Unit::Count)], &mut out).unwrap();
        assert_eq!(n, 1);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 1);
        let back: Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(back["Canary"], json!("line\u{2028}sep"));
    }
}
