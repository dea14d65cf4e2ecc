//! Entry points: the command line (`cli`, with the built-in `demo` and the `wait` deploy gate)
//! and the Lambda handler (`lambda`). Thin: each builds what it needs, calls `check::run_check`, then the sinks.

pub mod cli;
pub mod demo;
pub mod exit;
pub mod lambda;
pub mod wait;
