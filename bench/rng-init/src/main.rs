//! Times aws-lc-rs's first random bytes in a fresh process (the DRBG is seeded then, with CPU
//! jitter entropy unless aws-lc-sys was built with `AWS_LC_SYS_NO_JITTER_ENTROPY=1`) and a second
//! draw. The canary's first TLS handshake pays the first draw. Prints `first_ns second_ns`.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use std::time::Instant;

fn main() {
    let rng = SystemRandom::new();
    let mut buf = [0u8; 32];
    let t = Instant::now();
    let first = rng.fill(&mut buf);
    let first_ns = t.elapsed().as_nanos();
    let t = Instant::now();
    let second = rng.fill(&mut buf);
    let second_ns = t.elapsed().as_nanos();
    if first.is_err() || second.is_err() {
        eprintln!("rng-init: aws-lc-rs could not produce random bytes");
        std::process::exit(1);
    }
    println!("{first_ns} {second_ns}");
}
