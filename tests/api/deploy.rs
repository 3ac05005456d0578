//! The service recipe for operators: `deploy/twofold.service` is a unit file systemd itself
//! accepts (`systemd-analyze verify`, with its `ExecStart` pointed at the binary built here),
//! it keeps the hardening that README.md promises (a dynamic user, data only in its state
//! directory, a read-only system, no new privileges), its sandbox scores low in
//! `systemd-analyze security`, and its command line is one the binary accepts.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_twofold");

/// Where the unit file installs the binary, as its `ExecStart` says.
const INSTALLED_BIN: &str = "/usr/local/bin/twofold";

/// The highest overall exposure `systemd-analyze security` may give the unit (0 is a fully
/// sandboxed service, 10 none at all; the unit scored 1.1 with systemd 252).
const MAX_EXPOSURE: f64 = 2.0;

fn unit_text() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/twofold.service");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// `Key=value` lines of the unit, comments and section headers left out.
fn directives(unit: &str) -> Vec<(&str, &str)> {
    unit.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
        .filter(|l| !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

/// The unit with its `ExecStart` on the binary under test, written where systemd-analyze
/// can read it (the file must keep its name: the name is the unit's name).
fn unit_for_this_build(dir: &Path) -> PathBuf {
    assert!(
        !BIN.contains(char::is_whitespace),
        "the test binary's path has a space, which ExecStart would split: {BIN}"
    );
    let unit = unit_text();
    let exec_start = format!("ExecStart={INSTALLED_BIN}");
    assert_eq!(
        unit.lines().filter(|l| l.starts_with(&exec_start)).count(),
        1,
        "one ExecStart, on {INSTALLED_BIN}"
    );
    let rewritten = unit.replace(&exec_start, &format!("ExecStart={BIN}"));
    let path = dir.join("twofold.service");
    std::fs::write(&path, rewritten).unwrap();
    path
}

fn systemd_analyze(args: &[&str], unit: &Path) -> Output {
    Command::new("systemd-analyze")
        .args(args)
        .arg(unit)
        .env("SYSTEMD_COLORS", "0")
        .env("SYSTEMD_PAGER", "")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run systemd-analyze ({e}); install the systemd package \
                 (apt-get install systemd) — scripts/test does this when it is missing"
            )
        })
}

fn shown(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_systemd_unit_is_valid_and_hardened() {
    let unit = unit_text();
    let found = directives(&unit);
    let has = |key: &str, value: &str| found.iter().any(|&(k, v)| k == key && v == value);
    let value_of = |key: &str| found.iter().find(|&&(k, _)| k == key).map(|&(_, v)| v);

    for (key, value) in [
        ("DynamicUser", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("NoNewPrivileges", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("CapabilityBoundingSet", ""),
        ("UMask", "0077"),
        ("SystemCallArchitectures", "native"),
        ("Restart", "on-failure"),
    ] {
        assert!(has(key, value), "{key}={value} in deploy/twofold.service");
    }
    let state = value_of("StateDirectory").unwrap_or_default();
    assert!(!state.is_empty(), "a StateDirectory= for the data");
    let data_dir = format!("TWOFOLD_DATA_DIR=/var/lib/{state}");
    assert!(
        has("Environment", data_dir.as_str()),
        "the data folder is the state directory: Environment={data_dir}"
    );

    // The command line is one the binary accepts.
    let exec = value_of("ExecStart").expect("an ExecStart");
    let mut words = exec.split_whitespace();
    assert_eq!(words.next(), Some(INSTALLED_BIN));
    let help = Command::new(BIN)
        .env_clear()
        .args(words)
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        help.status.success(),
        "ExecStart's arguments: {}",
        shown(&help)
    );

    let dir = tempfile::tempdir().unwrap();
    let path = unit_for_this_build(dir.path());

    // verify exits 0 on an unknown key or a value it cannot parse (it ignores the line), so
    // any word about this unit on stderr fails the test too.
    let verify = systemd_analyze(&["verify"], &path);
    let complaints = String::from_utf8_lossy(&verify.stderr).contains("twofold.service");
    assert!(
        verify.status.success() && !complaints,
        "systemd-analyze verify deploy/twofold.service: {}",
        shown(&verify)
    );

    let security = systemd_analyze(&["security", "--offline=yes", "--no-pager"], &path);
    assert!(
        security.status.success(),
        "systemd-analyze security --offline=yes (systemd 250 or later): {}",
        shown(&security)
    );
    let report = String::from_utf8_lossy(&security.stdout);
    let exposure: f64 = report
        .lines()
        .find_map(|l| l.split_once("Overall exposure level for twofold.service:"))
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no overall exposure in {}", shown(&security)));
    assert!(
        exposure <= MAX_EXPOSURE,
        "exposure {exposure} is above {MAX_EXPOSURE}: a hardening line went missing?\n{report}"
    );
}
