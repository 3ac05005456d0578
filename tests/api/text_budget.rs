//! Issue 10, High 1 — SMS pumping and bombing: one budget for every outgoing text (codes
//! and notices), per account, per destination number, per country and global, counted in
//! the database before sending; numbers that cost money are refused; notices coalesce;
//! sign-ups are throttled per client address. Each test reproduces an attack that worked.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, TestUser, assert_error};

const PHONE: &str = "+1 415 555 2671";
const E164: &str = "+14155552671";

fn texts_to(app: &TestApp, e164: &str) -> usize {
    app.outbox().iter().filter(|m| m["to"] == e164).count()
}

/// A user signed up and logged in from `address` (behind a trusted proxy).
async fn user_from(app: &TestApp, address: &str) -> (TestUser, String) {
    let user = TestUser::generate();
    let body = json!({"username": user.username, "password": user.password});
    for path in ["/api/v1/accounts", "/api/v1/sessions"] {
        let res = app
            .http
            .post(app.url(path))
            .header("x-forwarded-for", address)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
        if path.ends_with("sessions") {
            let v: serde_json::Value = res.json().await.unwrap();
            return (user, v["token"].as_str().unwrap().to_owned());
        }
    }
    unreachable!()
}

/// Attack: 20 password changes sent 20 texts in 2.7 s. Now notices coalesce.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_change_notices_do_not_flood_the_phone() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.enable_sms(&token, PHONE, E164).await;
    let before = texts_to(&app, E164);
    let mut current = user.password.clone();
    for i in 0..20 {
        let new = format!("{} {i}", user.password);
        let res = app
            .post(
                "/api/v1/me/password",
                Some(&token),
                json!({"current_password": current, "new_password": new}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT, "change {i}");
        current = new;
    }
    let sent = texts_to(&app, E164) - before;
    assert_eq!(
        sent, 1,
        "20 changes, one notice (the rest are in the activity)"
    );
    // After the quiet period a new change is told again.
    app.clock.advance(901);
    let res = app
        .post(
            "/api/v1/me/password",
            Some(&token),
            json!({"current_password": current, "new_password": "another long passphrase"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(texts_to(&app, E164) - before, 2);
}

/// Attack: fresh sign-ups each sent a verification text to the same outside number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_accounts_cannot_text_one_number_without_limit() {
    let app = TestApp::spawn_with(|c| c.behind_proxy = true).await;
    let victim = "+1 415 555 0199";
    let mut refused = 0;
    for i in 0..16 {
        let (_, token) = user_from(&app, &format!("198.51.100.{}", i + 1)).await;
        let res = app
            .post(
                "/api/v1/me/two-factor/sms",
                Some(&token),
                json!({"phone": victim}),
            )
            .await;
        match res.status() {
            StatusCode::ACCEPTED => {}
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(res.headers().contains_key("retry-after"));
                refused += 1;
            }
            other => panic!("{other}"),
        }
    }
    assert_eq!(
        texts_to(&app, "+14155550199"),
        10,
        "ten texts an hour to one number"
    );
    assert_eq!(refused, 6);
}

/// The budget is charged by one conditional statement: parallel requests cannot overspend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_requests_cannot_overspend_a_budget() {
    let app = TestApp::spawn_with(|c| c.behind_proxy = true).await;
    let mut tokens = Vec::new();
    for i in 0..16 {
        tokens.push(user_from(&app, &format!("192.0.2.{}", i + 1)).await.1);
    }
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|t| {
            let http = app.http.clone();
            let url = app.url("/api/v1/me/two-factor/sms");
            tokio::spawn(async move {
                http.post(url)
                    .bearer_auth(t)
                    .json(&json!({"phone": "+44 7911 123400"}))
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    let mut accepted = 0;
    for t in tasks {
        if t.await.unwrap() == StatusCode::ACCEPTED {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 10);
    assert_eq!(texts_to(&app, "+447911123400"), 10);
}

/// Attack: premium-rate, shared-cost and satellite numbers were accepted (toll fraud).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_that_cost_money_are_refused() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    for n in [
        "+44 909 879 0000",
        "+44 844 990 0000",
        "+881 631 234 567",
        "+1 900 555 1234",
    ] {
        let res = app
            .post(
                "/api/v1/me/two-factor/sms",
                Some(&token),
                json!({"phone": n}),
            )
            .await;
        let body = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_phone").await;
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("mobile"),
            "{body}"
        );
    }
    assert!(app.outbox().is_empty(), "nothing was sent");
}

/// Attack: sign-ups had no limit per client address (each new account a fresh budget).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ups_are_limited_per_client_address() {
    let app = TestApp::spawn_with(|c| {
        c.behind_proxy = true;
        c.sign_ups_per_address_hour = 10; // the default
    })
    .await;
    let sign_up = |n: usize, address: &'static str| {
        let http = app.http.clone();
        let url = app.url("/api/v1/accounts");
        async move {
            http.post(url)
                .header("x-forwarded-for", address)
                .json(&json!({"username": format!("newcomer{n}"), "password": "a fine long password"}))
                .send()
                .await
                .unwrap()
        }
    };
    for n in 0..10 {
        assert_eq!(
            sign_up(n, "203.0.113.5").await.status(),
            StatusCode::CREATED
        );
    }
    let res = sign_up(10, "203.0.113.5").await;
    let retry: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    assert_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Someone else is not held back, and the hour ends.
    assert_eq!(
        sign_up(11, "203.0.113.6").await.status(),
        StatusCode::CREATED
    );
    app.clock.advance(3601);
    assert_eq!(
        sign_up(12, "203.0.113.5").await.status(),
        StatusCode::CREATED
    );
}

/// Issue 10, Medium 5 — attack: `409 phone_in_use` answered instantly and without limit,
/// telling anyone whose numbers are registered. Asking now spends the text budget first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_numbers_cannot_be_probed_without_limit() {
    let app = TestApp::spawn().await;
    let owner = app.signup().await;
    let token = app.login(&owner).await;
    app.enable_sms(&token, "+44 7911 123456", "+447911123456")
        .await;
    let prober = app.signup().await;
    let token = app.login(&prober).await;
    let mut answers = Vec::new();
    for _ in 0..12 {
        let res = app
            .post(
                "/api/v1/me/two-factor/sms",
                Some(&token),
                json!({"phone": "+44 7911 123456"}),
            )
            .await;
        answers.push(res.status());
    }
    let in_use = answers
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert!(
        in_use <= 10,
        "only the asking account's own budget: {answers:?}"
    );
    assert_eq!(
        answers.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "{answers:?}"
    );
}

/// Review of issue 10: asking about someone's number ("in use") must not spend that
/// number's budget — else probes block its owner's login codes — and a session that spent
/// its account's texts can still not turn 2FA off unannounced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_spend_only_the_prober_and_notices_still_go_out() {
    let app = TestApp::spawn_with(|c| c.behind_proxy = true).await;
    let (owner, owner_token) = user_from(&app, "198.51.100.1").await;
    app.enable_sms(&owner_token, "+44 7911 123456", "+447911123456")
        .await;
    for i in 0..3 {
        let (_, token) = user_from(&app, &format!("198.51.100.{}", 10 + i)).await;
        for _ in 0..10 {
            let res = app
                .post(
                    "/api/v1/me/two-factor/sms",
                    Some(&token),
                    json!({"phone": "+44 7911 123456"}),
                )
                .await;
            assert!(matches!(
                res.status(),
                StatusCode::CONFLICT | StatusCode::TOO_MANY_REQUESTS
            ));
        }
    }
    // 30 probes later the owner still gets a login code.
    let c = app.challenge(&owner).await;
    assert!(c["sms_sent_to"].is_string(), "{c}");

    // A session that used up its account's hourly texts, then turns 2FA off: told anyway.
    let (_, token) = user_from(&app, "198.51.100.30").await;
    app.enable_sms(&token, "+44 7911 123457", "+447911123457")
        .await;
    for _ in 0..12 {
        app.post(
            "/api/v1/me/two-factor/sms",
            Some(&token),
            json!({"phone": "+44 7911 123456"}),
        )
        .await;
    }
    assert_eq!(
        app.delete("/api/v1/me/two-factor", Some(&token))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let last = app
        .outbox()
        .into_iter()
        .rev()
        .find(|m| m["to"] == "+447911123457")
        .unwrap();
    assert!(
        last["body"].as_str().unwrap().contains("turned off"),
        "{last}"
    );
}
