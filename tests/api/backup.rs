//! `twofold backup` and `twofold restore` (issue 12): a copy made while the server is busy
//! restores into a fresh folder where a backup code from before still logs in; a restore
//! refuses a running server's folder, an existing database without `--force`, and a
//! `secret.key` that is not the backup's. On PostgreSQL both point at pg_dump.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::cli::serve_with;
use crate::common;
use crate::helpers::TestApp;

const BIN: &str = env!("CARGO_BIN_EXE_twofold");

/// Runs the binary on `dir` (its default SQLite database unless `url`): exit code, stdout
/// and stderr.
async fn twofold(dir: &Path, url: Option<&str>, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("TWOFOLD_DATA_DIR", dir)
        .args(args);
    if let Some(url) = url {
        cmd.env("TWOFOLD_DATABASE_URL", url);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Password, then a backup code, on the server at `base`: the second step's status.
async fn log_in_with_code(
    http: &reqwest::Client,
    base: &str,
    user: &crate::helpers::TestUser,
    code: &str,
) -> StatusCode {
    let res = http
        .post(format!("{base}/api/v1/sessions"))
        .json(&json!({"username": user.username, "password": user.password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let challenge: Value = res.json().await.unwrap();
    http.post(format!("{base}/api/v1/sessions/two-factor"))
        .json(&json!({"challenge": challenge["challenge"], "method": "backup_code", "code": code}))
        .send()
        .await
        .unwrap()
        .status()
}

fn copy_key(from: &Path, to: &Path) {
    std::fs::copy(from.join("secret.key"), to.join("secret.key")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            to.join("secret.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_restores_and_its_backup_codes_log_in() {
    let app = TestApp::spawn_with(|c| c.sign_ups_per_address_hour = 100_000).await;
    let dir = app.data_dir.path().to_owned();
    let url = app.config.database_url.clone();
    if common::engine() == common::Engine::Postgres {
        let never = dir.join("never-written.db");
        let (code, _, err) = twofold(&dir, Some(&url), &["backup", never.to_str().unwrap()]).await;
        assert!(!never.exists());
        assert_eq!(code, 2);
        assert!(err.contains("pg_dump"), "{err}");
        return;
    }
    let user = app.signup().await;
    let token = app.login(&user).await;
    let (_secret, codes) = app.enable_totp(&token).await;

    // Sign-ups and logins pour in while the copy is made.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let (http, base, stop) = (app.http.clone(), app.base.clone(), stop.clone());
        tokio::spawn(async move {
            let mut made = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let res = http
                    .post(format!("{base}/api/v1/accounts"))
                    .json(&json!({"username": format!("load{made}"), "password": "loaded with work to do"}))
                    .send()
                    .await
                    .unwrap();
                assert!(!res.status().is_server_error());
                made += 1;
            }
            made
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("twofold-backup.db");
    let file_s = file.to_str().unwrap();
    let (code, said, err) = twofold(&dir, Some(&url), &["backup", file_s]).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let made = load.await.unwrap();
    assert_eq!(code, 0, "{err}");
    assert!(
        said.contains("backed up") && said.contains("secret.key"),
        "{said}"
    );
    assert!(made > 0);
    // A backup never overwrites.
    let (code, _, err) = twofold(&dir, Some(&url), &["backup", file_s]).await;
    assert_eq!(code, 2);
    assert!(err.contains("already exists"), "{err}");
    // Not under a running server.
    let (code, _, err) = twofold(&dir, Some(&url), &["restore", file_s, "--force"]).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is in use"), "{err}");

    // Into a fresh folder: the key is asked for, then the server logs in with a code.
    let fresh = tempfile::tempdir().unwrap();
    let target = fresh.path().join("data");
    let (code, said, err) = twofold(&target, None, &["restore", file_s]).await;
    assert_eq!(code, 0, "{err}");
    assert!(said.contains("now copy the secret.key"), "{said}");
    copy_key(&dir, &target);
    let db = format!("sqlite://{}?mode=rwc", target.join("twofold.db").display());
    let restored = serve_with(&target, &db, &[]);
    let http = reqwest::Client::new();
    assert_eq!(
        log_in_with_code(&http, &restored.base, &user, &codes[0]).await,
        StatusCode::CREATED,
        "a backup code from before the backup"
    );
    let (code, _, err) = twofold(&target, None, &["restore", file_s, "--force"]).await;
    assert_eq!(code, 2);
    assert!(err.contains("is in use"), "{err}");
    drop(restored);

    // A stopped server's database is replaced only with --force, and only with its key.
    let (code, _, err) = twofold(&target, None, &["restore", file_s]).await;
    assert_eq!(code, 2);
    assert!(err.contains("--force"), "{err}");
    let (code, said, err) = twofold(&target, None, &["restore", file_s, "--force"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(said.contains("is the key of this backup"), "{said}");
    // The replaced database (the one where codes[0] was used) is kept aside, and the
    // restored one is the backup's: codes[0] is unused there again.
    assert!(said.contains("before-restore"), "{said}");
    assert!(target.join("twofold.db.before-restore").exists());
    assert!(!target.join(".twofold-restore.db").exists());
    let again = serve_with(&target, &db, &[]);
    assert_eq!(
        log_in_with_code(&http, &again.base, &user, &codes[0]).await,
        StatusCode::CREATED,
        "the restored database is the backup's"
    );
    drop(again);
    let other = tempfile::tempdir().unwrap();
    let wrong = other.path().join("data");
    std::fs::create_dir(&wrong).unwrap();
    copy_key(&dir, &wrong);
    std::fs::write(wrong.join("secret.key"), [7u8; 32]).unwrap();
    let (code, _, err) = twofold(&wrong, None, &["restore", file_s]).await;
    assert_ne!(code, 0);
    assert!(err.contains("not the key of this backup"), "{err}");
    assert!(!wrong.join("twofold.db").exists(), "nothing was changed");
    // Something that is not a backup is refused before anything is touched.
    let junk = out.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all").unwrap();
    let (code, _, err) = twofold(
        &target,
        None,
        &["restore", junk.to_str().unwrap(), "--force"],
    )
    .await;
    assert_ne!(code, 0);
    assert!(err.contains("junk.db"), "{err}");
}

/// Issue 21, item 14: a backup's destination that is a symbolic link to a missing file is
/// refused, not followed (it does not "exist", yet SQLite would write through it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_refuses_a_dangling_symlink() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    let target = elsewhere.join("written-through-the-link.db");
    let link = tmp.path().join("backup.db");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let url = format!("sqlite://{}?mode=rwc", data.join("twofold.db").display());
    let (code, _, err) = twofold(&data, Some(&url), &["backup", link.to_str().unwrap()]).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("symbolic link"), "{err}");
    assert!(!target.exists(), "the backup was written through the link");
}
