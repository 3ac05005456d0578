//! Issue 10, Medium 4 — a missing `secret.key` was silently re-created, after which every
//! authenticator code answered 500 and every backup code was refused and counted. Now a key
//! is created only for an empty database, the database holds the key's check value, and a
//! missing or different key stops the server with what to do. Admin commands never create
//! a data folder or a key.

use std::process::Command;
use std::sync::Arc;

use twofold::clock::ManualClock;
use twofold::server::Server;

use crate::helpers::{START, TestApp};

async fn app_with_a_user() -> (tempfile::TempDir, String, twofold::config::Config) {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.enable_totp(&token).await;
    let config = app.config.clone();
    let (dir, url) = app.stop().await;
    (dir, url, config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_key_stops_the_server_instead_of_making_a_new_one() {
    let (dir, _url, config) = app_with_a_user().await;
    let key = dir.path().join("secret.key");
    std::fs::remove_file(&key).unwrap();
    let err = Server::build(&config, Arc::new(ManualClock::new(START)))
        .await
        .err()
        .expect("the server must not start without its key");
    let msg = format!("{err:#}");
    assert!(msg.contains("missing") && msg.contains("backup"), "{msg}");
    assert!(!key.exists(), "no new key was made");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_different_key_is_refused() {
    let (dir, _url, config) = app_with_a_user().await;
    let key = dir.path().join("secret.key");
    std::fs::write(&key, [9u8; 32]).unwrap();
    let err = Server::build(&config, Arc::new(ManualClock::new(START)))
        .await
        .err()
        .expect("the server must not start with another key");
    assert!(format!("{err:#}").contains("not the key"), "{err:#}");
}

#[test]
fn admin_commands_create_no_data_folder_and_no_key() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("not-there");
    let out = Command::new(env!("CARGO_BIN_EXE_twofold"))
        .args(["user", "list", "--data-dir"])
        .arg(&dir)
        .env_remove("TWOFOLD_DATABASE_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no Twofold data folder"), "{stderr}");
    assert!(!dir.exists(), "the folder was not created");
}
