//! Entry points: the command line (`cli`, with the built-in `demo` and its alert lifecycle in
//! `demo_alerts`, the alert state commands in `alert_state` and the `wait` deploy gate) and the
//! Lambda handler (`lambda`). Thin: each builds what it needs, calls `check::run_check`, then the
//! sinks.

pub mod alert_state;
pub mod cli;
pub mod demo;
pub mod demo_alerts;
pub mod exit;
pub mod lambda;
pub mod wait;
