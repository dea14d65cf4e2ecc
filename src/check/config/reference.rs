//! Secret references inside header values and URLs (`${VAR}`, `${ssm:/name}`,
//! `${secretsmanager:id#key}`): parsing a template into text and references, and the reference
//! itself. Pure: fetching is `secrets`' job, and only through a [`SecretStore`](super::SecretStore).

use std::fmt;

/// One `${…}` reference, as written in the config.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reference {
    /// `${VAR}`: a variable of the canary's environment.
    Env(String),
    /// `${ssm:/path/name}`: an SSM parameter's value, decrypted (a name or an ARN).
    Ssm(String),
    /// `${secretsmanager:name-or-arn#json-key}`: a Secrets Manager secret string, or one key of
    /// it when the secret string is a JSON object.
    SecretsManager {
        /// The secret's name or ARN.
        id: String,
        /// The JSON key, when the reference names one.
        key: Option<String>,
    },
}

impl fmt::Display for Reference {
    /// The reference as written (`${ssm:/name}`): what messages and reports show, never its value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Env(name) => write!(f, "${{{name}}}"),
            Reference::Ssm(name) => write!(f, "${{{SSM}:{name}}}"),
            Reference::SecretsManager { id, key: None } => write!(f, "${{{SECRETS_MANAGER}:{id}}}"),
            Reference::SecretsManager { id, key: Some(k) } => {
                write!(f, "${{{SECRETS_MANAGER}:{id}#{k}}}")
            }
        }
    }
}

/// The prefix of an SSM reference.
const SSM: &str = "ssm";
/// The prefix of a Secrets Manager reference.
const SECRETS_MANAGER: &str = "secretsmanager";
/// Longest SSM parameter name or ARN, and longest secret name or ARN we accept.
const MAX_ID_LEN: usize = 2048;

/// A piece of a template: literal text, or a reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// Literal text, kept as it is.
    Text(String),
    /// A `${…}` reference.
    Ref(Reference),
}

/// Splits a header value or URL into text and references; `Err` says what is wrong with a
/// reference (its text only). An opening `${` without its `}` stays text, as before references
/// had kinds.
pub fn parse(template: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            break;
        };
        if start > 0 {
            parts.push(Part::Text(rest[..start].to_string()));
        }
        parts.push(Part::Ref(reference(&after[..end])?));
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_string()));
    }
    Ok(parts)
}

/// The references of `template`, in order (duplicates kept); `Err` as for [`parse`].
pub fn references(template: &str) -> Result<Vec<Reference>, String> {
    Ok(parse(template)?
        .into_iter()
        .filter_map(|p| match p {
            Part::Ref(r) => Some(r),
            Part::Text(_) => None,
        })
        .collect())
}

/// One reference's inside (between `${` and `}`).
fn reference(inner: &str) -> Result<Reference, String> {
    let Some((kind, rest)) = inner.split_once(':') else {
        return match inner.trim() {
            "" => Err(
                "'${}' names nothing: use ${VAR}, ${ssm:/name} or ${secretsmanager:id#key}".into(),
            ),
            _ => Ok(Reference::Env(inner.to_string())),
        };
    };
    match kind {
        SSM => {
            check_id(inner, rest, is_ssm_char, "letters, digits and _ . - / :")?;
            Ok(Reference::Ssm(rest.to_string()))
        }
        SECRETS_MANAGER => {
            let (id, key) = match rest.split_once('#') {
                Some((_, "")) => {
                    return Err(format!("'${{{inner}}}' has an empty key after '#': name one, or leave out the '#'"))
                }
                Some((id, key)) => (id, Some(key.to_string())),
                None => (rest, None),
            };
            check_id(inner, id, is_secret_char, "letters, digits and / _ + = . @ - :")?;
            Ok(Reference::SecretsManager {
                id: id.to_string(),
                key,
            })
        }
        other => Err(format!(
            "'${{{inner}}}' has an unknown kind '{other}': use ${{VAR}}, ${{ssm:/name}} or ${{secretsmanager:id#key}}"
        )),
    }
}

/// A parameter or secret name (or ARN): not empty, not too long, only the characters AWS allows.
fn check_id(inner: &str, id: &str, allowed: fn(char) -> bool, what: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err(format!("'${{{inner}}}' names nothing after the ':'"));
    }
    if id.len() > MAX_ID_LEN {
        return Err(format!(
            "'${{{inner}}}' is longer than {MAX_ID_LEN} characters"
        ));
    }
    if let Some(c) = id.chars().find(|c| !allowed(*c)) {
        return Err(format!(
            "'${{{inner}}}' holds '{c}', which a name cannot: use {what}"
        ));
    }
    Ok(())
}

/// SSM parameter names: `a-zA-Z0-9_.-` and `/` for the hierarchy; `:` for ARNs and versions.
fn is_ssm_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_.-/:".contains(c)
}

/// Secrets Manager names: alphanumerics and `/_+=.@-`; `:` for ARNs.
fn is_secret_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/_+=.@-:".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Part {
        Part::Text(s.into())
    }

    #[test]
    fn splits_text_and_each_kind_of_reference() {
        let parts = parse("Bearer ${TOKEN} ${ssm:/prod/api-key}|${secretsmanager:svc/creds#password}${secretsmanager:arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf}").unwrap();
        assert_eq!(
            parts,
            vec![
                text("Bearer "),
                Part::Ref(Reference::Env("TOKEN".into())),
                text(" "),
                Part::Ref(Reference::Ssm("/prod/api-key".into())),
                text("|"),
                Part::Ref(Reference::SecretsManager {
                    id: "svc/creds".into(),
                    key: Some("password".into())
                }),
                Part::Ref(Reference::SecretsManager {
                    id: "arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf".into(),
                    key: None
                }),
            ]
        );
    }

    #[test]
    fn an_unclosed_opening_stays_text() {
        assert_eq!(
            parse("a ${B} open ${C").unwrap(),
            vec![
                text("a "),
                Part::Ref(Reference::Env("B".into())),
                text(" open ${C")
            ]
        );
        assert_eq!(parse("").unwrap(), vec![]);
    }

    #[test]
    fn displays_each_reference_as_written() {
        for written in [
            "${TOKEN}",
            "${ssm:/prod/api-key}",
            "${secretsmanager:svc/creds}",
            "${secretsmanager:svc/creds#password}",
        ] {
            let refs = references(written).unwrap();
            assert_eq!(refs.len(), 1, "{written}");
            assert_eq!(refs[0].to_string(), written);
        }
    }

    #[test]
    fn malformed_references_are_refused_naming_the_reference() {
        let cases = [
            ("${}", "names nothing"),
            ("${ssm:}", "names nothing after the ':'"),
            ("${ssm:/a b}", "holds ' '"),
            ("${secretsmanager:#key}", "names nothing after the ':'"),
            ("${secretsmanager:creds#}", "has an empty key after '#'"),
            ("${secretsmanager:cr*ds}", "holds '*'"),
            ("${vault:/x}", "unknown kind 'vault'"),
        ];
        for (template, want) in cases {
            let e = parse(template).unwrap_err();
            assert!(e.contains(want), "{template}: {e}");
            let inner = &template[2..template.len() - 1];
            assert!(e.contains(inner), "{template}: {e}");
        }
        let long = format!("${{ssm:/{}}}", "a".repeat(MAX_ID_LEN));
        assert!(parse(&long).unwrap_err().contains("longer than"));
    }
}
