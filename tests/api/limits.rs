//! Limits on guessing passwords live in the database and tell the user when to retry. (The
//! throttle's design — known devices, unknown names, the cap — is in `login_throttle.rs`.)

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, assert_error};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_passwords_from_one_address_pause_it_and_say_when_to_retry() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    for _ in 0..5 {
        assert_error(
            app.try_login(&user, "guess guess guess").await,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        )
        .await;
    }
    // Locked: even the right password waits, and the answer says for how long.
    let res = app.try_login(&user, &user.password).await;
    let retry: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body = assert_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("try again in"),
        "{body}"
    );

    // During the pause a wrong guess gets the same answer as the right password, and is not
    // counted: nothing can be learnt by guessing while paused.
    let res = app.try_login(&user, "still guessing").await;
    assert_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    app.clock.advance(61);
    assert_eq!(
        app.try_login(&user, &user.password).await.status(),
        StatusCode::CREATED,
        "the pause ends"
    );
    // A success resets the count: four more wrong guesses do not pause.
    for _ in 0..4 {
        assert_error(
            app.try_login(&user, "guess guess guess").await,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        )
        .await;
    }
    assert_eq!(
        app.try_login(&user, &user.password).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_lockouts_grow() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    for round in 1..=2 {
        for _ in 0..5 {
            assert_eq!(
                app.try_login(&user, "guess guess guess").await.status(),
                StatusCode::UNAUTHORIZED
            );
        }
        let res = app.try_login(&user, &user.password).await;
        let retry: i64 = res.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(retry, 60 << (round - 1), "round {round}");
        app.clock.advance(retry + 1);
    }
    let events: serde_json::Value = {
        let token = app.login(&user).await;
        app.get("/api/v1/me/activity", Some(&token))
            .await
            .json()
            .await
            .unwrap()
    };
    let kinds: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "login_failed").count(), 10);
    let paused: Vec<&Value> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with("logins paused"))
        })
        .collect();
    assert_eq!(
        paused.len(),
        2,
        "each pause is told on the failure that caused it"
    );
    assert!(paused.iter().all(|e| e["kind"] == "login_failed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_wrong_passwords_are_all_counted() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let http = app.http.clone();
        let url = app.url("/api/v1/sessions");
        let username = user.username.clone();
        tasks.push(tokio::spawn(async move {
            http.post(url)
                .json(&serde_json::json!({"username": username, "password": "parallel guess"}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::UNAUTHORIZED);
    }
    // Exactly five were counted (no lost update), so this address is now paused.
    assert_eq!(
        app.try_login(&user, &user.password).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// Issue 10, Medium 6 (denial of service): one address cannot queue up password hashes in
/// front of everybody else; past 30 a minute it is answered at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_gets_thirty_password_checks_a_minute() {
    let app = TestApp::spawn_with(|c| c.logins_per_address_minute = 30).await;
    let user = app.signup().await; // a sign-up checks a password too: one of the 30
    for _ in 0..29 {
        assert_eq!(
            app.try_login(&user, &user.password).await.status(),
            StatusCode::CREATED
        );
    }
    let res = app.try_login(&user, &user.password).await;
    let retry: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    assert_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    app.clock.advance(2);
    assert_eq!(
        app.try_login(&user, &user.password).await.status(),
        StatusCode::CREATED
    );
}

/// Passkey login options are asked without any credential and each is a row in the
/// database until housekeeping: one address gets as many as it gets password checks (30 a
/// minute), so a flood cannot fill the table (issue 24).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_gets_thirty_passkey_login_options_a_minute() {
    let app = TestApp::spawn_with(|c| c.logins_per_address_minute = 30).await;
    let http = reqwest::Client::new();
    let ask = || {
        http.post(app.url("/api/v1/sessions/passkey/options"))
            .send()
    };
    for _ in 0..30 {
        assert_eq!(ask().await.unwrap().status(), StatusCode::CREATED);
    }
    let res = ask().await.unwrap();
    assert!(res.headers().contains_key("retry-after"));
    assert_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    app.clock.advance(2);
    assert_eq!(ask().await.unwrap().status(), StatusCode::CREATED);
}
