//! Integration tests that need nothing but this machine: the built CLI against local servers,
//! the templates against the metrics contract, and the documentation's links.

#[path = "../support/mod.rs"]
mod support;

mod alert_simulation;
mod cli;
mod contract;
mod demo;
mod docs;
mod formats;
mod hostile;
mod pipeline;
mod probe;
mod properties;
mod schema;
mod security;
mod structure;
mod tls;
