//! Exit codes of the command line, in one place: what a script or a deploy pipeline acts on.

use crate::check::report::Status;

/// Exit code for usage or configuration errors (clap uses the same for its usage errors).
pub const EXIT_USAGE: u8 = 2;
/// Exit code when `--publish` could not do its job: PutMetricData failed (even if the EMF
/// fallback kept the data) or a due alert could not be sent. Takes precedence over 0 and 1.
pub const EXIT_CANARY_FAILED: u8 = 3;

/// Exit code when the check failed (FAIL, or WARN with `--fail-on-warn`).
pub const EXIT_FAILED: u8 = 1;

/// The exit code for a report: 0 on PASS (and WARN unless `fail_on_warn`), 1 otherwise.
pub fn exit_code(status: Status, fail_on_warn: bool) -> u8 {
    match status {
        Status::Fail => EXIT_FAILED,
        Status::Warn if fail_on_warn => EXIT_FAILED,
        Status::Warn | Status::Pass => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_code_follows_status_and_fail_on_warn() {
        let cases = [
            (Status::Pass, false, 0),
            (Status::Pass, true, 0),
            (Status::Warn, false, 0),
            (Status::Warn, true, 1),
            (Status::Fail, false, 1),
            (Status::Fail, true, 1),
        ];
        for (status, fail_on_warn, want) in cases {
            assert_eq!(
                exit_code(status, fail_on_warn),
                want,
                "{status} {fail_on_warn}"
            );
        }
    }
}
