//! Links the Lambda binary as a position-dependent executable on Linux.
//!
//! Why: a position-independent executable carries ~60,000 relative relocations (mostly pointers
//! in the AWS SDK's and chrono-tz's static tables) that the dynamic loader applies on every cold
//! start, writing to ~1.5 MiB of otherwise untouched pages. Linked at a fixed address the linker
//! resolves them once, at build time, and init falls by about a third (docs/benchmarks.md). The
//! cost is that the executable's own image is not randomised (ASLR still covers the stack, heap
//! and shared libraries); the CLI binary keeps the default.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bin=health-canary-lambda=-no-pie");
    }
}
