//! A notice survives `kill -9`: the change commits with its notice in the queue, the server
//! dies before the notice could go out (the SMS gateway is down), and the next start
//! delivers it — once.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::cli::serve_with;
use crate::common;

const E164: &str = "+14155552671";

fn outbox(dir: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("sms-outbox.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn told(dir: &std::path::Path) -> usize {
    outbox(dir)
        .iter()
        .filter(|m| m["to"] == E164 && m["body"].as_str().unwrap().contains("password was changed"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_is_delivered_after_the_server_was_killed_before_sending_it() {
    let dir = tempfile::tempdir().unwrap();
    let url = common::fresh_database(dir.path()).await;
    twofold::install_tls_provider();
    let http = reqwest::Client::new();
    let (name, password) = ("crashy", "a fine long password");

    // A user with a verified phone (the outbox provider).
    let token = {
        let s = serve_with(dir.path(), &url, &[]);
        let post = |path: &str, token: Option<&str>, body: Value| {
            let mut req = http.post(format!("{}{path}", s.base)).json(&body);
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            req.send()
        };
        let res = post(
            "/api/v1/accounts",
            None,
            json!({"username": name, "password": password}),
        )
        .await
        .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let res = post(
            "/api/v1/sessions",
            None,
            json!({"username": name, "password": password}),
        )
        .await
        .unwrap();
        let token = res.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let res = post(
            "/api/v1/me/two-factor/sms",
            Some(&token),
            json!({"phone": E164}),
        )
        .await
        .unwrap();
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        let code = crate::helpers::first_six_digits(
            outbox(dir.path()).last().unwrap()["body"].as_str().unwrap(),
        );
        let res = post(
            "/api/v1/me/two-factor/sms/confirm",
            Some(&token),
            json!({"code": code}),
        )
        .await
        .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        token
    };

    // The gateway is down (nothing listens on port 9): the password changes, its notice
    // fails and waits for its retry — and the server is killed with SIGKILL right away.
    let mut s = serve_with(
        dir.path(),
        &url,
        &[
            ("TWOFOLD_SMS_PROVIDER", "http"),
            ("TWOFOLD_SMS_HTTP_URL", "http://127.0.0.1:9/sms"),
            ("TWOFOLD_SMS_HOST", "localhost"),
            ("TWOFOLD_SMS_TIMEOUT_SECS", "1"),
        ],
    );
    let res = http
        .post(format!("{}/api/v1/me/password", s.base))
        .bearer_auth(&token)
        .json(&json!({"current_password": password, "new_password": "another fine passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    assert_eq!(told(dir.path()), 0);

    // Its retry is due 30 s after the failure; the test moves that moment to now in the
    // database rather than waiting for it (the queue is the only state the notice has).
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(&url).await.unwrap();
    let due = sqlx::query("UPDATE notices SET next_at = 0 WHERE done_at IS NULL")
        .execute(&mut db)
        .await
        .unwrap();
    assert_eq!(due.rows_affected(), 1, "one notice waits for its retry");
    db.close().await.unwrap();

    // Started again with a working provider: the notice goes out, once.
    let _s = serve_with(dir.path(), &url, &[]);
    for _ in 0..300 {
        if told(dir.path()) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(told(dir.path()), 1, "{:?}", outbox(dir.path()));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(told(dir.path()), 1, "delivered once");
}
