//! SECURITY.md names, for each requirement, the tests that prove it, as backticked
//! references: `tests/api/<file>.rs::<name>`, `tests/store/<file>.rs::<name>`,
//! `src/<path>.rs::<name>` (unit tests) and `tests/browser/specs/<file>.test.js::<title>`.
//! This test fails, listing each one, when a named file does not exist or does not hold that
//! test, so the document cannot claim a proof that is not there. It also insists on finding
//! at least [`MIN_REFERENCES`] references, so a change of format cannot make it pass by
//! finding none.
//!
//! Only the standard library, so that it also runs on its own:
//! `rustc --edition 2021 --test tests/security_doc.rs -o target/secdoc && target/secdoc`
//! (from the repository's root).

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

/// Fewer references than this means the format changed and the check found nothing.
const MIN_REFERENCES: usize = 100;

/// How far above a `fn` its test attribute may be (doc comments and other attributes between).
const ATTRIBUTE_WINDOW: usize = 12;

/// A test named in the document.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Reference {
    /// Relative to the repository's root.
    file: String,
    /// A Rust function name, or a browser test's title.
    name: String,
}

impl Reference {
    fn is_js(&self) -> bool {
        self.file.ends_with(".test.js")
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}::{}", self.file, self.name)
    }
}

/// What is wrong with one reference, or with a span that looks like one.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Problem {
    /// The named file does not exist.
    NoFile(Reference),
    /// The file exists but holds no test of that name or title.
    NoTest(Reference),
    /// A `fn` of that name exists but no test attribute marks it.
    NotATest(Reference),
    /// A backticked span that starts like a reference but is not one.
    Malformed(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoFile(r) => write!(f, "`{r}`: {} does not exist", r.file),
            Self::NoTest(r) if r.is_js() => write!(
                f,
                "`{r}`: {} has no test('…') or it('…') with that exact title",
                r.file
            ),
            Self::NoTest(r) => write!(f, "`{r}`: {} has no fn {}(", r.file, r.name),
            Self::NotATest(r) => write!(
                f,
                "`{r}`: fn {} in {} has no #[test]-like attribute above it",
                r.name, r.file
            ),
            Self::Malformed(span) => write!(
                f,
                "`{span}`: looks like a test reference but is not one of tests/…/<file>.rs::<name>, src/<path>.rs::<name>, tests/browser/specs/<file>.test.js::<title>"
            ),
        }
    }
}

/// The contents of every inline code span of a Markdown text, fenced blocks left out. A span
/// opens with a run of backticks and closes at the next run of the same length in the same
/// block — a paragraph, or one table row (CommonMark §6.1, GFM tables); an unclosed run is
/// literal text.
fn code_spans(text: &str) -> Vec<String> {
    fn flush(paragraph: &mut String, blocks: &mut Vec<String>) {
        if !paragraph.is_empty() {
            blocks.push(std::mem::take(paragraph));
        }
    }
    let mut blocks: Vec<String> = Vec::new();
    let mut paragraph = String::new();
    let mut fenced = false;
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            fenced = !fenced;
            flush(&mut paragraph, &mut blocks);
            continue;
        }
        if fenced {
            continue;
        }
        if t.is_empty() {
            flush(&mut paragraph, &mut blocks);
        } else if t.starts_with('|') {
            flush(&mut paragraph, &mut blocks);
            blocks.push(line.to_owned());
        } else {
            if !paragraph.is_empty() {
                paragraph.push('\n');
            }
            paragraph.push_str(line);
        }
    }
    flush(&mut paragraph, &mut blocks);
    blocks.iter().flat_map(|b| spans_of(b)).collect()
}

/// The code spans of one block.
fn spans_of(block: &str) -> Vec<String> {
    let bytes = block.as_bytes();
    let run_at = |i: usize| bytes[i..].iter().take_while(|&&b| b == b'`').count();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'`' {
            i += 1;
            continue;
        }
        let open = run_at(i);
        let start = i + open;
        let mut j = start;
        let mut close = None;
        while j < bytes.len() {
            if bytes[j] == b'`' {
                let n = run_at(j);
                if n == open {
                    close = Some(j);
                    break;
                }
                j += n;
            } else {
                j += 1;
            }
        }
        match close {
            Some(end) => {
                // Line endings inside a span count as spaces; one space either side of a
                // span that also holds other text is padding (CommonMark §6.1).
                let inner = block[start..end].replace('\n', " ");
                let inner = match inner.strip_prefix(' ').and_then(|s| s.strip_suffix(' ')) {
                    Some(s) if !s.trim().is_empty() => s.to_owned(),
                    _ => inner,
                };
                spans.push(inner);
                i = end + open;
            }
            None => i = start,
        }
    }
    spans
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A path inside the repository: plain segments, no `..`, no leading `/`.
fn is_plain_path(path: &str) -> bool {
    !path.is_empty()
        && path.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        })
}

/// The reference a code span makes: `Ok(None)` for a span that is no reference at all,
/// `Err` for one that starts like a reference but is malformed. Spans holding `<` are
/// placeholders (`tests/api/<file>.rs::<name>`), not references.
fn reference_in(span: &str) -> Result<Option<Reference>, Problem> {
    let span = span.trim();
    if !(span.starts_with("src/") || span.starts_with("tests/")) || span.contains('<') {
        return Ok(None);
    }
    let malformed = || Err(Problem::Malformed(span.to_owned()));
    let Some((file, name)) = span.split_once("::") else {
        // A plain path, like `src/domain/lifecycle.rs`; but `file.rs:name` is a slip.
        if span.contains(".rs:") || span.contains(".js:") {
            return malformed();
        }
        return Ok(None);
    };
    if !is_plain_path(file) {
        return malformed();
    }
    if file.starts_with("tests/browser/specs/") && file.ends_with(".test.js") {
        if name.trim().is_empty() || name != name.trim() {
            return malformed();
        }
    } else if file.ends_with(".rs") {
        if !is_ident(name) {
            return malformed();
        }
    } else {
        return malformed();
    }
    Ok(Some(Reference {
        file: file.to_owned(),
        name: name.to_owned(),
    }))
}

/// Every reference in `doc` (in order, repeats kept), and the malformed ones.
fn references(doc: &str) -> (Vec<Reference>, Vec<Problem>) {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    for span in code_spans(doc) {
        match reference_in(&span) {
            Ok(Some(r)) => found.push(r),
            Ok(None) => {}
            Err(p) => problems.push(p),
        }
    }
    (found, problems)
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether `source` defines `fn name` as a test: the `fn` line, and above it (past doc
/// comments, other attributes and the lines of a multi-line attribute) an attribute that
/// names `test` — `#[test]`, `#[tokio::test(…)]`, `#[sqlx::test]`, a project macro — other
/// than `#[cfg(test)]`.
fn rust_test(source: &str, name: &str) -> Result<(), bool> {
    let lines: Vec<&str> = source.lines().collect();
    let needle = format!("fn {name}");
    let mut defined = false;
    for (n, line) in lines.iter().enumerate() {
        let Some(at) = line.find(&needle) else {
            continue;
        };
        let before = line[..at].chars().next_back();
        let after = line[at + needle.len()..].trim_start().chars().next();
        if before.is_some_and(is_ident_char) || !matches!(after, Some('(' | '<')) {
            continue;
        }
        defined = true;
        for above in lines[..n].iter().rev().take(ATTRIBUTE_WINDOW) {
            let t = above.trim();
            if t.is_empty() || t.ends_with('}') || t.ends_with(';') || t.ends_with('{') {
                break;
            }
            if t.starts_with("#[") && t.contains("test") && !t.contains("cfg(test") {
                return Ok(());
            }
        }
    }
    Err(defined)
}

/// Whether `source` holds `test(…)` or `it(…)` whose first argument is exactly `title`.
fn js_test(source: &str, title: &str) -> bool {
    ['\'', '"', '`'].iter().any(|q| {
        let quoted = format!("{q}{title}{q}");
        source.match_indices(&quoted).any(|(at, _)| {
            let head = source[..at].trim_end();
            let Some(head) = head.strip_suffix('(') else {
                return false;
            };
            let head = head.trim_end();
            ["test", "it"].iter().any(|f| {
                head.strip_suffix(f).is_some_and(|rest| {
                    !rest
                        .chars()
                        .next_back()
                        .is_some_and(|c| is_ident_char(c) || c == '.' || c == '$')
                })
            })
        })
    })
}

/// What is wrong with `r` in the repository at `root`, if anything.
fn check(root: &Path, r: &Reference) -> Option<Problem> {
    let Ok(source) = fs::read_to_string(root.join(&r.file)) else {
        return Some(Problem::NoFile(r.clone()));
    };
    if r.is_js() {
        return (!js_test(&source, &r.name)).then(|| Problem::NoTest(r.clone()));
    }
    match rust_test(&source, &r.name) {
        Ok(()) => None,
        Err(true) => Some(Problem::NotATest(r.clone())),
        Err(false) => Some(Problem::NoTest(r.clone())),
    }
}

/// Every problem of `doc` against the repository at `root`, each reference once, and how many
/// distinct references it names.
fn audit(root: &Path, doc: &str) -> (Vec<Problem>, usize) {
    let (mut found, mut problems) = references(doc);
    found.sort();
    found.dedup();
    problems.extend(found.iter().filter_map(|r| check(root, r)));
    (problems, found.len())
}

fn root() -> PathBuf {
    PathBuf::from(option_env!("CARGO_MANIFEST_DIR").unwrap_or("."))
}

#[test]
fn every_test_security_md_names_exists() {
    let root = root();
    let path = root.join("SECURITY.md");
    let doc =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let (problems, count) = audit(&root, &doc);
    assert!(
        count >= MIN_REFERENCES,
        "SECURITY.md names only {count} tests (at least {MIN_REFERENCES} expected): has the way it writes them changed?"
    );
    let list: Vec<String> = problems.iter().map(|p| format!("  - {p}")).collect();
    assert!(
        problems.is_empty(),
        "SECURITY.md names {} test(s) that do not exist (of {count} named):\n{}",
        problems.len(),
        list.join("\n")
    );
}

/// A scratch folder that is removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "twofold-security-doc-{tag}-{}-{nanos}",
            std::process::id()
        ));
        fs::create_dir_all(&dir).expect("a scratch folder");
        Self(dir)
    }

    fn write(&self, file: &str, contents: &str) {
        let path = self.0.join(file);
        fs::create_dir_all(path.parent().expect("a parent")).expect("its folder");
        fs::write(path, contents).expect("the file");
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn reference(file: &str, name: &str) -> Reference {
    Reference {
        file: file.to_owned(),
        name: name.to_owned(),
    }
}

#[test]
fn the_checker_flags_made_up_references_and_accepts_real_ones() {
    let repo = Scratch::new("check");
    repo.write(
        "tests/api/fake.rs",
        "use x::y;\n\n/// Proves a thing.\n#[tokio::test(flavor = \"multi_thread\", worker_threads = 2)]\nasync fn a_real_test() {}\n\n#[tokio::test(\n    flavor = \"multi_thread\"\n)]\nasync fn a_long_attribute() {}\n\nasync fn a_helper() {}\n\nfn a_real_test_but_longer() {}\n",
    );
    repo.write(
        "src/thing.rs",
        "pub fn unit_one() {}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn unit_two() {}\n}\n",
    );
    repo.write(
        "tests/browser/specs/fake.test.js",
        "describe('x', () => {\n  it('logs in, then out', async () => {});\n  test(\"keeps `next`\", async () => {});\n  it.skip('is skipped', async () => {});\n  submit('not a test', 1);\n});\n",
    );
    let doc = "\
| 1 | real | `tests/api/fake.rs::a_real_test`; `tests/api/fake.rs::a_long_attribute` |
| 2 | unit | `src/thing.rs::unit_two` and `tests/browser/specs/fake.test.js::logs in, then out` |
| 3 | made up | `tests/api/fake.rs::a_made_up_test`; `tests/api/nowhere.rs::a_real_test` |
| 4 | not tests | `tests/api/fake.rs::a_helper`; `src/thing.rs::unit_one` |
| 5 | js | `tests/browser/specs/fake.test.js::is skipped`; `tests/browser/specs/fake.test.js::not a test`; `tests/browser/specs/fake.test.js::logs in` |
| 6 | ignored | `tests/api/<file>.rs::<name>`; `src/domain/lifecycle.rs`; `cargo test --lib x::y` |
| 7 | malformed | `tests/api/fake.rs:a_real_test`; `tests/../secret.rs::x`; `src/thing.rs::not an ident` |
| 8 | repeated | `tests/api/fake.rs::a_real_test` and ``tests/browser/specs/fake.test.js::keeps `next` `` |
";
    let (problems, count) = audit(&repo.0, doc);
    assert_eq!(count, 12, "{problems:#?}");
    let want = vec![
        Problem::Malformed("tests/api/fake.rs:a_real_test".into()),
        Problem::Malformed("tests/../secret.rs::x".into()),
        Problem::Malformed("src/thing.rs::not an ident".into()),
        Problem::NotATest(reference("src/thing.rs", "unit_one")),
        Problem::NotATest(reference("tests/api/fake.rs", "a_helper")),
        Problem::NoTest(reference("tests/api/fake.rs", "a_made_up_test")),
        Problem::NoFile(reference("tests/api/nowhere.rs", "a_real_test")),
        Problem::NoTest(reference("tests/browser/specs/fake.test.js", "is skipped")),
        Problem::NoTest(reference("tests/browser/specs/fake.test.js", "logs in")),
        Problem::NoTest(reference("tests/browser/specs/fake.test.js", "not a test")),
    ];
    assert_eq!(problems, want);
    // What it says names the reference and what is wrong.
    let said = problems[5].to_string();
    assert!(said.contains("tests/api/fake.rs::a_made_up_test"), "{said}");
}

#[test]
fn code_spans_follow_markdown() {
    let text = "a `one` b ``two `x` two`` c `unclosed\n```\n`in a fence`\n```\nd `three\nlines` e";
    assert_eq!(
        code_spans(text),
        ["one", "two `x` two", "three lines"],
        "fenced blocks and unclosed runs are not spans"
    );
}
