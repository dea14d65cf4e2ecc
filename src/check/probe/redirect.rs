//! The redirect policy: follow at most five redirects, only within the same host and port (or an
//! http → https upgrade to the default ports) and never from https down to plain http, so the
//! configured headers (all secrets) never travel to another server.

use crate::check::text::printable;

/// Most redirects followed before the probe gives up.
pub const MAX_REDIRECTS: usize = 5;

/// Why a redirect was not followed; becomes the target's reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectRefused {
    /// The `Location` points at a different host.
    #[error("redirect to another host ({0}) not followed")]
    OtherHost(String),
    /// Same host, another port: possibly another service, which must not get our headers.
    #[error("redirect to another port ({0}) not followed")]
    OtherPort(String),
    /// https → http would send the request (and its headers) in clear text.
    #[error("redirect from https to plain http not followed")]
    Downgrade,
    /// A URL already visited in this chain.
    #[error("redirect loop ({0} redirects back to a URL already visited)")]
    Loop(String),
    /// More than [`MAX_REDIRECTS`].
    #[error("too many redirects (more than {MAX_REDIRECTS})")]
    TooMany,
}

/// Decides one redirect from the chain so far (`previous[0]` is the URL first requested).
pub fn decide(previous: &[url::Url], next: &url::Url) -> Result<(), RedirectRefused> {
    let (Some(first), Some(last)) = (previous.first(), previous.last()) else {
        return Ok(());
    };
    if !next
        .host_str()
        .unwrap_or_default()
        .eq_ignore_ascii_case(first.host_str().unwrap_or_default())
    {
        return Err(RedirectRefused::OtherHost(printable(
            next.host_str().unwrap_or("no host"),
        )));
    }
    if last.scheme() == "https" && next.scheme() != "https" {
        return Err(RedirectRefused::Downgrade);
    }
    let (from, to) = (last.port_or_known_default(), next.port_or_known_default());
    let upgrade = last.scheme() == "http" && from == Some(80) && to == Some(443);
    if from != to && !upgrade {
        return Err(RedirectRefused::OtherPort(format!(
            "{}:{}",
            printable(next.host_str().unwrap_or_default()),
            to.unwrap_or_default()
        )));
    }
    if previous.iter().any(|u| u == next) {
        return Err(RedirectRefused::Loop(printable(last.path())));
    }
    if previous.len() > MAX_REDIRECTS {
        return Err(RedirectRefused::TooMany);
    }
    Ok(())
}

/// The reqwest policy applying [`decide`].
pub(super) fn policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| match decide(attempt.previous(), attempt.url()) {
        Ok(()) => attempt.follow(),
        Err(refused) => attempt.error(refused),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(list: &[&str]) -> Vec<url::Url> {
        list.iter().map(|u| url::Url::parse(u).unwrap()).collect()
    }

    #[test]
    fn decides_each_redirect_by_host_scheme_loop_and_count() {
        let five: Vec<String> = (0..5).map(|i| format!("https://a.example/{i}")).collect();
        let six: Vec<String> = (0..6).map(|i| format!("https://a.example/{i}")).collect();
        let five: Vec<&str> = five.iter().map(String::as_str).collect();
        let six: Vec<&str> = six.iter().map(String::as_str).collect();
        let cases: Vec<(Vec<&str>, &str, Result<(), RedirectRefused>)> = vec![
            (
                vec!["https://a.example/h"],
                "https://a.example/health",
                Ok(()),
            ),
            (vec!["http://a.example/h"], "https://a.example/h", Ok(())),
            (
                vec!["https://a.example/h"],
                "https://A.EXAMPLE:443/h2",
                Ok(()),
            ),
            (
                vec!["https://a.example/h"],
                "https://a.example:8443/h",
                Err(RedirectRefused::OtherPort("a.example:8443".into())),
            ),
            (
                vec!["http://a.example:8080/h"],
                "https://a.example/h",
                Err(RedirectRefused::OtherPort("a.example:443".into())),
            ),
            (
                vec!["https://a.example/h"],
                "https://evil.example/h",
                Err(RedirectRefused::OtherHost("evil.example".into())),
            ),
            (
                vec!["https://a.example/h"],
                "http://a.example/h",
                Err(RedirectRefused::Downgrade),
            ),
            (
                vec!["https://a.example/a", "https://a.example/b"],
                "https://a.example/a",
                Err(RedirectRefused::Loop("/b".into())),
            ),
            (five, "https://a.example/next", Ok(())),
            (six, "https://a.example/next", Err(RedirectRefused::TooMany)),
        ];
        for (previous, next, want) in cases {
            let next = url::Url::parse(next).unwrap();
            assert_eq!(
                decide(&urls(&previous), &next),
                want,
                "{previous:?} -> {next}"
            );
        }
    }

    #[test]
    fn refusals_read_as_reasons() {
        assert_eq!(
            RedirectRefused::OtherHost("evil.example".into()).to_string(),
            "redirect to another host (evil.example) not followed"
        );
        assert_eq!(
            RedirectRefused::TooMany.to_string(),
            "too many redirects (more than 5)"
        );
    }
}
