//! Resolving references: the [`SecretStore`] seam (SSM and Secrets Manager; the SDK-backed one is
//! `aws::secrets`), fetching each remote parameter or secret once, and the values validation
//! reads a reference's value from. Values are never formatted into a message.

use super::error::FetchError;
use super::reference::{Part, Reference};
use futures::StreamExt;
use std::collections::{BTreeSet, HashMap};
use std::future::Future;

/// A variable's value by name, for `${VAR}`.
pub(super) type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Parameters or secrets fetched at once while a config loads.
const FETCH_CONCURRENCY: usize = 8;

/// Where `${ssm:…}`, `${secretsmanager:…}` and `CANARY_CONFIG_SSM` are read from. The canary's
/// is `aws::secrets::AwsSecrets`; a test may hand in a map.
pub trait SecretStore: Sync {
    /// The value of SSM parameter `name` (a name or an ARN), decrypted.
    fn parameter(&self, name: &str) -> impl Future<Output = Result<String, FetchError>> + Send;
    /// The secret string of Secrets Manager secret `id` (a name or an ARN), current version.
    fn secret(&self, id: &str) -> impl Future<Output = Result<String, FetchError>> + Send;
}

/// One call to a store: per parameter or secret, whatever keys of it are referenced.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Fetch {
    Parameter(String),
    Secret(String),
}

impl Fetch {
    /// What `reference` needs fetched; `None` for an environment variable.
    fn of(reference: &Reference) -> Option<Fetch> {
        match reference {
            Reference::Env(_) => None,
            Reference::Ssm(name) => Some(Fetch::Parameter(name.clone())),
            Reference::SecretsManager { id, .. } => Some(Fetch::Secret(id.clone())),
        }
    }
}

/// Every remote value a config references, fetched once (the config keeps the values it needs
/// for the life of the process; this map is dropped once the config is built).
#[derive(Default)]
pub(super) struct Fetched(HashMap<Fetch, Result<String, FetchError>>);

/// Fetches every parameter and secret `references` name, each once, a few at a time.
pub(super) async fn fetch_all<'r>(
    references: impl IntoIterator<Item = &'r Reference>,
    store: &impl SecretStore,
) -> Fetched {
    let wanted: BTreeSet<Fetch> = references.into_iter().filter_map(Fetch::of).collect();
    let fetched = futures::stream::iter(wanted)
        .map(|f| async move {
            let value = match &f {
                Fetch::Parameter(name) => store.parameter(name).await,
                Fetch::Secret(id) => store.secret(id).await,
            };
            (f, value)
        })
        .buffer_unordered(FETCH_CONCURRENCY)
        .collect()
        .await;
    Fetched(fetched)
}

/// How validation sees references.
pub(super) enum Values<'a> {
    /// Each reference has its value: environment variables from `env`, the rest from `fetched`.
    Resolve {
        /// The environment.
        env: Lookup<'a>,
        /// What was fetched (empty when nothing could be).
        fetched: &'a Fetched,
    },
    /// References are checked for their syntax only and stay unresolved (`validate`).
    SyntaxOnly,
}

impl Values<'_> {
    /// The value of each reference in `parts`, in order: `Ok(Some)` when all have one, `Ok(None)`
    /// when references stay unresolved, `Err` naming each reference without a value and why
    /// (never a value).
    pub fn each(&self, parts: &[Part]) -> Result<Option<Vec<String>>, Vec<String>> {
        let Values::Resolve { env, fetched } = self else {
            return Ok(None);
        };
        let mut values = Vec::new();
        let mut missing = Vec::new();
        for part in parts {
            if let Part::Ref(r) = part {
                match value(r, *env, fetched) {
                    Ok(v) => values.push(v),
                    Err(why) => missing.push(format!("{r}, which is {why}")),
                }
            }
        }
        if missing.is_empty() {
            Ok(Some(values))
        } else {
            Err(missing)
        }
    }
}

/// The template with each reference (the i-th one) replaced by `with(i, reference)`.
pub(super) fn substitute(parts: &[Part], with: impl Fn(usize, &Reference) -> String) -> String {
    let mut out = String::new();
    let mut i = 0;
    for part in parts {
        match part {
            Part::Text(t) => out.push_str(t),
            Part::Ref(r) => {
                out.push_str(&with(i, r));
                i += 1;
            }
        }
    }
    out
}

/// One reference's value, or why it has none.
fn value(r: &Reference, env: Lookup, fetched: &Fetched) -> Result<String, String> {
    let (fetch, key) = match r {
        Reference::Env(name) => {
            return env(name).ok_or_else(|| "not set in the environment".to_string())
        }
        Reference::Ssm(name) => (Fetch::Parameter(name.clone()), None),
        Reference::SecretsManager { id, key } => (Fetch::Secret(id.clone()), key.as_deref()),
    };
    let Some(got) = fetched.0.get(&fetch) else {
        return Err("not fetched: this load reads no SSM parameter or secret".into());
    };
    let text = got.as_ref().map_err(ToString::to_string)?;
    match key {
        Some(key) => json_key(text, key),
        None => Ok(text.clone()),
    }
}

/// The string at `key` of a secret string that is a JSON object (numbers and booleans as their
/// JSON text). Errors describe the secret's shape, never its content.
fn json_key(secret: &str, key: &str) -> Result<String, String> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str(secret) else {
        return Err(format!(
            "a secret that is not a JSON object, so it has no key '{key}'"
        ));
    };
    match map.get(key) {
        None => Err(format!("a secret without the key '{key}'")),
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => Ok(v.to_string()),
        Some(_) => Err(format!(
            "a secret whose key '{key}' holds no string, number or boolean"
        )),
    }
}

/// A store over two maps that counts its calls (tests); the secret `denied` is access denied.
#[cfg(test)]
#[derive(Default)]
pub(super) struct MapStore {
    /// Parameters by name.
    pub parameters: HashMap<String, String>,
    /// Secret strings by id.
    pub secrets: HashMap<String, String>,
    /// Calls so far.
    pub calls: std::sync::atomic::AtomicUsize,
}

#[cfg(test)]
impl SecretStore for MapStore {
    async fn parameter(&self, name: &str) -> Result<String, FetchError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.parameters
            .get(name)
            .cloned()
            .ok_or(FetchError::NotFound)
    }
    async fn secret(&self, id: &str) -> Result<String, FetchError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        match id {
            "denied" => Err(FetchError::AccessDenied),
            _ => self.secrets.get(id).cloned().ok_or(FetchError::NotFound),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::config::reference::parse;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn store() -> MapStore {
        MapStore {
            parameters: [("/p/token".to_string(), "tok-1".to_string())].into(),
            secrets: [
                (
                    "creds".to_string(),
                    r#"{"user":"u","password":"pw-2","port":5432,"nested":{}}"#.to_string(),
                ),
                ("plain".to_string(), "just-text".to_string()),
            ]
            .into(),
            calls: AtomicUsize::new(0),
        }
    }

    fn refs(templates: &[&str]) -> Vec<Reference> {
        templates
            .iter()
            .flat_map(|t| crate::check::config::reference::references(t).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn fetches_each_parameter_and_secret_once_however_often_referenced() {
        let store = store();
        let all = refs(&[
            "${ssm:/p/token}",
            "x ${ssm:/p/token} ${secretsmanager:creds#user}",
            "${secretsmanager:creds#password} ${secretsmanager:creds} ${HOME}",
        ]);
        let fetched = fetch_all(&all, &store).await;
        assert_eq!(fetched.0.len(), 2);
        assert_eq!(store.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn renders_values_from_env_ssm_and_secrets_manager_keys() {
        let store = store();
        let parts = parse(
            "${ssm:/p/token}|${secretsmanager:creds#password}|${secretsmanager:creds#port}|${secretsmanager:plain}|${V}",
        )
        .unwrap();
        let all = refs(&["${ssm:/p/token} ${secretsmanager:creds} ${secretsmanager:plain}"]);
        let fetched = fetch_all(&all, &store).await;
        let env = |k: &str| (k == "V").then(|| "env-3".to_string());
        let values = Values::Resolve {
            env: &env,
            fetched: &fetched,
        };
        let got = values.each(&parts).unwrap().unwrap();
        assert_eq!(got, ["tok-1", "pw-2", "5432", "just-text", "env-3"]);
        assert_eq!(
            substitute(&parts, |i, _| got[i].clone()),
            "tok-1|pw-2|5432|just-text|env-3"
        );
        assert_eq!(Values::SyntaxOnly.each(&parts), Ok(None));
    }

    #[tokio::test]
    async fn each_missing_value_is_named_with_why_and_never_with_a_value() {
        let store = store();
        let template = "${ssm:/nope} ${secretsmanager:denied} ${secretsmanager:creds#missing} ${secretsmanager:creds#nested} ${secretsmanager:plain#k} ${UNSET} ${ssm:/p/token}";
        let parts = parse(template).unwrap();
        let fetched = fetch_all(&refs(&[template]), &store).await;
        let values = Values::Resolve {
            env: &|_| None,
            fetched: &fetched,
        };
        let errors = values.each(&parts).unwrap_err();
        assert_eq!(
            errors,
            vec![
                format!("${{ssm:/nope}}, which is {}", FetchError::NotFound),
                format!("${{secretsmanager:denied}}, which is {}", FetchError::AccessDenied),
                "${secretsmanager:creds#missing}, which is a secret without the key 'missing'".to_string(),
                "${secretsmanager:creds#nested}, which is a secret whose key 'nested' holds no string, number or boolean".to_string(),
                "${secretsmanager:plain#k}, which is a secret that is not a JSON object, so it has no key 'k'".to_string(),
                "${UNSET}, which is not set in the environment".to_string(),
            ]
        );
        for e in &errors {
            for secret in ["tok-1", "pw-2", "just-text", "5432", "\"u\""] {
                assert!(!e.contains(secret), "{e}");
            }
        }
    }

    #[test]
    fn remote_references_without_a_fetch_say_so() {
        let parts = parse("${ssm:/p/token}").unwrap();
        let none = Fetched::default();
        let values = Values::Resolve {
            env: &|_| None,
            fetched: &none,
        };
        let e = values.each(&parts).unwrap_err();
        assert!(e[0].contains("not fetched"), "{e:?}");
    }

    #[test]
    fn substitute_numbers_the_references_in_order() {
        let parts = parse("a${X}b${ssm:/y}c").unwrap();
        assert_eq!(
            substitute(&parts, |i, r| format!("[{i}:{r}]")),
            "a[0:${X}]b[1:${ssm:/y}]c"
        );
    }
}
