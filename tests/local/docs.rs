//! The documentation holds together: every relative link in every tracked Markdown file resolves
//! to a tracked file (and an `#anchor` to a heading of the Markdown file it names, with GitHub's
//! slugs), and README.md stays a short front page that links every page of docs/.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// README.md is a front page; everything longer belongs in docs/.
const README_MAX_LINES: usize = 200;

/// GitHub-flavoured Markdown as GitHub renders it (tables change what counts as a paragraph).
fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// Every link and image destination in a Markdown text, in order. Code spans and code blocks
/// are not links; reference-style links are resolved by the parser.
fn link_destinations(markdown: &str) -> Vec<String> {
    Parser::new_ext(markdown, options())
        .filter_map(|event| match event {
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                Some(dest_url.to_string())
            }
            _ => None,
        })
        .collect()
}

/// The anchors GitHub gives the headings of a Markdown text: the heading's text (code spans
/// included, markup dropped) slugged, with `-1`, `-2`, … for repeats.
fn heading_anchors(markdown: &str) -> BTreeSet<String> {
    let mut slugger = github_slugger::Slugger::default();
    let mut anchors = BTreeSet::new();
    let mut heading: Option<String> = None;
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = heading.as_mut() {
                    h.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some(h) = heading.take() {
                    anchors.insert(slugger.slug(&h));
                }
            }
            _ => {}
        }
    }
    anchors
}

/// Whether a destination leaves the repository (a URL with a scheme, or protocol-relative).
fn is_external(dest: &str) -> bool {
    let scheme_end = dest.find(':');
    let path_start = dest.find(['/', '?', '#']);
    dest.starts_with("//")
        || matches!((scheme_end, path_start), (Some(c), Some(p)) if c < p)
        || matches!((scheme_end, path_start), (Some(_), None))
}

/// `base_dir/relative` with `.` and `..` resolved lexically, as a repository path with `/`;
/// `None` when it climbs out of the repository. A leading `/` starts at the repository root.
fn resolve(base_dir: &str, relative: &str) -> Option<String> {
    let mut parts: Vec<&str> = if relative.starts_with('/') {
        Vec::new()
    } else {
        base_dir.split('/').filter(|p| !p.is_empty()).collect()
    };
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// Every broken relative link in `docs` (repository path → Markdown text), each as
/// `file: link: what is wrong`. `tracked` is every file in the repository.
fn broken_links(docs: &BTreeMap<String, String>, tracked: &BTreeSet<String>) -> Vec<String> {
    let mut problems = Vec::new();
    for (file, text) in docs {
        let dir = file.rsplit_once('/').map_or("", |(d, _)| d);
        for dest in link_destinations(text) {
            if is_external(&dest) {
                continue;
            }
            if let Err(why) = check_link(file, dir, &dest, docs, tracked) {
                problems.push(format!("{file}: ({dest}): {why}"));
            }
        }
    }
    problems
}

/// Checks one relative destination of `file` (which lives in `dir`).
fn check_link(
    file: &str,
    dir: &str,
    dest: &str,
    docs: &BTreeMap<String, String>,
    tracked: &BTreeSet<String>,
) -> Result<(), String> {
    let (path, anchor) = match dest.split_once('#') {
        Some((p, a)) => (p, Some(a)),
        None => (dest, None),
    };
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    let path = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .map_err(|e| format!("the path is not UTF-8 after percent-decoding: {e}"))?;
    let target = if path.is_empty() {
        file.to_string()
    } else {
        resolve(dir, &path).ok_or("the path climbs out of the repository")?
    };
    let dir_prefix = format!("{target}/");
    let is_dir = target.is_empty() || tracked.iter().any(|t| t.starts_with(&dir_prefix));
    if !tracked.contains(&target) && !is_dir {
        return Err(format!("{target} is not a file in the repository"));
    }
    let Some(anchor) = anchor else { return Ok(()) };
    let Some(text) = docs.get(&target) else {
        return Err(format!(
            "#{anchor} points into {target}, which is not a tracked Markdown file"
        ));
    };
    if heading_anchors(text).contains(anchor) {
        Ok(())
    } else {
        Err(format!("{target} has no heading with the anchor #{anchor}"))
    }
}

/// Files git tracks in this checkout, as repository paths.
fn tracked_files(root: &Path) -> BTreeSet<String> {
    let out = Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root)
        .output()
        .expect("git must be installed to list the tracked Markdown files");
    assert!(
        out.status.success(),
        "git ls-files failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("tracked paths are UTF-8")
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_relative_link_in_tracked_markdown_resolves() {
    let root = repo_root();
    let tracked = tracked_files(root);
    let docs: BTreeMap<String, String> = tracked
        .iter()
        .filter(|p| p.ends_with(".md"))
        .map(|p| {
            let text = std::fs::read_to_string(root.join(p))
                .unwrap_or_else(|e| panic!("{p} is tracked but cannot be read: {e}"));
            (p.clone(), text)
        })
        .collect();
    assert!(
        docs.contains_key("README.md") && docs.keys().any(|p| p.starts_with("docs/")),
        "expected README.md and docs/*.md among the tracked files, found {:?}",
        docs.keys().collect::<Vec<_>>()
    );
    let problems = broken_links(&docs, &tracked);
    assert!(
        problems.is_empty(),
        "{} broken link(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn readme_is_a_front_page_of_at_most_200_lines() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let lines = readme.lines().count();
    assert!(
        lines <= README_MAX_LINES,
        "README.md has {lines} lines, at most {README_MAX_LINES}: move the detail into docs/"
    );
}

#[test]
fn readme_links_every_docs_page() {
    let root = repo_root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let linked: BTreeSet<String> = link_destinations(&readme)
        .into_iter()
        .filter(|d| !is_external(d))
        .filter_map(|d| resolve("", d.split('#').next().unwrap_or_default()))
        .collect();
    let unlinked: Vec<String> = tracked_files(root)
        .into_iter()
        .filter(|p| p.starts_with("docs/") && p.ends_with(".md") && !linked.contains(p))
        .collect();
    assert!(
        unlinked.is_empty(),
        "README.md does not link these docs pages: {unlinked:?}"
    );
}

#[test]
fn link_extraction_finds_inline_reference_and_image_links_but_not_code() {
    let text = "See [config](docs/configuration.md#top-level) and ![diagram](img/a.png).\n\
                Inline code is not a link: `[x](nope.md)`.\n\n\
                ```text\n[y](also-nope.md)\n```\n\n\
                | a | b |\n|---|---|\n| [in a table](docs/formats.md) | x |\n\n\
                A [reference link][ref] and <https://example.com/auto>.\n\n\
                [ref]: ../fuzz/README.md\n";
    assert_eq!(
        link_destinations(text),
        vec![
            "docs/configuration.md#top-level",
            "img/a.png",
            "docs/formats.md",
            "../fuzz/README.md",
            "https://example.com/auto",
        ]
    );
}

#[test]
fn anchors_are_github_slugs_of_the_heading_text() {
    let text = "# health-canary\n## What happens when…\n### `check --publish` exit codes\n\
                ## Publishers: API (default) or EMF\n## Notes\n## Notes\n";
    let anchors = heading_anchors(text);
    for expected in [
        "health-canary",
        "what-happens-when",
        "check---publish-exit-codes",
        "publishers-api-default-or-emf",
        "notes",
        "notes-1",
    ] {
        assert!(anchors.contains(expected), "{expected} not in {anchors:?}");
    }
}

#[test]
fn external_destinations_are_told_from_relative_paths() {
    for external in [
        "https://example.com/x.md",
        "mailto:ops@example.com",
        "//cdn.example.com/a",
    ] {
        assert!(is_external(external), "{external}");
    }
    for relative in ["docs/a.md", "a.md#b:c", "#anchor", "../x/y.md?plain=1"] {
        assert!(!is_external(relative), "{relative}");
    }
}

#[test]
fn reports_a_missing_file_a_missing_heading_and_a_path_out_of_the_repository() {
    let docs = BTreeMap::from([
        (
            "README.md".to_string(),
            "[ok](docs/a.md#the-heading) [dir](src) [self](#top)\n\
             [gone](docs/missing.md) [bad anchor](docs/a.md#nope)\n\
             [escape](../outside.md) [line anchor](src/main.rs#L1)\n\n# Top\n"
                .to_string(),
        ),
        (
            "docs/a.md".to_string(),
            "# The heading\n[up](../README.md#top) [sibling](b.md)\n".to_string(),
        ),
    ]);
    let tracked: BTreeSet<String> = ["README.md", "docs/a.md", "src/main.rs"]
        .map(str::to_string)
        .into();
    assert_eq!(
        broken_links(&docs, &tracked),
        vec![
            "README.md: (docs/missing.md): docs/missing.md is not a file in the repository",
            "README.md: (docs/a.md#nope): docs/a.md has no heading with the anchor #nope",
            "README.md: (../outside.md): the path climbs out of the repository",
            "README.md: (src/main.rs#L1): #L1 points into src/main.rs, which is not a tracked Markdown file",
            "docs/a.md: (b.md): docs/b.md is not a file in the repository",
        ]
    );
}
