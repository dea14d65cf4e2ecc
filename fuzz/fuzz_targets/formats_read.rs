//! `formats::read` on arbitrary bytes. Byte 0 picks the content type, byte 1 the forced
//! format (or none), the rest is the body. `read` must return `Ok` or `Err`, never panic.
#![no_main]

use health_canary::check::formats::{read, Format};
use libfuzzer_sys::fuzz_target;

const CONTENT_TYPES: [Option<&str>; 8] = [
    None,
    Some("application/json"),
    Some("application/health+json"),
    Some("text/plain"),
    Some("application/json; charset=utf-8"),
    Some("TEXT/JSON"),
    Some("application/vnd.spring-boot.actuator.v3+json"),
    Some("text/html"),
];

fuzz_target!(|data: &[u8]| {
    let [ct, forced, body @ ..] = data else {
        return;
    };
    let content_type = CONTENT_TYPES[usize::from(*ct) % CONTENT_TYPES.len()];
    // One slot more than the formats: the last one means "auto-detect".
    let pick = usize::from(*forced) % (Format::ALL.len() + 1);
    let forced = Format::ALL.get(pick).copied();
    let _ = read(body, content_type, forced);
});
