//! Validating one target (`targets[i]`, raw → [`Target`]), one function per concern: URL and
//! plain-http policy, name, method, headers and `${VAR}` interpolation, timeout, expected
//! statuses, format, conditions, retries / delay / body cap, CA file.

use super::defaults::{
    DEFAULT_CRITICAL, DEFAULT_EXPECTED_STATUS, DEFAULT_MAX_BODY_BYTES, DEFAULT_METHOD,
    DEFAULT_RETRIES, DEFAULT_RETRY_DELAY_MS, DEFAULT_TIMEOUT_SECONDS, MAX_BODY_BYTES_LIMIT,
    MAX_TIMEOUT_SECONDS, RETRIES_RANGE, RETRY_DELAY_MS_RANGE,
};
use super::model::{Secret, StatusRange, Target};
use super::problems::Problems;
use super::raw::{RawCondition, RawStatus, RawTarget};
use crate::check::condition::Condition;
use crate::check::formats::Format;
use crate::check::report::Status;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// A variable's value by name, for `${VAR}` in header values.
pub(super) type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Validates `targets[index]`; `Err` holds every problem found, each naming its field.
pub(super) fn validate_target(
    index: usize,
    t: RawTarget,
    allow_http_everywhere: bool,
    env: Lookup,
) -> Result<Target, Vec<String>> {
    let mut p = Problems::under(format!("targets[{index}]."));
    let allow_http = allow_http_everywhere || t.allow_http.unwrap_or(false);
    let url = url(&t.url, allow_http, &mut p);
    let name = name(t.name, url.as_ref(), index, &mut p);
    let method = method(t.method.as_deref(), &mut p);
    let headers = headers(t.headers, env, &mut p);
    let timeout = timeout(t.timeout_seconds, &mut p);
    let expected_statuses = expected_statuses(t.expected_status, &mut p);
    let format = format(t.format.as_deref(), &mut p);
    let conditions = conditions(t.conditions, &mut p);
    let limits = limits(t.retries, t.retry_delay_ms, t.max_body_bytes, &mut p);
    let ca_file = ca_file(t.ca_file, &mut p);
    match url {
        Some(url) if p.is_empty() => Ok(Target {
            name,
            url,
            method,
            headers,
            timeout,
            expected_statuses,
            format,
            conditions,
            critical: t.critical.unwrap_or(DEFAULT_CRITICAL),
            retries: limits.retries,
            retry_delay: limits.retry_delay,
            max_body_bytes: limits.max_body_bytes,
            allow_http,
            hints: t.hints,
            ca_file,
        }),
        _ => Err(p.into_messages()),
    }
}

/// An http(s) URL with a host; plain http only to loopback or when allowed; no credentials.
/// `None` when it is not such a URL at all (then the target cannot be built).
fn url(text: &str, allow_http: bool, p: &mut Problems) -> Option<reqwest::Url> {
    let url = match reqwest::Url::parse(text.trim()) {
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
            "credentials in the URL would leak into reports and metrics: put them in a header that references an environment variable",
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

/// The given name, else the URL's host, else `target-{index}`.
fn name(
    given: Option<String>,
    url: Option<&reqwest::Url>,
    index: usize,
    p: &mut Problems,
) -> String {
    let name = given.unwrap_or_else(|| {
        url.and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| format!("target-{index}"))
    });
    p.check_name("name", &name);
    name
}

/// GET (the default), HEAD or POST, in any case.
fn method(given: Option<&str>, p: &mut Problems) -> reqwest::Method {
    match given
        .unwrap_or(DEFAULT_METHOD)
        .to_ascii_uppercase()
        .as_str()
    {
        "GET" => reqwest::Method::GET,
        "HEAD" => reqwest::Method::HEAD,
        "POST" => reqwest::Method::POST,
        other => {
            p.push(
                "method",
                format!("'{other}' is not supported, use GET, HEAD or POST"),
            );
            reqwest::Method::GET
        }
    }
}

/// Valid header names with `${VAR}` resolved through `env`; the values become secrets.
fn headers(raw: BTreeMap<String, String>, env: Lookup, p: &mut Problems) -> Vec<(String, Secret)> {
    let mut headers = Vec::new();
    for (k, v) in raw {
        if reqwest::header::HeaderName::from_bytes(k.as_bytes()).is_err() {
            p.push("headers", format!("'{k}' is not a valid header name"));
            continue;
        }
        match interpolate(&v, env) {
            Ok(value) if reqwest::header::HeaderValue::from_str(&value).is_ok() => {
                headers.push((k, Secret::new(value)))
            }
            // The resolved value may be a secret, so it is never quoted.
            Ok(_) => p.push(
                "headers",
                format!("the value of '{k}' is not a valid header value (control characters?)"),
            ),
            Err(var) => p.push(
                "headers",
                format!(
                    "the value of '{k}' references ${{{var}}}, which is not set in the environment"
                ),
            ),
        }
    }
    headers
}

/// Replaces `${VAR}` with the variable's value; `Err(VAR)` names the first unset one. An opening
/// `${` without its `}` stays as it is.
fn interpolate(template: &str, env: Lookup) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let var = &after[..end];
        out.push_str(&env(var).ok_or_else(|| var.to_string())?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// More than 0 and at most [`MAX_TIMEOUT_SECONDS`].
fn timeout(given: Option<f64>, p: &mut Problems) -> Duration {
    let seconds = given.unwrap_or(DEFAULT_TIMEOUT_SECONDS);
    if seconds.is_finite() && seconds > 0.0 && seconds <= MAX_TIMEOUT_SECONDS {
        Duration::from_secs_f64(seconds)
    } else {
        p.push(
            "timeout_seconds",
            format!("{seconds} is out of range, use more than 0 and at most {MAX_TIMEOUT_SECONDS} seconds"),
        );
        Duration::from_secs_f64(DEFAULT_TIMEOUT_SECONDS)
    }
}

/// Codes and classes; 2xx when none are given.
fn expected_statuses(given: Option<Vec<RawStatus>>, p: &mut Problems) -> Vec<StatusRange> {
    let mut ranges = Vec::new();
    for s in given.unwrap_or_default() {
        match parse_status_range(&s) {
            Some(r) => ranges.push(r),
            None => p.push(
                "expected_status",
                format!("{s:?} is not an HTTP status: use a code 100-599 or a class like \"2xx\""),
            ),
        }
    }
    if ranges.is_empty() {
        let (low, high) = DEFAULT_EXPECTED_STATUS;
        ranges.push(StatusRange { low, high });
    }
    ranges
}

/// `200` or `"200"` (one code, 100-599), `"2xx"` (a class, 1xx-5xx).
fn parse_status_range(s: &RawStatus) -> Option<StatusRange> {
    match s {
        RawStatus::Code(c) if (100..=599).contains(c) => Some(StatusRange { low: *c, high: *c }),
        RawStatus::Code(_) => None,
        RawStatus::Pattern(p) => {
            let p = p.trim().to_ascii_lowercase();
            if let Some(class) = p.strip_suffix("xx") {
                let d: u16 = class.parse().ok().filter(|d| (1..=5).contains(d))?;
                Some(StatusRange {
                    low: d * 100,
                    high: d * 100 + 99,
                })
            } else {
                let c: u16 = p.parse().ok().filter(|c| (100..=599).contains(c))?;
                Some(StatusRange { low: c, high: c })
            }
        }
    }
}

/// A forced format by name; `auto` or nothing means detect.
fn format(given: Option<&str>, p: &mut Problems) -> Option<Format> {
    let name = given.filter(|n| *n != "auto")?;
    let format = Format::from_name(name);
    if format.is_none() {
        let names: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
        p.push(
            "format",
            format!(
                "'{name}' is not a format, use auto or one of {}",
                names.join(", ")
            ),
        );
    }
    format
}

/// Each condition parsed, with its severity (FAIL unless it says WARN).
fn conditions(raw: Vec<RawCondition>, p: &mut Problems) -> Vec<Condition> {
    let mut conditions = Vec::new();
    for (j, c) in raw.into_iter().enumerate() {
        let field = format!("conditions[{j}]");
        let (expr, severity) = match c {
            RawCondition::Expr(e) => (e, None),
            RawCondition::Full(f) => (f.expr, f.severity),
        };
        let severity = match severity.as_deref().map(str::to_ascii_uppercase).as_deref() {
            None | Some("FAIL") => Status::Fail,
            Some("WARN") => Status::Warn,
            Some(other) => {
                p.push(&field, format!("severity '{other}' must be FAIL or WARN"));
                Status::Fail
            }
        };
        match Condition::parse(&expr, severity) {
            Ok(c) => conditions.push(c),
            Err(e) => p.push(&field, e),
        }
    }
    conditions
}

/// How hard the probe tries and how much it reads.
struct Limits {
    retries: u32,
    retry_delay: Duration,
    max_body_bytes: usize,
}

/// Confirmation retries, the delay before one, and the body cap, each within its range.
fn limits(
    retries: Option<u32>,
    retry_delay_ms: Option<u64>,
    max_body_bytes: Option<usize>,
    p: &mut Problems,
) -> Limits {
    let retries = retries.unwrap_or(DEFAULT_RETRIES);
    p.check_range("retries", &retries, &RETRIES_RANGE);
    let retry_delay_ms = retry_delay_ms.unwrap_or(DEFAULT_RETRY_DELAY_MS);
    p.check_range("retry_delay_ms", &retry_delay_ms, &RETRY_DELAY_MS_RANGE);
    let max_body_bytes = max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES);
    p.check_range(
        "max_body_bytes",
        &max_body_bytes,
        &(1..=MAX_BODY_BYTES_LIMIT),
    );
    Limits {
        retries,
        retry_delay: Duration::from_millis(retry_delay_ms),
        max_body_bytes,
    }
}

/// A readable file holding at least one PEM certificate.
fn ca_file(given: Option<String>, p: &mut Problems) -> Option<PathBuf> {
    let path = PathBuf::from(given?);
    match std::fs::read(&path) {
        Ok(pem) => match reqwest::Certificate::from_pem_bundle(&pem) {
            Ok(certs) if !certs.is_empty() => {}
            _ => p.push(
                "ca_file",
                format!(
                    "'{}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                    path.display()
                ),
            ),
        },
        Err(e) => p.push("ca_file", format!("cannot read '{}': {e}", path.display())),
    }
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolate_resolves_each_reference_and_names_the_first_unset_one() {
        let env = |k: &str| match k {
            "A" => Some("1".to_string()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        assert_eq!(interpolate("x${A}y${EMPTY}z", &env).as_deref(), Ok("x1yz"));
        assert_eq!(interpolate("${A}${NOPE}${GONE}", &env), Err("NOPE".into()));
        assert_eq!(interpolate("open ${A", &env).as_deref(), Ok("open ${A"));
    }

    #[test]
    fn status_ranges_accept_codes_and_classes_only() {
        let range = |s: RawStatus| parse_status_range(&s).map(|r| (r.low, r.high));
        assert_eq!(range(RawStatus::Code(204)), Some((204, 204)));
        assert_eq!(range(RawStatus::Pattern(" 3XX ".into())), Some((300, 399)));
        assert_eq!(range(RawStatus::Pattern("418".into())), Some((418, 418)));
        assert_eq!(range(RawStatus::Code(600)), None);
        assert_eq!(range(RawStatus::Pattern("6xx".into())), None);
        assert_eq!(range(RawStatus::Pattern("ok".into())), None);
    }

    #[test]
    fn an_out_of_range_timeout_is_reported_without_panicking() {
        for bad in [f64::NAN, f64::INFINITY, -1.0, 0.0, 121.0] {
            let mut p = Problems::under("");
            timeout(Some(bad), &mut p);
            assert!(!p.is_empty(), "{bad} must be refused");
        }
    }
}
