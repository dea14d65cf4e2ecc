//! Integration tests that need nothing but this machine: the built CLI against local servers.

#[path = "../support/mod.rs"]
mod support;

mod alert_simulation;
mod cli;
mod contract;
mod demo;
mod formats;
mod hostile;
mod probe;
mod properties;
mod security;
mod tls;
