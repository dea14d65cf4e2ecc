//! The shipped JSON Schema (`config/canary.schema.json`) and the parser agree on real configs:
//! every example (the fixtures, the configs in `config/`, the JSON config examples in the docs)
//! validates against the schema and passes `validate`, and every invalid fixture is rejected by
//! both. (That the schema's keys are exactly the parser's is a unit test beside the raw types.)

use health_canary::check::config::{self, ConfigError, FetchError, SecretStore, Settings};
use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("config/canary.schema.json")).expect("schema");
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::draft202012::new(&schema).expect("the schema compiles")
}

/// `validate` reads no secret; a config from SSM is not what these tests give.
struct NoStore;

impl SecretStore for NoStore {
    async fn parameter(&self, _: &str) -> Result<String, FetchError> {
        Err(FetchError::Failed("no SSM in this test".into()))
    }
    async fn secret(&self, _: &str) -> Result<String, FetchError> {
        Err(FetchError::Failed("no Secrets Manager in this test".into()))
    }
}

/// What `health-canary validate --config FILE` decides about `path`.
async fn parser(path: &Path) -> Result<config::Checked, ConfigError> {
    let settings = Settings {
        config_file: Some(path.to_string_lossy().into_owned()),
        ..Settings::default()
    };
    config::check_settings(&settings, &NoStore).await
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    files
}

/// The ```json blocks of a Markdown text that are configs (objects whose `targets` list URLs).
fn config_examples(markdown: &str) -> Vec<Value> {
    let mut examples = Vec::new();
    let mut block: Option<String> = None;
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(lang))) if &*lang == "json" => {
                block = Some(String::new())
            }
            Event::Text(text) => {
                if let Some(b) = block.as_mut() {
                    b.push_str(&text)
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some(Ok(v)) = block.take().map(|b| serde_json::from_str::<Value>(&b)) {
                    let targets = v.get("targets").and_then(Value::as_array);
                    if targets.is_some_and(|t| t.iter().all(|t| t.get("url").is_some())) {
                        examples.push(v);
                    }
                }
            }
            _ => {}
        }
    }
    examples
}

#[tokio::test]
async fn every_example_config_validates_against_the_schema_and_loads() {
    let schema = validator();
    let dir = tempfile::tempdir().unwrap();
    let mut examples: Vec<(String, PathBuf)> =
        json_files(&root().join("tests/fixtures/configs/valid"))
            .into_iter()
            .chain(json_files(&root().join("config")))
            .filter(|p| !p.ends_with("canary.schema.json"))
            .map(|p| (p.display().to_string(), p))
            .collect();
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    docs.push(root().join("README.md"));
    for page in docs
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
    {
        let text = std::fs::read_to_string(page).unwrap();
        for (i, example) in config_examples(&text).into_iter().enumerate() {
            let path = dir.path().join(format!("doc-{}-{i}.json", examples.len()));
            std::fs::write(&path, example.to_string()).unwrap();
            examples.push((format!("{} example {}", page.display(), i + 1), path));
        }
    }
    let from_docs = examples.iter().filter(|(n, _)| n.contains(".md ")).count();
    assert!(
        from_docs >= 1,
        "the docs show at least one config: {examples:?}"
    );
    assert!(examples.len() >= 4, "{examples:?}");
    for (name, path) in &examples {
        let value: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let errors: Vec<String> = schema.iter_errors(&value).map(|e| e.to_string()).collect();
        assert!(
            errors.is_empty(),
            "{name}: the schema refuses it: {errors:?}"
        );
        let checked = parser(path).await;
        assert!(
            checked.is_ok(),
            "{name}: the parser refuses it: {checked:?}"
        );
    }
}

#[tokio::test]
async fn every_invalid_fixture_is_refused_by_the_schema_and_the_parser() {
    // What the parser says about each, so a refusal for another reason does not count.
    let expected = [
        ("aws-namespace", "not a valid CloudWatch namespace"),
        ("bad-severity", "severity 'INFO' must be FAIL or WARN"),
        ("bad-status", "is not an HTTP status"),
        ("empty-targets", "no targets"),
        ("missing-url", "missing field `url`"),
        ("no-targets", "no targets"),
        ("not-http", "must be an http:// or https:// URL"),
        ("retries-out-of-range", "retries: 9 is out of range"),
        ("topic-not-an-arn", "is not an SNS topic ARN"),
        ("unknown-alerts-key", "unknown field `topic`"),
        ("unknown-format", "'yaml' is not a format"),
        ("unknown-key", "unknown field `timout_seconds`"),
        ("unsupported-method", "'DELETE' is not supported"),
        ("wrong-type", "invalid type: string \"many\""),
        ("zero-timeout", "timeout_seconds: 0 is out of range"),
    ];
    let files = json_files(&root().join("tests/fixtures/configs/invalid"));
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        expected
            .iter()
            .map(|(n, _)| n.to_string())
            .collect::<Vec<_>>(),
        "every invalid fixture has an expected message"
    );
    let schema = validator();
    for (path, (name, want)) in files.iter().zip(expected) {
        let value: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert!(!schema.is_valid(&value), "{name}: the schema accepts it");
        let e = parser(path).await.expect_err(name).to_string();
        assert!(e.contains(want), "{name}: {e}");
    }
}
