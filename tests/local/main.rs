//! Integration tests that need nothing but this machine: the built CLI against local servers.

mod security;
#[path = "../support/mod.rs"]
mod support;

mod hostile;
mod probe;
mod tls;
