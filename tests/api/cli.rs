//! The binary itself: `twofold serve` on a fresh data folder, the admin CLI, `--help`,
//! and logs that never contain a secret.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common;

const BIN: &str = env!("CARGO_BIN_EXE_twofold");

pub(crate) struct Running {
    pub(crate) child: Child,
    pub(crate) base: String,
    log: Arc<Mutex<String>>,
}

impl Running {
    /// Everything it has written to stderr so far.
    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn base_command(dir: &std::path::Path, url: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("TWOFOLD_DATA_DIR", dir)
        .env("TWOFOLD_DATABASE_URL", url)
        .env("TWOFOLD_ARGON2_MEMORY_KIB", "1024")
        .env("TWOFOLD_ARGON2_ITERATIONS", "1");
    cmd
}

fn serve(dir: &std::path::Path, url: &str) -> Running {
    serve_with(dir, url, &[])
}

/// `twofold serve` with more `TWOFOLD_*` settings.
pub(crate) fn serve_with(dir: &std::path::Path, url: &str, env: &[(&str, &str)]) -> Running {
    let mut cmd = base_command(dir, url);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let sink = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(at) = line.find("listening on http://") {
                let addr: String = line[at + 20..]
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '"')
                    .collect();
                let _ = tx.send(addr);
            }
            sink.lock().unwrap().push_str(&line);
            sink.lock().unwrap().push('\n');
        }
    });
    let addr = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the server says where it listens");
    Running {
        child,
        base: format!("http://{addr}"),
        log,
    }
}

fn run(dir: &std::path::Path, url: &str, args: &[&str]) -> (i32, String, String) {
    let out = base_command(dir, url).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// What a served, exercised server wrote (no secret that went through it, checked), and
/// the `X-Request-Id` of each answer.
struct Exercised {
    log: String,
    request_ids: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_creates_its_data_folder_and_logs_no_secrets() {
    let seen = exercise(&[]).await;
    assert!(
        seen.log.contains("served"),
        "requests are logged:\n{}",
        seen.log
    );
    for id in &seen.request_ids {
        assert!(
            seen.log.contains(&format!("request_id={id}")),
            "{id}:\n{}",
            seen.log
        );
    }
}

/// `--log-format json` (issue 12): every line is one JSON object, each request has one
/// `served` line carrying the request id its answer had, and no secret is in any of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_a_line_with_the_request_id_and_no_secrets() {
    let seen = exercise(&[("TWOFOLD_LOG_FORMAT", "json")]).await;
    let lines: Vec<Value> = seen
        .log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: not JSON: {l}")))
        .collect();
    assert!(lines.iter().any(|l| {
        l["message"]
            .as_str()
            .is_some_and(|m| m.contains("listening on"))
    }));
    for id in &seen.request_ids {
        let served: Vec<&Value> = lines
            .iter()
            .filter(|l| l["message"] == "served" && l["span"]["request_id"] == id.as_str())
            .collect();
        assert_eq!(served.len(), 1, "one line for request {id}:\n{}", seen.log);
        assert!(served[0]["status"].is_u64() && served[0]["span"]["path"].is_string());
        assert_eq!(served[0]["level"], "INFO");
    }
}

/// Serves on a fresh folder (checking what it creates), sends a sign-up, logins right and
/// wrong, an authenticated call and a broken body with a password in it, and returns the log.
async fn exercise(env: &[(&str, &str)]) -> Exercised {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let url = match common::engine() {
        common::Engine::Sqlite => format!("sqlite://{}?mode=rwc", dir.join("twofold.db").display()),
        common::Engine::Postgres => common::fresh_database(tmp.path()).await,
    };
    let server = serve_with(&dir, &url, env);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("secret.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::metadata(dir.join("secret.key")).unwrap().len(), 32);
    }
    if common::engine() == common::Engine::Sqlite {
        assert!(dir.join("twofold.db").exists());
        // Issue 10: everything Twofold creates is for its own user only (umask 077).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("twofold.db"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "twofold.db mode {:o}", mode & 0o777);
        }
    }
    twofold::install_tls_provider();
    let http = reqwest::Client::new();
    let health: Value = http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let password = "zebra crossing at midnight";
    let res = http
        .post(format!("{}/api/v1/accounts", server.base))
        .json(&json!({"username": "logcheck", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let mut request_ids = vec![res.headers()["x-request-id"].to_str().unwrap().to_owned()];
    let res = http
        .post(format!("{}/api/v1/sessions", server.base))
        .json(&json!({"username": "logcheck", "password": password}))
        .send()
        .await
        .unwrap();
    request_ids.push(res.headers()["x-request-id"].to_str().unwrap().to_owned());
    let token = res.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let _ = http
        .post(format!("{}/api/v1/sessions", server.base))
        .json(&json!({"username": "logcheck", "password": "wrong zebra"}))
        .send()
        .await
        .unwrap();
    let _ = http
        .get(format!("{}/api/v1/me", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let _ = http
        .post(format!("{}/api/v1/accounts", server.base))
        .header("content-type", "application/json")
        .body(format!("{{\"username\":\"x\",\"password\":{password:?}"))
        .send()
        .await
        .unwrap();
    // A password-reset link carries its token in the path: the log leaves it out.
    let reset_token = "Zq3vR8xKp2LmN7tY4wB9cD1fG6hJ0sA5eU2iO8kQ3rT";
    let _ = http
        .get(format!("{}/recover/{reset_token}", server.base))
        .send()
        .await
        .unwrap();
    // A proxy's own plain request id is kept, so one id follows the request through both.
    let res = http
        .get(format!("{}/healthz", server.base))
        .header("x-request-id", "proxy-7f3a")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "proxy-7f3a");
    request_ids.push("proxy-7f3a".into());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let log = server.log.lock().unwrap().clone();
    let key = std::fs::read(dir.join("secret.key")).unwrap();
    for secret in [
        password,
        "wrong zebra",
        &token,
        &hex::encode(&key),
        reset_token,
    ] {
        assert!(
            !log.contains(secret),
            "the log must not contain {secret:?}:\n{log}"
        );
    }
    Exercised { log, request_ids }
}

/// A `twofold serve` process on a fresh data folder and database, with one user logged in.
struct Operated {
    _tmp: tempfile::TempDir,
    dir: std::path::PathBuf,
    url: String,
    server: Running,
    http: reqwest::Client,
    creds: Value,
    token: String,
}

async fn operated(username: &str) -> Operated {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let url = match common::engine() {
        common::Engine::Sqlite => format!("sqlite://{}?mode=rwc", dir.join("twofold.db").display()),
        common::Engine::Postgres => common::fresh_database(tmp.path()).await,
    };
    let server = serve(&dir, &url);
    twofold::install_tls_provider();
    let http = reqwest::Client::new();
    let creds = json!({"username": username, "password": format!("{username}'s long password")});
    http.post(format!("{}/api/v1/accounts", server.base))
        .json(&creds)
        .send()
        .await
        .unwrap();
    let res = http
        .post(format!("{}/api/v1/sessions", server.base))
        .json(&creds)
        .send()
        .await
        .unwrap();
    let token = res.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    Operated {
        _tmp: tmp,
        dir,
        url,
        server,
        http,
        creds,
        token,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_cli_lists_disables_and_enables_accounts() {
    let Operated {
        _tmp,
        dir,
        url,
        server,
        http,
        creds,
        token,
    } = operated("carol").await;

    let (code, out, _) = run(&dir, &url, &["user", "list"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("carol") && out.contains("active") && out.contains("1 account"),
        "{out}"
    );

    let (code, out, _) = run(&dir, &url, &["user", "disable", "Carol"]);
    assert_eq!(code, 0, "{out}");
    let me = http
        .get(format!("{}/api/v1/me", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.status(),
        StatusCode::UNAUTHORIZED,
        "disabling ends sessions at once"
    );
    let login = http
        .post(format!("{}/api/v1/sessions", server.base))
        .json(&creds)
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        login.json::<Value>().await.unwrap()["error"]["code"],
        "account_disabled"
    );
    let (_, out, _) = run(&dir, &url, &["user", "show", "carol"]);
    assert!(
        out.contains("disabled since") && out.contains("account disabled by the operator"),
        "{out}"
    );

    let (code, _, _) = run(&dir, &url, &["user", "enable", "carol"]);
    assert_eq!(code, 0);
    let login = http
        .post(format!("{}/api/v1/sessions", server.base))
        .json(&creds)
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::CREATED);

    let (code, _, err) = run(&dir, &url, &["user", "disable", "nobody"]);
    assert_eq!(code, 2);
    assert!(err.contains("no account is called"), "{err}");
}

/// Issue 10: `twofold user logout`, and every operator change records who (the OS user)
/// and, with `--reason`, why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_log_users_out_and_their_changes_are_recorded() {
    let Operated {
        _tmp,
        dir,
        url,
        server,
        http,
        creds: _,
        token,
    } = operated("olga").await;
    let mut cmd = base_command(&dir, &url);
    let out = cmd
        .env("USER", "ops-anna")
        .args(["user", "logout", "olga", "--reason", "laptop stolen"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("logged out everywhere (1 session ended)"),
        "{stdout}"
    );
    let me = http
        .get(format!("{}/api/v1/me", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.status(),
        StatusCode::UNAUTHORIZED,
        "the session ended at once"
    );
    let out = base_command(&dir, &url)
        .env("USER", "ops-anna")
        .args(["user", "disable", "olga", "--reason", "ticket 4711"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let (_, out, _) = run(&dir, &url, &["user", "show", "olga"]);
    assert!(
        out.contains("every session ended by the operator (laptop stolen)")
            && out.contains("(ticket 4711)")
            && out.contains("operator ops-anna"),
        "{out}"
    );
    let (code, _, err) = run(&dir, &url, &["user", "logout", "nobody"]);
    assert_eq!(code, 2);
    assert!(err.contains("no account is called"), "{err}");
}

#[test]
fn help_is_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["user", "--help"],
        &["user", "disable", "--help"],
    ] {
        let (code, out, _) = run(tmp.path(), "sqlite::memory:", args);
        assert_eq!(code, 0, "{args:?}");
        assert!(out.contains("Usage: twofold"), "{args:?}: {out}");
    }
    let (_, out, _) = run(tmp.path(), "sqlite::memory:", &["serve", "--help"]);
    for flag in [
        "--listen",
        "--data-dir",
        "--database-url",
        "TWOFOLD_LISTEN",
        "--config",
    ] {
        assert!(out.contains(flag), "{flag} in serve --help");
    }
}

#[test]
fn a_bad_config_says_what_is_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("twofold.toml");
    std::fs::write(&file, "listen = \"not an address\"\n").unwrap();
    let (code, _, err) = run(
        tmp.path(),
        "sqlite::memory:",
        &["serve", "--config", file.to_str().unwrap()],
    );
    assert_ne!(code, 0);
    assert!(
        err.contains("twofold.toml") && err.contains("listen"),
        "{err}"
    );
    let (code, _, err) = run(
        tmp.path(),
        "mysql://nope",
        &["serve", "--listen", "127.0.0.1:0"],
    );
    assert_ne!(code, 0);
    assert!(err.contains("sqlite: or postgres://"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_can_reset_two_factor_for_a_locked_out_user() {
    let Operated {
        _tmp,
        dir,
        url,
        server,
        http,
        creds,
        token,
    } = operated("dana").await;
    let res = http
        .post(format!("{}/api/v1/me/two-factor/sms", server.base))
        .bearer_auth(&token)
        .json(&json!({"phone": "+1 415 555 2671"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let outbox = std::fs::read_to_string(dir.join("sms-outbox.jsonl")).unwrap();
    let code = crate::helpers::first_six_digits(
        serde_json::from_str::<Value>(outbox.lines().last().unwrap()).unwrap()["body"]
            .as_str()
            .unwrap(),
    );
    let res = http
        .post(format!("{}/api/v1/me/two-factor/sms/confirm", server.base))
        .bearer_auth(&token)
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (_, out, _) = run(&dir, &url, &["user", "show", "dana"]);
    assert!(
        out.contains("two-factor:     on since")
            && out.contains("text message")
            && out.contains("10 backup codes left"),
        "{out}"
    );
    assert!(!out.contains(&code), "no codes in the CLI output");
    let login = http
        .post(format!("{}/api/v1/sessions", server.base))
        .json(&creds)
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::ACCEPTED);

    // Without a terminal and without --yes, nothing happens.
    let (code_rc, _, err) = run(&dir, &url, &["user", "reset-2fa", "dana"]);
    assert_ne!(code_rc, 0);
    assert!(err.contains("--yes"), "{err}");
    let login = http
        .post(format!("{}/api/v1/sessions", server.base))
        .json(&creds)
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::ACCEPTED, "still on");
    let (code_rc, out, _) = run(&dir, &url, &["user", "reset-2fa", "dana", "--yes"]);
    assert_eq!(code_rc, 0, "{out}");
    let login = http
        .post(format!("{}/api/v1/sessions", server.base))
        .json(&creds)
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::CREATED);
    let t = login.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let events: Value = http
        .get(format!("{}/api/v1/me/activity", server.base))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "two_factor_reset_by_operator")
    );
    let outbox = std::fs::read_to_string(dir.join("sms-outbox.jsonl")).unwrap();
    assert!(
        outbox
            .lines()
            .last()
            .unwrap()
            .contains("turned off by the operator")
    );
}

/// Issue 12: `twofold bench seed` makes accounts that log in for real: the shared password
/// and each exported backup code work once, a code works for its own account only, and a
/// database that already holds accounts is refused unless --force.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_seed_makes_accounts_that_log_in_with_their_backup_codes() {
    if common::engine() != common::Engine::Sqlite {
        return; // the same store code; PostgreSQL runs it in the store tests' engine pass
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let url = format!("sqlite://{}?mode=rwc", dir.join("twofold.db").display());
    let export = tmp.path().join("sample.json");
    let export_arg = export.to_str().unwrap();
    let (code, out, err) = run(
        &dir,
        &url,
        &[
            "bench",
            "seed",
            "--accounts",
            "25",
            "--export",
            export_arg,
            "--export-count",
            "5",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("seeded 25 accounts (250 backup codes)"),
        "{out}"
    );
    assert!(out.contains("accounts/s"), "{out}");

    let (code, _, err) = run(&dir, &url, &["bench", "seed", "--accounts", "5"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("already holds 25 accounts") && err.contains("--force"),
        "{err}"
    );
    let (code, out, err) = run(&dir, &url, &["bench", "seed", "--accounts", "5", "--force"]);
    assert_eq!(code, 0, "{out}{err}");
    let (_, list, _) = run(&dir, &url, &["user", "list"]);
    assert!(
        list.contains("30 accounts") && list.contains("seed29"),
        "{list}"
    );

    let sample: Value = serde_json::from_slice(&std::fs::read(&export).unwrap()).unwrap();
    let accounts = sample["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 5);
    let password = sample["password"].as_str().unwrap();
    let server = serve(&dir, &url);
    twofold::install_tls_provider();
    let http = reqwest::Client::new();
    let challenge = |username: String| {
        let http = http.clone();
        let base = server.base.clone();
        async move {
            let res = http
                .post(format!("{base}/api/v1/sessions"))
                .json(&json!({"username": username, "password": password}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::ACCEPTED, "two-factor is on");
            res.json::<Value>().await.unwrap()["challenge"].clone()
        }
    };
    let step = |c: Value, code: String| {
        let http = http.clone();
        let base = server.base.clone();
        async move {
            http.post(format!("{base}/api/v1/sessions/two-factor"))
                .json(&json!({"challenge": c, "method": "backup_code", "code": code}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let first = &accounts[0];
    let other = &accounts[1];
    let user = first["username"].as_str().unwrap().to_owned();
    let codes: Vec<String> = serde_json::from_value(first["codes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);
    let theirs: Vec<String> = serde_json::from_value(other["codes"].clone()).unwrap();
    assert_ne!(codes, theirs, "every account has its own codes");
    // Another account's code is refused, then the account's own code logs in, once.
    let c = challenge(user.clone()).await;
    assert_eq!(
        step(c.clone(), theirs[0].clone()).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(step(c, codes[3].clone()).await, StatusCode::CREATED);
    let c = challenge(user.clone()).await;
    assert_ne!(
        step(c, codes[3].clone()).await,
        StatusCode::CREATED,
        "used up"
    );
    let c = challenge(other["username"].as_str().unwrap().to_owned()).await;
    assert_eq!(step(c, theirs[9].clone()).await, StatusCode::CREATED);
    let log = server.log.lock().unwrap().clone();
    assert!(!log.contains(&codes[3]) && !log.contains(password), "{log}");
}

/// Issue 21, item 16: a failed login is logged with the name as typed (escaped, so a typed
/// line break cannot forge a line), the client address and the target — never the password;
/// a forward-auth refusal with the address and the URL it was for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_logged_with_name_address_and_target() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let url = match common::engine() {
        common::Engine::Sqlite => format!("sqlite://{}?mode=rwc", dir.join("twofold.db").display()),
        common::Engine::Postgres => common::fresh_database(tmp.path()).await,
    };
    let server = serve(&dir, &url);
    twofold::install_tls_provider();
    let http = reqwest::Client::new();
    let secret = "not-my-password-9f3a";
    let res = http
        .post(format!("{}/api/v1/sessions", server.base))
        .json(&json!({"username": "mallory\nINFO forged line", "password": secret}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = http
        .get(format!("{}/api/authz/forward-auth", server.base))
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "intranet.example.test")
        .header("x-forwarded-uri", "/payroll")
        .header("x-forwarded-for", "198.51.100.23")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let log = server.log();
    let line = log
        .lines()
        .find(|l| l.contains("login refused"))
        .unwrap_or_else(|| panic!("no login refused line:\n{log}"));
    assert!(
        line.contains(r#"username="mallory\nINFO forged line""#),
        "{line}"
    );
    assert!(line.contains("127.0.0.1"), "{line}");
    assert!(line.contains("POST /api/v1/sessions"), "{line}");
    assert!(
        !log.lines().any(|l| l.starts_with("INFO forged line")),
        "{log}"
    );
    assert!(!log.contains(secret), "the password reached the log");
    let line = log
        .lines()
        .find(|l| l.contains("forward-auth refused"))
        .unwrap_or_else(|| panic!("no forward-auth refusal line:\n{log}"));
    assert!(line.contains("198.51.100.23"), "{line}");
    assert!(
        line.contains("GET intranet.example.test/payroll") && line.contains("denied by the rules"),
        "{line}"
    );
}

/// Issue 21, item 13: look-alikes of a loopback redirect URI are refused by `client add`
/// with a message; the exact loopback hosts are accepted on any port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_redirect_uris_are_exact() {
    let app = crate::helpers::TestApp::spawn().await;
    let (dir, url) = (app.data_dir.path(), app.config.database_url.as_str());
    for bad in [
        "http://localhost:80@evil.example/cb",
        "http://127.evil.example/cb",
        "http://127.0.0.1.evil.example/cb",
        "http://evil.example\\.localhost/cb",
        "http://app.example.test/cb",
        "https://app.example.com/cb#frag",
        "https://*.example.com/cb",
    ] {
        let (code, _, err) = run(
            dir,
            url,
            &["client", "add", "--name", "X", "--redirect-uri", bad],
        );
        assert_eq!(code, 2, "{bad} was accepted");
        assert!(err.contains(bad), "the message names the URI: {err}");
    }
    for good in [
        "http://127.0.0.1:8400/cb",
        "http://[::1]:9000/cb",
        "http://localhost/cb",
        "https://app.example.com/cb",
    ] {
        let (code, _, err) = run(
            dir,
            url,
            &[
                "client",
                "add",
                "--name",
                "X",
                "--redirect-uri",
                good,
                "--json",
            ],
        );
        assert_eq!(code, 0, "{good}: {err}");
    }
}

/// Logs written to a file or a pipe are plain text: no colour codes, even without
/// `NO_COLOR` (issue 23). (The other tests set `NO_COLOR=1`; this one removes it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_to_a_pipe_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("twofold.db").display()
    );
    let mut cmd = base_command(dir.path(), &url);
    cmd.env_remove("NO_COLOR");
    let out = cmd
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = out;
    let stderr = child.stderr.take().unwrap();
    let mut seen = String::new();
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("listening on") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen.contains("listening on"), "{seen}");
    assert!(
        !seen.contains('\u{1b}'),
        "colour codes in a piped log:\n{seen:?}"
    );
}
