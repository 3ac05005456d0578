//! The layering of ARCHITECTURE.md, checked on the parsed code (`syn`), not on its text:
//! every path a file names — in `use` trees however nested or spread over lines, in types,
//! expressions and patterns, inside macro calls, through `super::` chains and `self::` — is
//! resolved to the module it reaches, re-exports followed to where they lead, and must land
//! in a layer the file's layer may depend on. `http → auth → {domain, store, crypto, sms,
//! mail, clock}`; `domain` depends on nothing of Twofold; `server` and `cli` assemble
//! everything. The tests at the end prove the check fails on each shape that fooled the
//! line-reading check before it (issue 22).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

/// Which layers each layer may name (besides itself).
fn allowed() -> BTreeMap<&'static str, &'static [&'static str]> {
    BTreeMap::from([
        ("domain", &[][..]),
        ("metrics", &[][..]), // counted into by crypto, sms, mail, auth and http
        ("clock", &["domain"][..]),
        ("crypto", &["domain", "metrics"][..]),
        ("outbox", &[][..]),
        ("delivery", &["metrics"][..]), // the time limit, count and log line of a message
        (
            "sms",
            &["domain", "clock", "outbox", "delivery", "metrics"][..],
        ), // the outbox stamps its lines with the clock
        (
            "mail",
            &["domain", "clock", "outbox", "delivery", "metrics"][..],
        ),
        ("store", &["domain", "crypto"][..]),
        (
            "auth",
            &[
                "domain", "store", "crypto", "sms", "mail", "clock", "metrics",
            ][..],
        ),
        ("http", &["auth", "domain", "crypto", "metrics"][..]),
        ("config", &["auth", "crypto", "domain"][..]),
    ])
}

/// Directions inside a layer: code under the first module may not reach the second. The
/// OpenID Connect endpoints use the pages' CSRF and page context; the pages never name the
/// endpoints (what both need lives beside them: `http::moving_on`, `http::scopes`).
const INNER: [(&str, &str); 1] = [("http::web", "http::oidc")];

/// The crate's top-level modules and items: the first segment of a resolved path.
const LAYERS: [&str; 15] = [
    "delivery",
    "domain",
    "metrics",
    "outbox",
    "clock",
    "crypto",
    "sms",
    "mail",
    "store",
    "auth",
    "http",
    "config",
    "server",
    "cli",
    "install_tls_provider",
];

/// The module path of a file under `src/` (`http/web/mod.rs` → `http::web`).
fn module_of(rel: &str) -> Vec<String> {
    let rel = rel.trim_end_matches(".rs");
    let mut parts: Vec<String> = rel.split('/').map(str::to_owned).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// Every path one file names, made absolute (crate-relative segments), with what it was.
struct Collector {
    /// The module the code being read is in (inline `mod`s push onto it).
    module: Vec<String>,
    /// (absolute path, how it was written)
    found: Vec<(Vec<String>, String)>,
    /// `pub use` re-exports: the alias's absolute path → where it leads.
    reexports: BTreeMap<Vec<String>, Vec<String>>,
}

impl Collector {
    /// `segments` as written in `self.module`, absolute; `None` for a path that does not
    /// start at the crate (`std::…`, a local name, an external crate).
    fn absolute(&self, segments: &[String]) -> Option<Vec<String>> {
        let first = segments.first()?;
        match first.as_str() {
            "crate" => Some(segments[1..].to_vec()),
            "super" | "self" => {
                let mut at = self.module.clone();
                let mut rest = segments;
                while let Some(s) = rest.first() {
                    match s.as_str() {
                        "super" => {
                            at.pop()?;
                        }
                        "self" => {}
                        _ => break,
                    }
                    rest = &rest[1..];
                }
                at.extend(rest.iter().cloned());
                Some(at)
            }
            // In the crate root, a top-level module is named without `crate::`.
            name if self.module.is_empty() && LAYERS.contains(&name) => Some(segments.to_vec()),
            _ => None,
        }
    }

    fn note(&mut self, segments: Vec<String>, written: String) {
        if let Some(abs) = self.absolute(&segments) {
            self.found.push((abs, written));
        }
    }

    /// Flattens a `use` tree into full paths (groups, nesting, renames, globs alike).
    fn use_tree(&mut self, prefix: &[String], tree: &syn::UseTree, public: bool) {
        match tree {
            syn::UseTree::Path(p) => {
                let mut next = prefix.to_vec();
                next.push(p.ident.to_string());
                self.use_tree(&next, &p.tree, public);
            }
            syn::UseTree::Name(n) => {
                let mut full = prefix.to_vec();
                if n.ident != "self" {
                    full.push(n.ident.to_string());
                }
                let alias = full.last().cloned().unwrap_or_default();
                self.leaf(full, &alias, public);
            }
            syn::UseTree::Rename(r) => {
                let mut full = prefix.to_vec();
                full.push(r.ident.to_string());
                self.leaf(full, &r.rename.to_string(), public);
            }
            syn::UseTree::Glob(_) => {
                let full = prefix.to_vec();
                self.leaf(full, "*", public);
            }
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t, public);
                }
            }
        }
    }

    fn leaf(&mut self, full: Vec<String>, alias: &str, public: bool) {
        let written = format!("use {}", full.join("::"));
        let Some(abs) = self.absolute(&full) else {
            return;
        };
        if public && alias != "*" {
            let mut at = self.module.clone();
            at.push(alias.to_owned());
            self.reexports.insert(at, abs.clone());
        }
        self.found.push((abs, written));
    }

    /// Paths inside a macro call's tokens (`tracing::info!(… crate::store::X …)`,
    /// `matches!(x, super::super::store::Y)`): `crate`/`super`/`self` followed by `::`.
    fn tokens(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < trees.len() {
            if let TokenTree::Group(g) = &trees[i] {
                self.tokens(g.stream());
                i += 1;
                continue;
            }
            let starts = matches!(&trees[i], TokenTree::Ident(id) if id == "crate" || id == "super" || id == "self");
            if !starts {
                i += 1;
                continue;
            }
            let mut segments = Vec::new();
            let mut j = i;
            while let Some(TokenTree::Ident(id)) = trees.get(j) {
                segments.push(id.to_string());
                let colons = matches!(
                    (trees.get(j + 1), trees.get(j + 2)),
                    (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b))) if a.as_char() == ':' && b.as_char() == ':'
                );
                if !colons {
                    break;
                }
                j += 3;
            }
            if segments.len() > 1 {
                let written = format!("{} (in a macro)", segments.join("::"));
                self.note(segments, written);
            }
            i = j.max(i) + 1;
        }
    }
}

impl<'ast> Visit<'ast> for Collector {
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        let public = !matches!(u.vis, syn::Visibility::Inherited);
        let mut prefix = Vec::new();
        if u.leading_colon.is_some() {
            prefix.push(String::new()); // `::extern_crate`, never this crate
        }
        self.use_tree(&prefix, &u.tree, public);
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if m.content.is_some() {
            self.module.push(m.ident.to_string());
            syn::visit::visit_item_mod(self, m);
            self.module.pop();
        }
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        if segments.len() > 1 || segments.first().is_some_and(|s| s == "super") {
            let written = segments.join("::");
            self.note(segments, written);
        }
        syn::visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.tokens(m.tokens.clone());
        syn::visit::visit_macro(self, m);
    }
}

/// The layer a path lands in once re-exports are followed (a few hops at most).
fn landing(path: &[String], reexports: &BTreeMap<Vec<String>, Vec<String>>) -> Option<String> {
    let mut at = path.to_vec();
    for _ in 0..8 {
        // The longest prefix of `at` that is a re-export leads somewhere else.
        let hop = (1..=at.len())
            .rev()
            .find_map(|n| reexports.get(&at[..n]).map(|to| (n, to.clone())));
        match hop {
            Some((n, to)) if to != at[..n] => {
                let mut next = to;
                next.extend(at[n..].iter().cloned());
                at = next;
            }
            _ => break,
        }
    }
    at.first().filter(|l| LAYERS.contains(&l.as_str())).cloned()
}

/// Every import against the layering in `files` (path under `src/` → source).
fn violations(files: &BTreeMap<String, String>) -> Vec<String> {
    let rules = allowed();
    let mut per_file = Vec::new();
    let mut reexports = BTreeMap::new();
    for (rel, text) in files {
        if rel == "main.rs" {
            continue; // the binary: it names the library as `twofold::`
        }
        let ast = syn::parse_file(text).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let mut c = Collector {
            module: module_of(rel),
            found: Vec::new(),
            reexports: BTreeMap::new(),
        };
        c.visit_file(&ast);
        reexports.extend(c.reexports);
        per_file.push((rel.clone(), c.found));
    }
    let mut wrong = BTreeSet::new();
    for (rel, found) in per_file {
        let layer = module_of(&rel).first().cloned().unwrap_or_default();
        let Some(may) = rules.get(layer.as_str()) else {
            continue; // lib.rs, server.rs, cli/: the composition root
        };
        let module = module_of(&rel).join("::");
        for (path, written) in &found {
            let reached = path.join("::");
            for (from, to) in INNER {
                let inside = |m: &str, p: &str| m == p || m.starts_with(&format!("{p}::"));
                if inside(&module, from) && inside(&reached, to) {
                    wrong.insert(format!("{rel}: `{written}` reaches {to}"));
                }
            }
        }
        for (path, written) in found {
            // A file's own re-export is judged where it is written, not followed.
            let direct = path.first().cloned();
            let through = landing(&path, &reexports);
            for named in [direct, through].into_iter().flatten() {
                if LAYERS.contains(&named.as_str())
                    && named != layer
                    && !may.contains(&named.as_str())
                {
                    wrong.insert(format!("{rel}: `{written}` reaches crate::{named}"));
                }
            }
        }
    }
    wrong.into_iter().collect()
}

fn rust_files(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.insert(rel, std::fs::read_to_string(&path).unwrap());
        }
    }
}

#[test]
fn imports_follow_the_documented_direction() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    rust_files(&src, &src, &mut files);
    assert!(files.len() > 100, "read {} files", files.len());
    let wrong = violations(&files);
    assert!(
        wrong.is_empty(),
        "imports against the layering of ARCHITECTURE.md:\n  {}",
        wrong.join("\n  ")
    );
}

/// A tiny crate: `store`, `auth` (which may name the store) and `http` (which may not),
/// with `http/web/page.rs` holding `body`.
fn crate_with_page(body: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "lib.rs".into(),
            "pub mod store; pub mod auth; pub mod http;".into(),
        ),
        (
            "store/mod.rs".into(),
            "pub struct Rec; pub fn open() {}".into(),
        ),
        ("auth/mod.rs".into(), "pub struct Service;".into()),
        ("http/mod.rs".into(), "pub mod web;".into()),
        ("http/web/mod.rs".into(), "pub mod page;".into()),
        ("http/web/page.rs".into(), body.to_owned()),
    ])
}

fn flagged(body: &str) -> Vec<String> {
    violations(&crate_with_page(body))
}

#[test]
fn the_checker_passes_what_is_allowed() {
    assert_eq!(
        flagged(
            "use crate::auth::Service;\nuse std::collections::HashMap;\nfn f() { let _ = crate::auth::Service; }"
        ),
        Vec::<String>::new()
    );
}

#[test]
fn the_checker_sees_nested_and_multi_line_groups() {
    for body in [
        "use crate::{ auth::Service, store::Rec };",
        "use crate::{\n    auth::Service,\n    store::{\n        Rec,\n    },\n};",
        "use crate::{auth::{self, Service}, store as s};",
        "use crate::store::*;",
    ] {
        let found = flagged(body);
        assert!(
            found.iter().any(|w| w.contains("reaches crate::store")),
            "{body:?} passed: {found:?}"
        );
    }
}

#[test]
fn the_checker_follows_super_chains_and_self() {
    // From `http::web::page`, `super` is `http::web`: three of them reach the crate root.
    for body in [
        "use super::super::super::store::Rec;",
        "fn f() { super::super::super::store::open(); }",
        "use super::super::super::{auth::Service, store::Rec};",
    ] {
        assert!(!flagged(body).is_empty(), "{body:?} passed");
    }
    // Two are only `http`: `http::store` is not the store (and not this check's business).
    assert!(flagged("use super::super::store::Rec;").is_empty());
    // `self::` inside an inline module, four levels up from it.
    let body = "mod inner { fn f() { self::super::super::super::super::store::open(); } }";
    assert!(!flagged(body).is_empty(), "{body:?} passed");
}

#[test]
fn the_checker_follows_re_exports() {
    // auth may name the store and re-exports one of its types; http naming it through
    // auth still reaches the store.
    let mut files = crate_with_page("use crate::auth::Rec;\nfn f(_: Rec) {}");
    files.insert(
        "auth/mod.rs".into(),
        "pub use crate::store::Rec;\npub struct Service;".into(),
    );
    let found = violations(&files);
    assert!(
        found
            .iter()
            .any(|w| w.starts_with("http/web/page.rs") && w.contains("reaches crate::store")),
        "{found:?}"
    );
    // The same re-export under another name, and a whole module re-exported.
    files.insert(
        "auth/mod.rs".into(),
        "pub use crate::store as repo;\npub struct Service;".into(),
    );
    files.insert(
        "http/web/page.rs".into(),
        "fn f() { crate::auth::repo::open(); }".into(),
    );
    assert!(!violations(&files).is_empty());
}

#[test]
fn the_checker_reads_types_expressions_and_macros() {
    for body in [
        "fn f(_: crate::store::Rec) {}",
        "fn f() -> Option<crate::store::Rec> { None }",
        "fn f() { let _ = crate::store::open; }",
        "fn f() { println!(\"{:?}\", crate::store::open()); }",
        "fn f() { tracing::info!(x = ?crate::store::Rec, \"hi\"); }",
    ] {
        assert!(!flagged(body).is_empty(), "{body:?} passed");
    }
    // Comments and strings are not code.
    assert!(flagged("// crate::store::Rec\nfn f() { let _ = \"crate::store::Rec\"; }").is_empty());
}

#[test]
fn the_checker_keeps_the_pages_from_naming_the_oidc_endpoints() {
    let mut files = crate_with_page("use crate::http::oidc::continue_page;");
    files.insert("http/mod.rs".into(), "pub mod web; pub mod oidc;".into());
    files.insert(
        "http/oidc/mod.rs".into(),
        "pub fn continue_page() {}".into(),
    );
    let found = violations(&files);
    assert!(
        found.iter().any(|w| w.contains("reaches http::oidc")),
        "{found:?}"
    );
    files.insert(
        "http/web/page.rs".into(),
        "fn f() { super::super::oidc::continue_page(); }".into(),
    );
    assert!(!violations(&files).is_empty());
}

/// Functions longer than this many lines (from `fn` to its closing brace) are split
/// (issue 22: a reader holds a function in one screenful or two).
const MAX_FN_LINES: usize = 100;

/// Every function (free, in an `impl` or a trait) of `text` longer than the limit.
fn long_functions(rel: &str, text: &str) -> Vec<String> {
    use syn::spanned::Spanned;
    struct Lengths<'a> {
        rel: &'a str,
        long: Vec<String>,
    }
    impl Lengths<'_> {
        fn check(&mut self, sig: &syn::Signature, body: &syn::Block) {
            let name = &sig.ident;
            let lines = body.span().end().line - sig.fn_token.span().start().line + 1;
            if lines > MAX_FN_LINES {
                self.long
                    .push(format!("{}: fn {name} is {lines} lines", self.rel));
            }
        }
    }
    impl<'ast> Visit<'ast> for Lengths<'_> {
        fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
            self.check(&f.sig, &f.block);
            syn::visit::visit_item_fn(self, f);
        }
        fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
            self.check(&f.sig, &f.block);
            syn::visit::visit_impl_item_fn(self, f);
        }
    }
    let ast = syn::parse_file(text).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let mut v = Lengths {
        rel,
        long: Vec::new(),
    };
    v.visit_file(&ast);
    v.long
}

#[test]
fn no_function_is_over_100_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    rust_files(&src, &src, &mut files);
    let long: Vec<String> = files
        .iter()
        .flat_map(|(rel, text)| long_functions(rel, text))
        .collect();
    assert!(long.is_empty(), "split these:\n  {}", long.join("\n  "));
    // The check itself sees a long function.
    let body = "    let x = 1;\n".repeat(MAX_FN_LINES);
    let found = long_functions(
        "x.rs",
        &format!("fn big() {{\n{body}}}\nimpl S {{ fn ok() {{}} }}"),
    );
    assert_eq!(
        found,
        [format!("x.rs: fn big is {} lines", MAX_FN_LINES + 2)]
    );
}

/// No type gathers more than this many methods: a feature grows its own service or
/// repository (`auth.sessions()`, `store.grants()`) instead of a god type (issue 22).
const MAX_METHODS: usize = 40;

/// Methods per type across `rel`'s files: every inherent `impl` block's functions, and
/// the accessors the `services!` and `repositories!` macros write onto their core.
fn methods_per_type(files: &BTreeMap<String, String>) -> BTreeMap<String, usize> {
    // Keyed by the top-level module and the type's name: `auth::TwoFactor` and
    // `store::TwoFactor` are two types.
    struct Count<'a>(&'a mut BTreeMap<String, usize>, String);
    impl<'ast> Visit<'ast> for Count<'_> {
        fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
            if i.trait_.is_none()
                && let syn::Type::Path(p) = &*i.self_ty
                && let Some(last) = p.path.segments.last()
            {
                let fns = i
                    .items
                    .iter()
                    .filter(|it| matches!(it, syn::ImplItem::Fn(_)))
                    .count();
                *self
                    .0
                    .entry(format!("{}::{}", self.1, last.ident))
                    .or_default() += fns;
            }
            syn::visit::visit_item_impl(self, i);
        }
        fn visit_item_macro(&mut self, m: &'ast syn::ItemMacro) {
            let name = m.mac.path.segments.last().map(|s| s.ident.to_string());
            let tokens: Vec<TokenTree> = m.mac.tokens.clone().into_iter().collect();
            let core = match name.as_deref() {
                Some("repositories") => Some(format!("{}::Store", self.1)),
                Some("services") => tokens.first().map(|t| format!("{}::{t}", self.1)),
                _ => None,
            };
            if let Some(core) = core {
                // Each entry is `accessor: Type;`.
                let entries = tokens
                    .windows(4)
                    .filter(|w| {
                        matches!((&w[0], &w[1], &w[2], &w[3]),
                            (TokenTree::Ident(_), TokenTree::Punct(c), TokenTree::Ident(_), TokenTree::Punct(s))
                                if c.as_char() == ':' && s.as_char() == ';')
                    })
                    .count();
                *self.0.entry(core).or_default() += entries;
            }
        }
    }
    let mut counts = BTreeMap::new();
    for (rel, text) in files {
        let file = syn::parse_file(text).unwrap();
        let top = rel.split('/').next().unwrap_or(rel).trim_end_matches(".rs");
        Count(&mut counts, top.to_owned()).visit_file(&file);
    }
    counts
}

#[test]
fn no_type_has_over_40_methods() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    rust_files(&src, &src, &mut files);
    let counts = methods_per_type(&files);
    // The cores are counted with their accessors, so they are seen at all.
    for core in ["auth::Auth", "store::Store", "auth::Oidc"] {
        assert!(
            counts.get(core).is_some_and(|n| *n > 5),
            "{core}: {counts:?}"
        );
    }
    let big: Vec<_> = counts.iter().filter(|(_, n)| **n > MAX_METHODS).collect();
    assert!(big.is_empty(), "types over {MAX_METHODS} methods: {big:?}");
    // The check counts across files and through the accessor macros.
    let sample = BTreeMap::from([
        (
            "m/a.rs".to_owned(),
            "impl S { fn a() {} fn b() {} } impl T for S { fn c() {} }".to_owned(),
        ),
        (
            "m/b.rs".to_owned(),
            "impl S { fn d() {} }\nservices! { S; /// x\n one: One; /// y\n two: Two; }".to_owned(),
        ),
    ]);
    let got = methods_per_type(&sample);
    assert_eq!(got.get("m::S"), Some(&5), "{got:?}");
}
