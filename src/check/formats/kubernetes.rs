//! Kubernetes `/readyz?verbose` (and `/livez`, `/healthz`) text: `[+]name ok` and
//! `[-]name failed: reason withheld` lines, then `readyz check passed` or `… failed`.

use super::fields::join_reasons;
use super::shape::{Declared, Format, Parsed};
use crate::check::report::{ComponentResult, Status};

/// Whether a text body is a verbose Kubernetes health listing.
pub(super) fn is_verbose_body(text: &str) -> bool {
    text.lines().any(|l| {
        check_line(l.trim()).is_some()
            || l.trim_start().starts_with("[+]")
            || l.trim_start().starts_with("[-]")
    })
}

/// `Some(passed)` for a final `<name> check passed|failed` line.
fn check_line(line: &str) -> Option<bool> {
    let (head, verdict) = line.rsplit_once(' ')?;
    let (name, check) = head.rsplit_once(' ')?;
    if check != "check" || name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    match verdict {
        "passed" => Some(true),
        "failed" => Some(false),
        _ => None,
    }
}

/// Reads the listing: one component per `[+]`/`[-]` line, the last check line as declared status.
pub(super) fn parse(text: &str) -> Parsed {
    let mut components = Vec::new();
    let mut declared = None;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("[+]") {
            let (name, said) = split_name(rest);
            components.push(ComponentResult {
                name: name.to_string(),
                status: Status::Pass,
                reason: None,
                measurements: Vec::new(),
            });
            // `[+]x excluded: ok` is still a pass; nothing to quote.
            let _ = said;
        } else if let Some(rest) = line.strip_prefix("[-]") {
            let (name, said) = split_name(rest);
            components.push(ComponentResult {
                name: name.to_string(),
                status: Status::Fail,
                reason: join_reasons([said.to_string()]).or_else(|| Some("check failed".into())),
                measurements: Vec::new(),
            });
        } else if let Some(passed) = check_line(line) {
            declared = Some(Declared {
                word: line.to_string(),
                status: if passed { Status::Pass } else { Status::Fail },
                reason: None,
            });
        }
    }
    if declared.is_none() && components.is_empty() {
        declared = Some(Declared {
            word: String::new(),
            status: Status::Fail,
            reason: Some("no '[+]name' lines and no 'check passed' line".into()),
        });
    }
    Parsed {
        format: Format::Kubernetes,
        declared,
        components,
    }
}

/// Splits `name rest` at the first space.
fn split_name(rest: &str) -> (&str, &str) {
    match rest.split_once(' ') {
        Some((name, said)) => (name, said.trim()),
        None => (rest, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_failing_readyz_listing() {
        let p = parse(include_str!(
            "../../../tests/fixtures/formats/kubernetes/failed.txt"
        ));
        let d = p.declared.unwrap();
        assert_eq!(
            (d.word.as_str(), d.status),
            ("readyz check failed", Status::Fail)
        );
        let etcd = p.components.iter().find(|c| c.name == "etcd").unwrap();
        assert_eq!(etcd.status, Status::Fail);
        assert_eq!(etcd.reason.as_deref(), Some("failed: reason withheld"));
        let ping = p.components.iter().find(|c| c.name == "ping").unwrap();
        assert_eq!((ping.status, ping.reason.as_deref()), (Status::Pass, None));
    }

    #[test]
    fn reads_a_passing_listing() {
        let p = parse(include_str!(
            "../../../tests/fixtures/formats/kubernetes/passed.txt"
        ));
        assert_eq!(p.declared.unwrap().status, Status::Pass);
        assert!(p.components.iter().all(|c| c.status == Status::Pass));
        assert_eq!(p.components.len(), 4);
    }

    #[test]
    fn detects_listing_lines_and_check_lines_only() {
        assert!(is_verbose_body("[+]ping ok\n"));
        assert!(is_verbose_body("livez check passed\n"));
        assert!(!is_verbose_body("ok"));
        assert!(!is_verbose_body("<html>health check passed by me</html>"));
    }

    #[test]
    fn a_forced_empty_listing_fails() {
        let p = parse("");
        assert_eq!(p.declared.unwrap().status, Status::Fail);
    }
}
