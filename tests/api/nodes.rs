//! Several Twofold nodes on one database: sessions, limits and exactly-once rules hold
//! across nodes because they live in the database. (On SQLite both nodes share the file; on
//! PostgreSQL, the deployment operators use, they share the server.)

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_and_challenges_work_on_any_node() {
    let a = TestApp::spawn().await;
    let b = a.second_node().await;
    let user = a.signup().await;
    let token = b.login(&user).await;
    assert_eq!(
        a.get("/api/v1/me", Some(&token)).await.status(),
        StatusCode::OK,
        "a token from B works on A"
    );
    let (secret, _) = a.enable_totp(&token).await;
    let c = b.challenge(&user).await;
    let res = a.second_step(&c, "totp", &a.totp(&secret, 0)).await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "a challenge from B finishes on A"
    );
    let t: Value = res.json().await.unwrap();
    assert_eq!(
        b.delete("/api/v1/sessions/current", t["token"].as_str())
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        a.get("/api/v1/me", t["token"].as_str()).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lockout_counts_guesses_on_every_node() {
    let a = TestApp::spawn().await;
    let b = a.second_node().await;
    let user = a.signup().await;
    let token = a.login(&user).await;
    let (secret, _) = a.enable_totp(&token).await;
    let wrong = if a.totp(&secret, 0) == "111111" {
        "222222"
    } else {
        "111111"
    };
    for node in [&a, &b] {
        let c = node.challenge(&user).await;
        for _ in 0..4 {
            assert_eq!(
                node.second_step(&c, "totp", wrong).await.status(),
                StatusCode::UNAUTHORIZED
            );
        }
    }
    let c = a.challenge(&user).await;
    assert_eq!(
        a.second_step(&c, "totp", wrong).await.status(),
        StatusCode::UNAUTHORIZED,
        "ninth"
    );
    let c = b.challenge(&user).await;
    assert_eq!(
        b.second_step(&c, "totp", wrong).await.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the tenth, on B, locks"
    );
    let c = a.challenge(&user).await;
    assert_error(
        a.second_step(&c, "totp", &a.totp(&secret, 0)).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
}

/// Issue 12: one backup code sent 200 times at once, half to each node, each on its own
/// challenge, makes exactly one session; the rest are refused and none is a 5xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_code_wins_once_across_nodes() {
    const RACERS: usize = 200;
    let a = TestApp::spawn().await;
    let b = a.second_node().await;
    let user = a.signup().await;
    let token = a.login(&user).await;
    let (_, codes) = a.enable_totp(&token).await;
    // Every challenge first, then every code at the same moment.
    let mut ready = Vec::new();
    for i in 0..RACERS {
        let node = if i % 2 == 0 { &a } else { &b };
        let c = node.challenge(&user).await;
        ready.push((
            node.http.clone(),
            node.url("/api/v1/sessions/two-factor"),
            c,
        ));
    }
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut tasks = Vec::new();
    for (http, url, c) in ready {
        let (code, start) = (codes[0].clone(), std::sync::Arc::clone(&start));
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            http.post(url)
                .json(&json!({"challenge": c["challenge"], "method": "backup_code", "code": code}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| !s.is_server_error()),
        "{statuses:?}"
    );
}
