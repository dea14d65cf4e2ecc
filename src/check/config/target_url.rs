//! A target's URL (`targets[i].url`, raw → validated): http(s) with a host, the plain-http policy,
//! no credentials, and references (`${…}`) only in the path and the query. It comes out twice: as
//! sent (values filled in, percent-encoded so a value is always data, never structure) and as
//! shown in reports and alerts (each reference as written, never its value).

use super::problems::Problems;
use super::reference::{self, Part, Reference};
use super::secrets::{substitute, Values};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986's unreserved characters is encoded in a resolved value.
const VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A validated URL: what goes on the wire and what is shown.
pub(super) struct TargetUrl {
    /// The URL requested, with every reference's value in place.
    pub wire: reqwest::Url,
    /// The URL as reports show it: the wire URL with each reference as written.
    pub shown: String,
}

/// The target's URL from its configured `text`; `None` when it is not an http(s) URL with a host,
/// or a reference in it has no value (the problems say which).
pub(super) fn url(
    text: &str,
    allow_http: bool,
    values: &Values,
    p: &mut Problems,
) -> Option<TargetUrl> {
    let parts = match reference::parse(text.trim()) {
        Ok(parts) => parts,
        Err(e) => {
            p.push("url", e);
            return None;
        }
    };
    let marker = marker(text);
    let mark = |i: usize| format!("{marker}{i}x");
    let marked = checked(&substitute(&parts, |i, _| mark(i)), text, allow_http, p)?;
    let refs: Vec<&Reference> = parts
        .iter()
        .filter_map(|part| match part {
            Part::Ref(r) => Some(r),
            Part::Text(_) => None,
        })
        .collect();
    let mut shown = marked.to_string();
    for (i, r) in refs.iter().enumerate() {
        if !in_path_or_query(&marked, &mark(i)) {
            p.push("url", format!("{r} stands outside the path and the query: references may stand only there (never in the host, the port or credentials)"));
        }
        shown = shown.replace(&mark(i), &r.to_string());
    }
    let wire = match values.each(&parts) {
        Ok(Some(resolved)) => {
            let mut wire = marked.to_string();
            for (i, value) in resolved.iter().enumerate() {
                wire = wire.replace(&mark(i), &encode(value));
            }
            // Encoded values hold only unreserved characters and '%', so this parses as the
            // marked URL did; if it ever did not, the target is refused, never dropped.
            match reqwest::Url::parse(&wire) {
                Ok(wire) => wire,
                Err(_) => {
                    p.push("url", "is not a URL once its references are filled in");
                    return None;
                }
            }
        }
        // Syntax only: the marked URL stands in (it is never requested).
        Ok(None) => marked,
        Err(missing) => {
            for m in missing {
                p.push("url", format!("references {m}"));
            }
            return None;
        }
    };
    Some(TargetUrl { wire, shown })
}

/// An http(s) URL with a host; plain http only to loopback or when allowed; no credentials.
/// Messages quote `text`, the URL as configured. `None` when it is no such URL at all.
fn checked(marked: &str, text: &str, allow_http: bool, p: &mut Problems) -> Option<reqwest::Url> {
    let url = match reqwest::Url::parse(marked) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => u,
        Ok(u) => {
            p.push(
                "url",
                format!(
                    "'{text}' must be an http:// or https:// URL with a host (got scheme '{}')",
                    u.scheme()
                ),
            );
            return None;
        }
        Err(e) => {
            p.push("url", format!("'{text}' is not a URL: {e}"));
            return None;
        }
    };
    if url.scheme() == "http" && !allow_http && !is_loopback(&url) {
        p.push(
            "url",
            format!(
                "plain http to '{}' is refused: use https, or set \"allow_http\": true on the target (--allow-http on the CLI)",
                url.host_str().unwrap_or_default()
            ),
        );
    }
    if !url.username().is_empty() || url.password().is_some() {
        p.push(
            "url",
            "credentials in the URL would leak into reports and metrics: put them in a header that references a secret (${ssm:…}, ${secretsmanager:…} or ${VAR})",
        );
    }
    Some(url)
}

/// Whether the URL's host is loopback (plain http is always allowed there: local tests, sidecars).
fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// A marker for references that `text` does not contain: lowercase letters and digits, which
/// every part of a URL keeps as they are.
fn marker(text: &str) -> String {
    let mut marker = "hcref".to_string();
    while text.to_ascii_lowercase().contains(&marker) {
        marker.insert(0, 'z');
    }
    marker
}

/// Whether `mark` stands only in the path or the query of `url`.
fn in_path_or_query(url: &reqwest::Url, mark: &str) -> bool {
    let elsewhere = [
        url.host_str(),
        Some(url.username()),
        url.password(),
        url.fragment(),
    ];
    (url.path().contains(mark) || url.query().is_some_and(|q| q.contains(mark)))
        && !elsewhere.iter().flatten().any(|part| part.contains(mark))
}

/// A value as URL data: everything but unreserved characters percent-encoded.
fn encode(value: &str) -> String {
    utf8_percent_encode(value, VALUE).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::config::secrets::Fetched;

    fn resolve(
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> (Option<TargetUrl>, Vec<String>) {
        let fetched = Fetched::default();
        let values = Values::Resolve {
            env,
            fetched: &fetched,
        };
        let mut p = Problems::under("");
        let url = url(text, false, &values, &mut p);
        (url, p.into_messages())
    }

    #[test]
    fn a_url_without_references_is_shown_as_sent() {
        let (url, problems) = resolve("https://a.example/h?x=1", &|_| None);
        let url = url.unwrap();
        assert!(problems.is_empty());
        assert_eq!(url.wire.as_str(), "https://a.example/h?x=1");
        assert_eq!(url.shown, "https://a.example/h?x=1");
    }

    #[test]
    fn references_in_path_and_query_are_sent_encoded_and_shown_as_written() {
        let env = |k: &str| match k {
            "TOKEN" => Some("s3 cr&t/#?".to_string()),
            "TENANT" => Some("acme".to_string()),
            _ => None,
        };
        let (url, problems) = resolve(
            "https://a.example/t/${TENANT}/health?token=${TOKEN}&x=1",
            &env,
        );
        assert_eq!(problems, Vec::<String>::new());
        let url = url.unwrap();
        assert_eq!(
            url.wire.as_str(),
            "https://a.example/t/acme/health?token=s3%20cr%26t%2F%23%3F&x=1"
        );
        assert_eq!(url.wire.query_pairs().next().unwrap().1, "s3 cr&t/#?");
        assert_eq!(
            url.shown,
            "https://a.example/t/${TENANT}/health?token=${TOKEN}&x=1"
        );
    }

    #[test]
    fn references_outside_path_and_query_are_refused() {
        let env = |_: &str| Some("v".to_string());
        for text in [
            "https://${HOST}/h",
            "https://a.example/h#${FRAG}",
            "https://${USER}@a.example/h",
        ] {
            let (_, problems) = resolve(text, &env);
            assert!(
                problems
                    .iter()
                    .any(|m| m.contains("stands outside the path and the query")),
                "{text}: {problems:?}"
            );
        }
        let (_, problems) = resolve("https://a.example:${PORT}/h", &env);
        assert!(problems[0].contains("is not a URL"), "{problems:?}");
    }

    #[test]
    fn a_reference_without_a_value_is_named_and_the_target_is_not_built() {
        let (url, problems) = resolve("https://a.example/h?t=${NOPE}", &|_| None);
        assert!(url.is_none());
        assert_eq!(
            problems,
            vec!["url: references ${NOPE}, which is not set in the environment"]
        );
    }

    #[test]
    fn syntax_only_checks_the_url_around_the_references() {
        let mut p = Problems::under("");
        let url = url(
            "https://a.example/h?t=${ssm:/x}",
            false,
            &Values::SyntaxOnly,
            &mut p,
        )
        .unwrap();
        assert!(p.is_empty());
        assert_eq!(url.shown, "https://a.example/h?t=${ssm:/x}");
    }

    #[test]
    fn the_marker_never_occurs_in_the_url_itself() {
        assert_eq!(marker("https://a/"), "hcref");
        assert_eq!(marker("https://a/HCREF"), "zhcref");
        assert_eq!(marker("https://a/hcref/zhcref"), "zzhcref");
    }
}
