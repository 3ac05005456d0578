//! Email over HTTP: adding an address with a code, confirming, removing; and security notices
//! that go to the phone and the email from the database's queue — to the old address too,
//! and after a failing provider or a restart, never lost.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, first_six_digits};

const E164: &str = "+14155552671";

impl TestApp {
    /// Every message in the mail outbox.
    pub fn mail(&self) -> Vec<Value> {
        std::fs::read_to_string(self.data_dir.path().join("mail-outbox.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Mail to `to` whose subject contains `words`.
    pub fn mail_to(&self, to: &str, words: &str) -> Vec<Value> {
        self.mail()
            .into_iter()
            .filter(|m| m["to"] == to && m["subject"].as_str().unwrap().contains(words))
            .collect()
    }

    /// Adds and confirms `email` on the account.
    pub async fn add_email(&self, token: &str, email: &str) {
        let res = self
            .post("/api/v1/me/email", Some(token), json!({"email": email}))
            .await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        let code = self.last_mail_code(email);
        let res = self
            .post(
                "/api/v1/me/email/confirm",
                Some(token),
                json!({"code": code}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }

    fn last_mail_code(&self, to: &str) -> String {
        let m = self
            .mail_to(to, "confirmation code")
            .pop()
            .expect("a code email");
        first_six_digits(m["body"].as_str().unwrap())
    }

    /// Waits (up to 10 s) for the notice worker to deliver what `done` looks for.
    pub async fn eventually(&self, what: &str, done: impl Fn(&TestApp) -> bool) {
        for _ in 0..100 {
            if done(self) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("never happened: {what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_is_added_with_a_code_and_removed() {
    let app = TestApp::spawn_with(|c| c.public_url = Some("https://auth.example.com".into())).await;
    let user = app.signup().await;
    let token = app.login(&user).await;

    for bad in [
        "",
        "ann",
        "ann@localhost",
        "Ann <ann@example.com>",
        "ann@@example.com",
    ] {
        let res = app
            .post("/api/v1/me/email", Some(&token), json!({"email": bad}))
            .await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_email").await;
    }
    let res = app
        .post(
            "/api/v1/me/email/confirm",
            Some(&token),
            json!({"code": "123456"}),
        )
        .await;
    assert_error(res, StatusCode::CONFLICT, "nothing_pending").await;

    let res = app
        .post(
            "/api/v1/me/email",
            Some(&token),
            json!({"email": " Ann.Lee@Example.COM "}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code_sent_to"], "A•••@Example.COM");
    let sent = app.mail_to("Ann.Lee@Example.COM", "confirmation code");
    assert_eq!(sent.len(), 1, "{:?}", app.mail());
    let text = sent[0]["body"].as_str().unwrap();
    assert!(
        text.contains("https://auth.example.com"),
        "says which Twofold: {text}"
    );
    assert!(
        sent[0]["html"]
            .as_str()
            .unwrap()
            .starts_with("<!doctype html>")
    );
    let code = first_six_digits(text);
    let wrong = if code == "111111" { "222222" } else { "111111" };
    let res = app
        .post(
            "/api/v1/me/email/confirm",
            Some(&token),
            json!({"code": wrong}),
        )
        .await;
    assert_error(res, StatusCode::UNAUTHORIZED, "invalid_code").await;
    let res = app
        .post(
            "/api/v1/me/email/confirm",
            Some(&token),
            json!({"code": "12ab"}),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "malformed_code").await;
    let res = app
        .post(
            "/api/v1/me/email/confirm",
            Some(&token),
            json!({"code": code}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let me: Value = app
        .get("/api/v1/me", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "A•••@Example.COM");
    // Used once.
    let res = app
        .post(
            "/api/v1/me/email/confirm",
            Some(&token),
            json!({"code": code}),
        )
        .await;
    assert_error(res, StatusCode::CONFLICT, "nothing_pending").await;
    // The new address hears of itself.
    assert_eq!(
        app.mail_to("Ann.Lee@Example.COM", "email address was confirmed")
            .len(),
        1
    );

    // Adding and removing need a recent password.
    app.clock.advance(601);
    let res = app
        .post(
            "/api/v1/me/email",
            Some(&token),
            json!({"email": "x@example.com"}),
        )
        .await;
    assert_error(res, StatusCode::FORBIDDEN, "reauth_required").await;
    let res = app.delete("/api/v1/me/email", Some(&token)).await;
    assert_error(res, StatusCode::FORBIDDEN, "reauth_required").await;
    let res = app
        .post(
            "/api/v1/me/reauth",
            Some(&token),
            json!({"password": user.password}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.delete("/api/v1/me/email", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let me: Value = app
        .get("/api/v1/me", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], Value::Null);
    // The removed address is told.
    assert_eq!(
        app.mail_to("Ann.Lee@Example.COM", "email address was removed")
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_codes_end_the_code_and_sends_are_limited() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let res = app
        .post(
            "/api/v1/me/email",
            Some(&token),
            json!({"email": "ann@example.com"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let code = app.last_mail_code("ann@example.com");
    let wrong = if code == "111111" { "222222" } else { "111111" };
    for _ in 0..5 {
        let res = app
            .post(
                "/api/v1/me/email/confirm",
                Some(&token),
                json!({"code": wrong}),
            )
            .await;
        assert_error(res, StatusCode::UNAUTHORIZED, "invalid_code").await;
    }
    let res = app
        .post(
            "/api/v1/me/email/confirm",
            Some(&token),
            json!({"code": code}),
        )
        .await;
    assert_error(res, StatusCode::UNAUTHORIZED, "invalid_code").await;
    // An hour allows 5 codes per account.
    for _ in 0..4 {
        let res = app
            .post(
                "/api/v1/me/email",
                Some(&token),
                json!({"email": "ann@example.com"}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
    }
    let res = app
        .post(
            "/api/v1/me/email",
            Some(&token),
            json!({"email": "ann@example.com"}),
        )
        .await;
    assert_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_reach_the_phone_and_the_email_and_a_replaced_address() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.enable_sms(&token, "+1 415 555 2671", E164).await;
    app.add_email(&token, "old@example.com").await;
    let res = app
        .post(
            "/api/v1/me/password",
            Some(&token),
            json!({"current_password": user.password, "new_password": "another fine passphrase"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let mail = app.mail_to("old@example.com", "password was changed");
    assert_eq!(mail.len(), 1, "{:?}", app.mail());
    let text = mail[0]["body"].as_str().unwrap();
    assert!(
        text.contains(&format!("@{}", user.username)) && text.contains("127.0.0.1"),
        "{text}"
    );
    assert!(
        !text.contains("another fine passphrase"),
        "no password in a notice"
    );
    let texts: Vec<String> = app
        .outbox()
        .iter()
        .filter(|m| m["to"] == E164)
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        texts.iter().any(|t| t.contains("the password was changed")),
        "{texts:?}"
    );

    // A new address: both the new and the replaced one hear of it.
    // (The session that changed the password stays.)
    app.clock.advance(1);
    let res = app
        .post(
            "/api/v1/me/reauth",
            Some(&token),
            json!({"password": "another fine passphrase"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    app.add_email(&token, "new@example.com").await;
    assert_eq!(
        app.mail_to("new@example.com", "email address was changed")
            .len(),
        1
    );
    assert_eq!(
        app.mail_to("old@example.com", "email address was changed")
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_the_provider_failed_is_delivered_after_a_restart() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.enable_sms(&token, "+1 415 555 2671", E164).await;
    let (dir, url) = app.stop().await;

    // The SMS gateway is down (nothing listens on port 9): the change still happens, and
    // its notice waits in the queue.
    let app = TestApp::spawn_on(dir, url, |c| {
        c.sms.provider = twofold::config::SmsProvider::Http {
            url: "http://127.0.0.1:9/sms".into(),
            token: None,
        };
        c.sms.timeout_secs = 1;
    })
    .await;
    // The session from before the restart is still good (it lives in the database).
    let res = app
        .post(
            "/api/v1/me/password",
            Some(&token),
            json!({"current_password": user.password, "new_password": "another fine passphrase"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let sent = |app: &TestApp| {
        app.outbox().iter().any(|m| {
            m["to"] == E164 && m["body"].as_str().unwrap().contains("password was changed")
        })
    };
    assert!(!sent(&app));
    let (dir, url) = app.stop().await;

    // Back with a working provider: once the retry is due, the worker delivers it.
    let app = TestApp::spawn_on(dir, url, |_| {}).await;
    app.clock.advance(120);
    app.eventually("the queued notice is texted", sent).await;
    // Once.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let n = app
        .outbox()
        .iter()
        .filter(|m| m["to"] == E164 && m["body"].as_str().unwrap().contains("password was changed"))
        .count();
    assert_eq!(n, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_email_page_adds_confirms_and_removes_an_address() {
    use crate::web::csrf_of;
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let (b, _) = crate::web::log_in_through_the_pages(&app, &user).await;
    let page = |b: &reqwest::Client| {
        let url = app.url("/settings/email");
        let b = b.clone();
        async move { b.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let html = page(&b).await;
    assert!(html.contains("No address yet"), "{html}");

    // A bad address: 422, the page says why and keeps what was typed.
    let res = b
        .post(app.url("/settings/email"))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("email", "ann@localhost"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("id=\"email-error\"") && html.contains("value=\"ann@localhost\""),
        "{html}"
    );

    let res = b
        .post(app.url("/settings/email"))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("email", "ann@example.com"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let html = page(&b).await;
    assert!(
        html.contains("Confirm <span class=\"url\">ann@example.com</span>"),
        "{html}"
    );
    let code = app.last_mail_code("ann@example.com");
    let res = b
        .post(app.url("/settings/email/confirm"))
        .form(&[("csrf", csrf_of(&html).as_str()), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/settings/email?done=confirmed");
    let html = page(&b).await;
    assert!(
        html.contains("<strong class=\"url\">ann@example.com</strong>"),
        "{html}"
    );
    let res = b
        .post(app.url("/settings/email/remove"))
        .form(&[("csrf", csrf_of(&html).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(page(&b).await.contains("No address yet"));
}
