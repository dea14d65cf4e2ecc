//! The source tree's shape, checked by reading `src/` as text (parsed with `syn`): no import
//! cycle between source files, no function over 80 lines outside test code, and the process
//! environment read in one module only. Each failure names the files and functions.
//!
//! Edges between files: `use crate::…`, `crate::a::b::` paths in code (macro arguments too),
//! `super::…` and `self::…` paths, and a file using the modules it declares (`mod x;` then
//! `x::…`). Declaring a module and `pub(super)`-style visibility are not uses. A path resolves to
//! the deepest file it names (`crate::check::config::Target` is `src/check/config/mod.rs`, the
//! file that re-exports it). `#[cfg(test)]` code is left out of the cycle and length rules: tests
//! may reach anywhere. The binaries (`src/main.rs`, `src/bin/`) are their own crates: only the
//! length and environment rules apply to them.

use proc_macro2::{Spacing, TokenStream, TokenTree};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use syn::visit::Visit;

/// Longest function allowed, in lines from `fn` to its closing brace.
const MAX_FUNCTION_LINES: usize = 80;

/// The one module that reads the process environment.
const SETTINGS_MODULE: &str = "src/check/config/env.rs";

/// Functions allowed over [`MAX_FUNCTION_LINES`] because they are data tables: (file, function,
/// why). None today.
const DATA_TABLES: &[(&str, &str, &str)] = &[];

/// Violations in files other helpers are editing right now (typed errors in probe, formats, judge,
/// condition and sinks; format renames in formats and alert messages), tolerated until their work
/// is merged. TEMPORARY: the lead empties this list after merging; an entry that no longer
/// matches anything fails the test, so none can linger. A file ending in `/` stands for every
/// file under that folder (the format files are being renamed).
const KNOWN_VIOLATIONS: &[Known] = &[];

/// A tolerated violation: the rule, the files it is in, the function (long functions only) and
/// what is wrong.
struct Known {
    rule: Rule,
    files: &'static [&'static str],
    function: &'static str,
    note: &'static str,
}

/// The three rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rule {
    Cycle,
    LongFunction,
    EnvRead,
}

/// One broken rule, with what to show the reader.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Violation {
    rule: Rule,
    /// The files involved (one, or every file of a cycle), sorted.
    files: Vec<String>,
    /// The function, for long functions (`name` or `Type::name`).
    function: String,
    /// What is wrong, with lines.
    detail: String,
}

/// A source file: its path from the crate root and its text.
struct Source {
    path: String,
    text: String,
}

#[test]
fn the_source_tree_has_no_cycles_long_functions_or_stray_environment_reads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = Vec::new();
    read_tree(root, &root.join("src"), &mut sources);
    assert!(sources.len() > 20, "read {} files from src/", sources.len());
    let violations = check(&sources);
    let (known, unknown): (Vec<_>, Vec<_>) = violations
        .iter()
        .partition(|v| is_known(v, KNOWN_VIOLATIONS));
    let stale: Vec<&Known> = KNOWN_VIOLATIONS
        .iter()
        .filter(|k| !known.iter().any(|v| matches_known(v, k)))
        .collect();
    let stale_tables: Vec<_> = DATA_TABLES
        .iter()
        .filter(|(file, function, _)| !long_function_exists(&sources, file, function))
        .collect();
    let mut report = String::new();
    for v in &unknown {
        report.push_str(&format!(
            "\n- {:?} in {}: {}",
            v.rule,
            v.files.join(", "),
            v.detail
        ));
    }
    for k in &stale {
        report.push_str(&format!(
            "\n- KNOWN_VIOLATIONS entry no longer matches (remove it): {:?} {} {} ({})",
            k.rule,
            k.files.join(", "),
            k.function,
            k.note
        ));
    }
    for (file, function, _) in &stale_tables {
        report.push_str(&format!(
            "\n- DATA_TABLES entry {file} {function} is not over {MAX_FUNCTION_LINES} lines (remove it)"
        ));
    }
    assert!(
        report.is_empty(),
        "the source tree breaks its shape rules:{report}"
    );
}

/// Reads every `.rs` file under `dir`, paths relative to `root`, in a stable order.
fn read_tree(root: &Path, dir: &Path, out: &mut Vec<Source>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_tree(root, &path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            let rel = path.strip_prefix(root).expect("under the root");
            out.push(Source {
                path: rel.to_string_lossy().replace('\\', "/"),
                text: std::fs::read_to_string(&path).expect("a UTF-8 source file"),
            });
        }
    }
}

/// Every violation of the three rules in `sources`, none tolerated yet.
fn check(sources: &[Source]) -> Vec<Violation> {
    let parsed: Vec<(&Source, syn::File)> = sources
        .iter()
        .map(|s| {
            let file = syn::parse_file(&s.text)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}", s.path));
            (s, file)
        })
        .collect();
    let mut violations = cycles(&parsed);
    for (source, file) in &parsed {
        violations.extend(long_functions(&source.path, file));
        if source.path != SETTINGS_MODULE {
            violations.extend(env_reads(&source.path, &source.text, file));
        }
    }
    violations
}

fn is_known(v: &Violation, known: &[Known]) -> bool {
    let table = v.rule == Rule::LongFunction
        && DATA_TABLES
            .iter()
            .any(|(file, function, _)| v.files == [*file] && v.function == *function);
    table || known.iter().any(|k| matches_known(v, k))
}

/// A cycle is tolerated when all its files are in the entry; the other rules match file (and
/// function) exactly.
fn matches_known(v: &Violation, k: &Known) -> bool {
    let covered = |file: &String| k.files.iter().any(|pattern| covers(pattern, file));
    v.rule == k.rule
        && match v.rule {
            Rule::Cycle => v.files.iter().all(covered),
            Rule::LongFunction => v.files == k.files && v.function == k.function,
            Rule::EnvRead => v.files == k.files,
        }
}

/// Whether `pattern` names `file`: the same path, or a folder (ending in `/`) holding it.
fn covers(pattern: &str, file: &str) -> bool {
    pattern == file || (pattern.ends_with('/') && file.starts_with(pattern))
}

fn long_function_exists(sources: &[Source], file: &str, function: &str) -> bool {
    sources.iter().filter(|s| s.path == file).any(|s| {
        let parsed = syn::parse_file(&s.text).expect("parsed once already");
        long_functions(&s.path, &parsed)
            .iter()
            .any(|v| v.function == function)
    })
}

// ---- modules and paths --------------------------------------------------------------------------

/// The module a library file is (`src/lib.rs` → `[]`, `src/a/mod.rs` and `src/a.rs` → `[a]`);
/// `None` for the binaries, which are crates of their own.
fn module_of(path: &str) -> Option<Vec<String>> {
    let rel = path.strip_prefix("src/")?;
    if rel == "main.rs" || rel.starts_with("bin/") {
        return None;
    }
    let rel = rel.strip_suffix(".rs")?;
    let mut parts: Vec<String> = rel.split('/').map(str::to_string).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    Some(parts)
}

/// Whether the attributes hold `#[cfg(test)]` (or `cfg(all(test, …))`).
fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.meta.require_list().is_ok_and(|l| {
                let t = l.tokens.to_string();
                t == "test" || (t.starts_with("all") && t.contains("test") && !t.contains("not"))
            })
    })
}

fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    use syn::Item::*;
    match item {
        Const(i) => &i.attrs,
        Enum(i) => &i.attrs,
        ExternCrate(i) => &i.attrs,
        Fn(i) => &i.attrs,
        ForeignMod(i) => &i.attrs,
        Impl(i) => &i.attrs,
        Macro(i) => &i.attrs,
        Mod(i) => &i.attrs,
        Static(i) => &i.attrs,
        Struct(i) => &i.attrs,
        Trait(i) => &i.attrs,
        TraitAlias(i) => &i.attrs,
        Type(i) => &i.attrs,
        Union(i) => &i.attrs,
        Use(i) => &i.attrs,
        _ => &[],
    }
}

/// Every full path a `use` tree names (`a::{b, c::d}` → `a::b`, `a::c::d`; `a::{self}` → `a`).
fn use_paths(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_paths(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) if n.ident == "self" => out.push(prefix.clone()),
        syn::UseTree::Name(n) => out.push([prefix.clone(), vec![n.ident.to_string()]].concat()),
        syn::UseTree::Rename(r) => out.push([prefix.clone(), vec![r.ident.to_string()]].concat()),
        syn::UseTree::Glob(_) => out.push(prefix.clone()),
        syn::UseTree::Group(g) => g.items.iter().for_each(|t| use_paths(t, prefix, out)),
    }
}

/// Every `a::b::c` path in a macro's tokens, with its line: macro arguments are not parsed as
/// code, yet `format!("{}", crate::x::y())` uses `crate::x`.
fn token_paths(tokens: TokenStream, out: &mut Vec<(Vec<String>, usize)>) {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let is_colons = |i: usize| {
        matches!((trees.get(i), trees.get(i + 1)),
            (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
                if a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':')
    };
    let mut i = 0;
    while i < trees.len() {
        match &trees[i] {
            TokenTree::Group(g) => token_paths(g.stream(), out),
            // Greedy from the left, so a path is always read from its head.
            TokenTree::Ident(first) => {
                let mut path = vec![first.to_string()];
                while is_colons(i + 1) {
                    let Some(TokenTree::Ident(next)) = trees.get(i + 3) else {
                        break;
                    };
                    path.push(next.to_string());
                    i += 3;
                }
                if path.len() > 1 {
                    out.push((path, first.span().start().line));
                }
            }
            _ => {}
        }
        i += 1;
    }
}

/// Collects the module paths one library file uses, outside test code.
struct Uses {
    /// The module being read: the file's, plus any inline modules entered.
    module: Vec<String>,
    /// How many inline modules deep the reader is (bare child names count only at file level).
    inline_depth: usize,
    /// Modules the file declares with `mod x;`.
    children: HashSet<String>,
    /// Resolved module paths, each with the line it is used on.
    found: Vec<(Vec<String>, usize)>,
}

impl Uses {
    /// The module `path` names, if it names one of this crate's (`None` for other crates).
    fn resolve(&self, path: &[String]) -> Option<Vec<String>> {
        let first = path.first()?;
        match first.as_str() {
            "crate" => Some(path[1..].to_vec()),
            "self" => Some([&self.module[..], &path[1..]].concat()),
            "super" => {
                let mut base = self.module.clone();
                let mut rest = path;
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop()?;
                    rest = &rest[1..];
                }
                Some([&base[..], rest].concat())
            }
            name if self.inline_depth == 0 && self.children.contains(name) => {
                Some([&self.module[..], path].concat())
            }
            _ => None,
        }
    }

    fn record(&mut self, path: &[String], line: usize) {
        if let Some(module) = self.resolve(path) {
            self.found.push((module, line));
        }
    }
}

impl<'ast> Visit<'ast> for Uses {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        if !is_test_only(item_attrs(item)) {
            syn::visit::visit_item(self, item);
        }
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if !is_test_only(&f.attrs) {
            syn::visit::visit_impl_item_fn(self, f);
        }
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if m.content.is_some() {
            self.module.push(m.ident.to_string());
            self.inline_depth += 1;
            syn::visit::visit_item_mod(self, m);
            self.inline_depth -= 1;
            self.module.pop();
        }
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        let mut paths = Vec::new();
        use_paths(&u.tree, &mut Vec::new(), &mut paths);
        let line = u.use_token.span.start().line;
        for path in paths {
            self.record(&path, line);
        }
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        if let Some(first) = p.segments.first() {
            self.record(&segments, first.ident.span().start().line);
        }
        syn::visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        let mut paths = Vec::new();
        token_paths(m.tokens.clone(), &mut paths);
        for (path, line) in paths {
            self.record(&path, line);
        }
        syn::visit::visit_macro(self, m);
    }

    // `pub(super)` and `pub(in crate::a)` say who may see an item; they use nothing.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}
}

// ---- rule (a): import cycles --------------------------------------------------------------------

/// One violation per group of library files that use each other in a circle.
fn cycles(parsed: &[(&Source, syn::File)]) -> Vec<Violation> {
    let files: BTreeMap<Vec<String>, &str> = parsed
        .iter()
        .filter_map(|(s, _)| module_of(&s.path).map(|m| (m, s.path.as_str())))
        .collect();
    // edges[from][to] = the first line of `from` that uses `to`.
    let mut edges: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for (source, file) in parsed {
        let Some(module) = module_of(&source.path) else {
            continue;
        };
        let mut uses = Uses {
            module,
            inline_depth: 0,
            children: declared_children(file),
            found: Vec::new(),
        };
        uses.visit_file(file);
        for (module, line) in uses.found {
            let Some(to) = file_of(&files, &module) else {
                continue;
            };
            if to != source.path {
                let lines = edges.entry(source.path.as_str()).or_default();
                let first = lines.entry(to).or_insert(line);
                *first = (*first).min(line);
            }
        }
    }
    strongly_connected(&edges)
        .into_iter()
        .filter(|group| group.len() > 1)
        .map(|group| cycle_violation(&group, &edges))
        .collect()
}

/// The modules a file declares with `mod x;` (outside test code).
fn declared_children(file: &syn::File) -> HashSet<String> {
    file.items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Mod(m) if m.content.is_none() && !is_test_only(&m.attrs) => {
                Some(m.ident.to_string())
            }
            _ => None,
        })
        .collect()
}

/// The file holding `module`: the deepest file the path names (items inside a file and inline
/// modules belong to that file).
fn file_of<'a>(files: &BTreeMap<Vec<String>, &'a str>, module: &[String]) -> Option<&'a str> {
    (0..=module.len())
        .rev()
        .find_map(|n| files.get(&module[..n]).copied())
}

fn cycle_violation(group: &[&str], edges: &BTreeMap<&str, BTreeMap<&str, usize>>) -> Violation {
    let mut files: Vec<String> = group.iter().map(|f| f.to_string()).collect();
    files.sort();
    let members: BTreeSet<&str> = group.iter().copied().collect();
    let uses: Vec<String> = members
        .iter()
        .flat_map(|from| {
            edges[from]
                .iter()
                .filter(|(to, _)| members.contains(*to))
                .map(move |(to, line)| format!("{from}:{line} uses {to}"))
        })
        .collect();
    Violation {
        rule: Rule::Cycle,
        files,
        function: String::new(),
        detail: format!(
            "import cycle: {} (move what both sides need into a sibling module)",
            uses.join("; ")
        ),
    }
}

/// Tarjan's strongly connected components of the file graph.
fn strongly_connected<'a>(
    edges: &BTreeMap<&'a str, BTreeMap<&'a str, usize>>,
) -> Vec<Vec<&'a str>> {
    struct State<'a, 'e> {
        edges: &'e BTreeMap<&'a str, BTreeMap<&'a str, usize>>,
        index: HashMap<&'a str, usize>,
        low: HashMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: HashSet<&'a str>,
        groups: Vec<Vec<&'a str>>,
    }
    fn visit<'a>(s: &mut State<'a, '_>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        let next: Vec<&'a str> = s
            .edges
            .get(v)
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default();
        for w in next {
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut group = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                group.push(w);
                if w == v {
                    break;
                }
            }
            s.groups.push(group);
        }
    }
    let mut s = State {
        edges,
        index: HashMap::new(),
        low: HashMap::new(),
        stack: Vec::new(),
        on_stack: HashSet::new(),
        groups: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.groups
}

// ---- rule (b): long functions -------------------------------------------------------------------

/// Measures every function with a body outside test code.
struct Lengths {
    path: String,
    /// The type of the `impl` or `trait` being read, for `Type::name`.
    owner: Option<String>,
    found: Vec<Violation>,
}

impl Lengths {
    fn measure(&mut self, name: &syn::Ident, sig: &syn::Signature, body: &syn::Block) {
        let first = sig.fn_token.span.start().line;
        let last = body.brace_token.span.close().end().line;
        let lines = last - first + 1;
        if lines > MAX_FUNCTION_LINES {
            let function = match &self.owner {
                Some(owner) => format!("{owner}::{name}"),
                None => name.to_string(),
            };
            self.found.push(Violation {
                rule: Rule::LongFunction,
                files: vec![self.path.clone()],
                detail: format!(
                    "{function} (line {first}) is {lines} lines, over {MAX_FUNCTION_LINES}: split it by concern"
                ),
                function,
            });
        }
    }
}

impl<'ast> Visit<'ast> for Lengths {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        if !is_test_only(item_attrs(item)) {
            syn::visit::visit_item(self, item);
        }
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.measure(&f.sig.ident, &f.sig, &f.block);
        let owner = self.owner.take();
        syn::visit::visit_item_fn(self, f);
        self.owner = owner;
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        let owner = match &*i.self_ty {
            syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
            _ => None,
        };
        let outer = std::mem::replace(&mut self.owner, owner);
        syn::visit::visit_item_impl(self, i);
        self.owner = outer;
    }

    fn visit_item_trait(&mut self, t: &'ast syn::ItemTrait) {
        let outer = self.owner.replace(t.ident.to_string());
        syn::visit::visit_item_trait(self, t);
        self.owner = outer;
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if !is_test_only(&f.attrs) {
            self.measure(&f.sig.ident, &f.sig, &f.block);
            syn::visit::visit_impl_item_fn(self, f);
        }
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        if let Some(body) = &f.default {
            self.measure(&f.sig.ident, &f.sig, body);
        }
        syn::visit::visit_trait_item_fn(self, f);
    }
}

fn long_functions(path: &str, file: &syn::File) -> Vec<Violation> {
    let mut lengths = Lengths {
        path: path.to_string(),
        owner: None,
        found: Vec::new(),
    };
    lengths.visit_file(file);
    lengths.found
}

// ---- rule (c): the environment read in one place --------------------------------------------------

/// Every `env::var`, `env::vars` (and `_os`) the file uses: in code and macros (comments and
/// strings do not count), or imported by `use std::env::{var, …}`. Test code counts too.
fn env_reads(path: &str, text: &str, file: &syn::File) -> Vec<Violation> {
    let tokens: TokenStream = text.parse().expect("the file parsed already");
    let mut paths = Vec::new();
    token_paths(tokens, &mut paths);
    let reads_env = |p: &[String]| {
        p.windows(2).any(|w| {
            w[0] == "env" && matches!(w[1].as_str(), "var" | "vars" | "var_os" | "vars_os")
        })
    };
    let mut lines: Vec<usize> = paths
        .iter()
        .filter(|(p, _)| reads_env(p))
        .map(|(_, line)| *line)
        .collect();
    for item in &file.items {
        if let syn::Item::Use(u) = item {
            let mut used = Vec::new();
            use_paths(&u.tree, &mut Vec::new(), &mut used);
            if used.iter().any(|p| reads_env(p)) {
                lines.push(u.use_token.span.start().line);
            }
        }
    }
    if lines.is_empty() {
        return Vec::new();
    }
    lines.sort_unstable();
    lines.dedup();
    let at: Vec<String> = lines.iter().map(|l| format!("{path}:{l}")).collect();
    vec![Violation {
        rule: Rule::EnvRead,
        files: vec![path.to_string()],
        function: String::new(),
        detail: format!(
            "reads the environment at {}: read it in {SETTINGS_MODULE} and pass the value in",
            at.join(", ")
        ),
    }]
}

// ---- the checker on small trees -------------------------------------------------------------------

fn tree(files: &[(&str, &str)]) -> Vec<Violation> {
    let sources: Vec<Source> = files
        .iter()
        .map(|(path, text)| Source {
            path: path.to_string(),
            text: text.to_string(),
        })
        .collect();
    check(&sources)
}

fn rules(violations: &[Violation]) -> Vec<(Rule, Vec<String>)> {
    violations
        .iter()
        .map(|v| (v.rule, v.files.clone()))
        .collect()
}

fn files(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn finds_a_cycle_through_use_crate_and_names_both_files() {
    let v = tree(&[
        ("src/lib.rs", "pub mod a; pub mod b;"),
        ("src/a.rs", "use crate::b::Thing;\npub struct Other;"),
        (
            "src/b.rs",
            "pub struct Thing;\nfn f() -> crate::a::Other { crate::a::Other }",
        ),
    ]);
    assert_eq!(rules(&v), [(Rule::Cycle, files(&["src/a.rs", "src/b.rs"]))]);
    assert!(
        v[0].detail.contains("src/a.rs:1 uses src/b.rs"),
        "{}",
        v[0].detail
    );
    assert!(
        v[0].detail.contains("src/b.rs:2 uses src/a.rs"),
        "{}",
        v[0].detail
    );
}

#[test]
fn finds_a_cycle_through_grouped_uses_and_paths_in_macros() {
    let v = tree(&[
        ("src/lib.rs", "pub mod x; pub mod y;"),
        (
            "src/x/mod.rs",
            "pub mod deep;\nuse crate::{y::{self, Y}};\npub struct X;",
        ),
        ("src/x/deep.rs", "pub fn d() { crate::y::f(); }"),
        (
            "src/y.rs",
            "pub struct Y;\npub fn f() { println!(\"{:?}\", crate::x::X); }",
        ),
    ]);
    // deep.rs uses y.rs but nothing uses deep.rs: it is outside the cycle.
    assert_eq!(
        rules(&v),
        [(Rule::Cycle, files(&["src/x/mod.rs", "src/y.rs"]))]
    );
}

#[test]
fn a_child_using_its_parent_that_uses_it_is_a_cycle() {
    let v = tree(&[
        ("src/lib.rs", "pub mod formats;"),
        (
            "src/formats/mod.rs",
            "mod ietf;\npub enum Vocab { Up }\npub fn detect() { ietf::read(); }",
        ),
        ("src/formats/ietf.rs", "use super::Vocab;\npub fn read() {}"),
    ]);
    assert_eq!(
        rules(&v),
        [(
            Rule::Cycle,
            files(&["src/formats/ietf.rs", "src/formats/mod.rs"])
        )]
    );
}

#[test]
fn one_way_uses_declarations_visibility_and_test_code_are_not_cycles() {
    let v = tree(&[
        ("src/lib.rs", "pub mod check; pub mod sinks;"),
        (
            "src/check/mod.rs",
            "pub mod config;\npub mod report;\npub use config::Config;\n\
             #[cfg(test)]\nmod tests { use crate::sinks::Sink; }",
        ),
        (
            "src/check/config.rs",
            "use super::report::Status;\npub(super) struct Config;",
        ),
        (
            "src/check/report.rs",
            "pub(in crate::check) struct Status;\nimpl Status { fn s(self) -> Self { self } }",
        ),
        (
            "src/sinks.rs",
            "use crate::check::config::Config;\npub struct Sink;",
        ),
    ]);
    assert_eq!(rules(&v), []);
}

fn function_of(lines: usize) -> String {
    let body = "    let _x = 1;\n".repeat(lines - 2);
    format!("fn long_one() {{\n{body}}}\n")
}

#[test]
fn flags_a_function_over_80_lines_by_file_and_name() {
    let at_limit = function_of(80);
    let over = function_of(81);
    let method = format!(
        "struct S;\nimpl S {{\n{}}}\n",
        function_of(90).replace("fn ", "pub fn ")
    );
    let in_tests = format!("#[cfg(test)]\nmod tests {{\n{over}}}\n");
    let v = tree(&[
        ("src/lib.rs", &at_limit),
        ("src/a.rs", &over),
        ("src/b.rs", &method),
        ("src/c.rs", &in_tests),
    ]);
    assert_eq!(
        v.iter()
            .map(|v| (v.files[0].as_str(), v.function.as_str()))
            .collect::<Vec<_>>(),
        [("src/a.rs", "long_one"), ("src/b.rs", "S::long_one")]
    );
    assert!(v[0].detail.contains("is 81 lines"), "{}", v[0].detail);
}

#[test]
fn flags_environment_reads_outside_the_settings_module_only() {
    let v = tree(&[
        (
            "src/lib.rs",
            "pub mod a; pub mod b; pub mod c; pub mod check;",
        ),
        (
            "src/a.rs",
            "fn f() -> Option<String> {\n    std::env::var(\"X\").ok()\n}",
        ),
        (
            "src/b.rs",
            "use std::env;\nfn f() { let _ = env::vars().count(); }",
        ),
        (
            "src/c.rs",
            "use std::env::var;\n// std::env::var in a comment\nconst S: &str = \"env::var(\";",
        ),
        (
            "src/check/config/env.rs",
            "pub fn get(k: &str) -> Option<String> { std::env::var(k).ok() }",
        ),
        ("src/check/mod.rs", "pub mod config;"),
        ("src/check/config/mod.rs", "pub mod env;"),
    ]);
    let found: Vec<(&str, &str)> = v
        .iter()
        .map(|v| (v.files[0].as_str(), v.detail.as_str()))
        .collect();
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found[0].1.contains("src/a.rs:2"), "{found:?}");
    assert!(found[1].1.contains("src/b.rs:2"), "{found:?}");
    assert!(
        found[2].1.contains("src/c.rs:1") && !found[2].1.contains("src/c.rs:2"),
        "{found:?}"
    );
}

#[test]
fn a_known_violation_tolerates_a_cycle_within_its_files_only() {
    let known = [Known {
        rule: Rule::Cycle,
        files: &["src/a.rs", "src/b.rs", "src/c.rs"],
        function: "",
        note: "test",
    }];
    let cycle = |names: &[&str]| Violation {
        rule: Rule::Cycle,
        files: files(names),
        function: String::new(),
        detail: String::new(),
    };
    assert!(is_known(&cycle(&["src/a.rs", "src/b.rs"]), &known));
    assert!(!is_known(&cycle(&["src/a.rs", "src/d.rs"]), &known));
    let folder = [Known {
        rule: Rule::Cycle,
        files: &["src/f/"],
        function: "",
        note: "test",
    }];
    assert!(is_known(
        &cycle(&["src/f/mod.rs", "src/f/renamed.rs"]),
        &folder
    ));
    assert!(!is_known(&cycle(&["src/f/mod.rs", "src/g.rs"]), &folder));
}
