//! Where the config comes from: exactly one of a file (`--config`, `CANARY_CONFIG_FILE`), inline
//! JSON (`CANARY_CONFIG`), an SSM parameter (`CANARY_CONFIG_SSM`) or one URL (`--url`,
//! `CANARY_URL`), chosen from the settings and read into the raw shape.

use super::env::Settings;
use super::error::ConfigError;
use super::raw::{self, RawConfig, RawTarget};
use super::secrets::SecretStore;

/// The one place the config comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Source {
    /// A JSON file at this path.
    File(String),
    /// The JSON itself (`CANARY_CONFIG`).
    Inline(String),
    /// The name of an SSM parameter holding the JSON.
    Ssm(String),
    /// Simple mode: one URL, every other setting from overrides or defaults.
    Url(String),
}

/// How each source is named in messages, in the order they are listed.
const FILE: &str = "a config file (--config or CANARY_CONFIG_FILE)";
const INLINE: &str = "CANARY_CONFIG";
const SSM: &str = "CANARY_CONFIG_SSM";
const URL: &str = "a URL (--url or CANARY_URL)";

impl Source {
    /// The source `settings` give; an error when they give none, or more than one (naming each).
    pub(super) fn choose(settings: &Settings) -> Result<Source, ConfigError> {
        let given: Vec<(&'static str, Source)> = [
            (FILE, settings.config_file.clone().map(Source::File)),
            (INLINE, settings.config_json.clone().map(Source::Inline)),
            (SSM, settings.config_ssm.clone().map(Source::Ssm)),
            (URL, settings.overrides.url.clone().map(Source::Url)),
        ]
        .into_iter()
        .filter_map(|(name, source)| Some((name, source?)))
        .collect();
        match <[_; 1]>::try_from(given) {
            Ok([(_, source)]) => Ok(source),
            Err(given) if given.is_empty() => Err(ConfigError::Missing),
            Err(given) => Err(ConfigError::Sources(
                given.into_iter().map(|(name, _)| name).collect(),
            )),
        }
    }

    /// Where the config came from, for a summary line (`config file canary.json`).
    pub(super) fn describe(&self) -> String {
        match self {
            Source::File(path) => format!("config file {path}"),
            Source::Inline(_) => "the config in CANARY_CONFIG".to_string(),
            Source::Ssm(name) => format!("the config in SSM parameter {name}"),
            Source::Url(_) => "the URL".to_string(),
        }
    }

    /// The raw config, reading the file or fetching the parameter from `store`.
    pub(super) async fn read(&self, store: &impl SecretStore) -> Result<RawConfig, ConfigError> {
        match self {
            Source::Ssm(name) => {
                let text =
                    store
                        .parameter(name)
                        .await
                        .map_err(|source| ConfigError::Parameter {
                            name: name.clone(),
                            source,
                        })?;
                parse(&text, &format!("in SSM parameter {name}"))
            }
            local => local.read_local(),
        }
    }

    /// The raw config of a file, inline JSON or a URL; an SSM source cannot be read without a
    /// store and says so.
    pub(super) fn read_local(&self) -> Result<RawConfig, ConfigError> {
        match self {
            Source::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                parse(&text, &format!("file {path}"))
            }
            Source::Inline(json) => parse(json, "in CANARY_CONFIG"),
            Source::Url(url) => Ok(RawConfig {
                targets: vec![RawTarget {
                    url: url.clone(),
                    ..RawTarget::default()
                }],
                ..RawConfig::default()
            }),
            Source::Ssm(name) => Err(ConfigError::Parameter {
                name: name.clone(),
                source: super::error::FetchError::Failed("this load reads no SSM parameter".into()),
            }),
        }
    }
}

/// The raw config in `text`; a syntax error names `origin`.
fn parse(text: &str, origin: &str) -> Result<RawConfig, ConfigError> {
    raw::parse(text).map_err(|message| ConfigError::Syntax {
        origin: origin.to_string(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(&|k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    #[test]
    fn each_source_alone_is_chosen() {
        let cases = [
            ("CANARY_CONFIG_FILE", Source::File("c.json".into())),
            ("CANARY_CONFIG", Source::Inline("c.json".into())),
            ("CANARY_CONFIG_SSM", Source::Ssm("c.json".into())),
            ("CANARY_URL", Source::Url("c.json".into())),
        ];
        for (var, want) in cases {
            assert_eq!(Source::choose(&settings(&[(var, "c.json")])).unwrap(), want);
        }
    }

    #[test]
    fn none_is_missing_and_several_are_named_together() {
        assert!(matches!(
            Source::choose(&settings(&[])),
            Err(ConfigError::Missing)
        ));
        let e = Source::choose(&settings(&[
            ("CANARY_URL", "https://a/"),
            ("CANARY_CONFIG_SSM", "/canary/config"),
            ("CANARY_CONFIG_FILE", "c.json"),
        ]))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "several config sources given (a config file (--config or CANARY_CONFIG_FILE), CANARY_CONFIG_SSM, a URL (--url or CANARY_URL)): give exactly one"
        );
        // Empty values are unset (SAM passes unset parameters as ""), so they never conflict.
        let one = settings(&[("CANARY_CONFIG", ""), ("CANARY_CONFIG_SSM", "/c")]);
        assert_eq!(Source::choose(&one).unwrap(), Source::Ssm("/c".into()));
    }

    #[test]
    fn a_url_source_is_one_target_with_every_default() {
        let raw = Source::Url("https://a.example/h".into())
            .read_local()
            .unwrap();
        assert_eq!(raw.targets.len(), 1);
        assert_eq!(raw.targets[0].url, "https://a.example/h");
        assert!(raw.canary.is_none());
    }
}
