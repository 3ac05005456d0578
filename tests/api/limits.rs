//! Limits on guessing passwords live in the database and tell the user when to retry.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, assert_error};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_wrong_passwords_pause_logins_and_say_when_to_retry() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    for _ in 0..10 {
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
    // A success resets the count: nine more wrong guesses do not lock.
    for _ in 0..9 {
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
        for _ in 0..10 {
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
    assert_eq!(kinds.iter().filter(|k| **k == "login_failed").count(), 20);
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
    for _ in 0..10 {
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
    // Exactly ten were counted (no lost update), so the account is now paused.
    assert_eq!(
        app.try_login(&user, &user.password).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}
