//! The Lambda entry point (placeholder until the handler lands).

fn main() {}
