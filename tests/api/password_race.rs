//! Issue 10, High 2 — a password change must end every login that started with the old
//! password. A login read the account, hashed for a while, then inserted its session without
//! checking the password was still the one it verified; a pending re-hash even wrote the old
//! password back. The session, the challenge and the re-hash are now bound to the
//! credential version the login verified.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use twofold::crypto::Argon2Params;

use crate::helpers::TestApp;

/// The race, made certain rather than lucky: the account's hash is slow (made under heavy
/// argon2 parameters), the server now uses light ones. The change starts first; the login
/// starts while the change is still checking the current password, so it reads the old hash
/// and finishes its own (slow) check after the change has committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_in_flight_does_not_survive_a_password_change() {
    let heavy = Argon2Params {
        memory_kib: 65_536,
        iterations: 4,
        parallelism: 1,
    };
    let app = TestApp::spawn_with(|c| c.argon2 = heavy).await;
    let user = app.signup().await;
    let started = Instant::now();
    let token = app.login(&user).await; // same parameters: no re-hash, the hash stays slow
    let slow = started.elapsed();
    let (dir, url) = app.stop().await;
    let app = TestApp::spawn_on(dir, url, |_| {}).await;

    let change = {
        let http = app.http.clone();
        let url = app.url("/api/v1/me/password");
        let body =
            json!({"current_password": user.password, "new_password": "a brand new passphrase"});
        tokio::spawn(async move {
            http.post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    tokio::time::sleep(slow / 3).await;
    let login = app.try_login(&user, &user.password).await;
    assert_eq!(change.await.unwrap(), StatusCode::NO_CONTENT);
    let status = login.status();
    let body: serde_json::Value = login.json().await.unwrap();
    if let Some(t) = body["token"].as_str() {
        // If the login won the race outright, the change must have ended its session.
        let me = app.get("/api/v1/me", Some(t)).await;
        assert_eq!(
            me.status(),
            StatusCode::UNAUTHORIZED,
            "a session made with the old password outlived the change"
        );
    } else {
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        app.try_login(&user, &user.password).await.status(),
        StatusCode::UNAUTHORIZED,
        "the old password must not have been written back by a re-hash"
    );
    let mut fresh = user.clone();
    fresh.password = "a brand new passphrase".into();
    assert_eq!(
        app.try_login(&fresh, &fresh.password).await.status(),
        StatusCode::CREATED
    );
}
