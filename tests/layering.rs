//! The layering of ARCHITECTURE.md, checked: every `crate::…` path in a layer's files must
//! name a layer that layer may depend on. `http → auth → {domain, store, crypto, sms, mail,
//! clock}`;
//! `domain` depends on nothing of Twofold; `server` and `cli` assemble everything.

use std::collections::BTreeMap;
use std::path::Path;

/// Which layers each layer may name.
fn allowed() -> BTreeMap<&'static str, &'static [&'static str]> {
    BTreeMap::from([
        ("domain", &[][..]),
        ("metrics", &[][..]), // counted into by crypto, sms, mail, auth and http
        ("clock", &["domain"][..]),
        ("crypto", &["domain", "metrics"][..]),
        ("outbox", &[][..]),
        ("sms", &["domain", "clock", "outbox", "metrics"][..]), // the outbox stamps its lines with the clock
        ("mail", &["domain", "clock", "outbox", "metrics"][..]),
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

const LAYERS: [&str; 14] = [
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

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The layers a file names through `crate::layer`, outside comments.
fn named_layers(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + 7..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if LAYERS.contains(&name.as_str()) {
                found.push(name);
            }
        }
        // `use crate::{auth, store}` style groups.
        if let Some(group) = code.split("crate::{").nth(1) {
            for name in group.split([',', '}', ' ']).map(str::trim) {
                if LAYERS.contains(&name) {
                    found.push(name.to_owned());
                }
            }
        }
    }
    found
}

#[test]
fn imports_follow_the_documented_direction() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let rules = allowed();
    let mut wrong = Vec::new();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let layer = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        let Some(may) = rules.get(layer.as_str()) else {
            continue; // lib.rs, main.rs, server.rs, cli.rs: the composition root
        };
        let text = std::fs::read_to_string(file).unwrap();
        for named in named_layers(&text) {
            if named != layer && !may.contains(&named.as_str()) {
                wrong.push(format!("{} names crate::{named}", rel.display()));
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "imports against the layering of ARCHITECTURE.md:\n  {}",
        wrong.join("\n  ")
    );
}

#[test]
fn the_checker_sees_a_wrong_import() {
    let found = named_layers(
        "use crate::store::SessionKind; // crate::http in a comment\nlet x = crate::{auth, domain};",
    );
    assert_eq!(found, ["store", "auth", "domain"]);
}
