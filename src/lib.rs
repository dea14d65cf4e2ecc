//! health-canary: probes health endpoints, reads every common health format, judges each
//! component, and reports through the console, CloudWatch metrics and SNS alerts.
//!
//! Data flows one way: `config` → `probe` → `formats` → `judge` → `report::Report` → sinks
//! (`console`, `metrics`, `alert`). Entry points (`cli`, `lambda`) call `run::run_check`.

pub mod alert;
pub mod cli;
pub mod condition;
pub mod config;
pub mod console;
pub mod deliver;
pub mod demo;
pub mod formats;
pub mod judge;
pub mod lambda;
pub mod metrics;
pub mod probe;
pub mod report;
pub mod run;
