//! `config::load` on arbitrary UTF-8 as inline JSON (`CANARY_CONFIG`), no file, default
//! overrides, an empty environment. It must return `Ok` or `Err`, never panic.
#![no_main]

use health_canary::check::config::{load, Overrides};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = load(None, Some(text), &Overrides::default(), &|_| None);
});
