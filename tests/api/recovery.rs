//! "Forgot password?" over HTTP: the same answer for every identifier, a link by email or a
//! code by text, single use, 30 minutes, dead after a password change, and never a way
//! around two-factor authentication (a backup code used here is used up, once).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, assert_error, first_six_digits};

const E164: &str = "+14155552671";
const NEW_PASSWORD: &str = "a brand new passphrase 42";

impl TestApp {
    /// Asks for a reset of `identifier`; asserts the one answer every identifier gets.
    pub async fn ask_recovery(&self, identifier: &str) -> Value {
        let res = self
            .post("/api/v1/recovery", None, json!({"identifier": identifier}))
            .await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        res.json().await.unwrap()
    }

    /// Waits for the reset email to `to` and returns the link's token.
    pub async fn recovery_token(&self, to: &str, nth: usize) -> String {
        self.eventually("a reset email", |app| {
            app.mail_to(to, "Reset your Twofold password").len() >= nth
        })
        .await;
        let mail = self.mail_to(to, "Reset your Twofold password");
        let body = mail[nth - 1]["body"].as_str().unwrap().to_owned();
        let at = body.find("/recover/").expect("a link") + "/recover/".len();
        body[at..at + 43].to_owned()
    }

    /// Waits for the texted reset code to `e164`.
    pub async fn recovery_code(&self, e164: &str) -> String {
        self.eventually("a reset text", |app| {
            app.outbox()
                .iter()
                .any(|m| m["to"] == e164 && m["body"].as_str().unwrap().contains("reset code"))
        })
        .await;
        let msg = self
            .outbox()
            .into_iter()
            .rev()
            .find(|m| m["to"] == e164 && m["body"].as_str().unwrap().contains("reset code"))
            .unwrap();
        first_six_digits(msg["body"].as_str().unwrap())
    }

    pub async fn complete_recovery(&self, body: Value) -> reqwest::Response {
        self.post("/api/v1/recovery/complete", None, body).await
    }

    async fn kinds(&self, token: &str) -> Vec<String> {
        let res = self.get("/api/v1/me/activity", Some(token)).await;
        let body: Value = res.json().await.unwrap();
        body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_owned())
            .collect()
    }
}

fn email_of(user: &TestUser) -> String {
    format!("{}@example.com", user.username)
}

#[tokio::test]
async fn an_email_link_resets_the_password_once_and_ends_every_session() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let first = app.login(&user).await;
    let second = app.login(&user).await;
    app.add_email(&first, &email_of(&user)).await;

    app.ask_recovery(&user.username).await;
    let token = app.recovery_token(&email_of(&user), 1).await;
    // A weak password changes nothing and keeps the link.
    let res = app
        .complete_recovery(json!({"token": token, "new_password": "short"}))
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "weak_password").await;

    let res = app
        .complete_recovery(json!({"token": token, "new_password": NEW_PASSWORD}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let fresh = body["token"].as_str().unwrap().to_owned();
    assert_eq!(body["account"]["username"], user.username.as_str());

    // Every earlier session ended; the new one works; only the new password logs in.
    for old in [&first, &second] {
        let res = app.get("/api/v1/me", Some(old)).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        app.get("/api/v1/me", Some(&fresh)).await.status(),
        StatusCode::OK
    );
    let res = app.try_login(&user, &user.password).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app.try_login(&user, NEW_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::CREATED);

    // The link worked once.
    let res = app
        .complete_recovery(json!({"token": token, "new_password": "another fine passphrase"}))
        .await;
    assert_error(res, StatusCode::GONE, "recovery_expired").await;

    let kinds = app.kinds(&fresh).await;
    assert!(
        kinds.contains(&"recovery_requested".to_owned()),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&"recovery_completed".to_owned()),
        "{kinds:?}"
    );
    // The owner is told the password was reset.
    app.eventually("a notice of the reset", |app| {
        !app.mail_to(&email_of(&user), "password was reset")
            .is_empty()
    })
    .await;
}

#[tokio::test]
async fn every_identifier_gets_the_same_answer_and_only_a_match_gets_mail() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.add_email(&token, &email_of(&user)).await;
    let known = app.ask_recovery(&user.username).await;
    for stranger in ["nobody_here", "nobody@example.com", "+14155550000", "???"] {
        assert_eq!(app.ask_recovery(stranger).await, known);
    }
    // The email address (its domain in any case) and the username name the same account.
    app.ask_recovery(&format!("{}@Example.COM", user.username))
        .await;
    app.recovery_token(&email_of(&user), 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let all = app.mail();
    assert!(
        all.iter().all(|m| m["to"] == email_of(&user).as_str()),
        "mail went only to the account's address: {all:?}"
    );

    // Timing: the answer does the same work either way (the lookup and the sending run
    // after it); the medians of 5 requests each (the per-identifier limit) stay within noise.
    async fn median(app: &TestApp, id: &str) -> u128 {
        let mut times = Vec::new();
        for _ in 0..5 {
            let t = std::time::Instant::now();
            app.ask_recovery(id).await;
            times.push(t.elapsed().as_micros());
        }
        times.sort_unstable();
        times[2]
    }
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.add_email(&token, &email_of(&user)).await;
    let (a, b) = (
        median(&app, &user.username).await,
        median(&app, "no_such_user").await,
    );
    assert!(
        a.abs_diff(b) < 30_000,
        "a known name ({a} µs) and an unknown one ({b} µs) answer alike"
    );
}

#[tokio::test]
async fn limits_hold_per_identifier_and_per_account() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.add_email(&token, &email_of(&user)).await;
    // Three links an hour for one account, whatever it is called by.
    app.ask_recovery(&user.username).await;
    app.ask_recovery(&email_of(&user)).await;
    app.ask_recovery(&user.username).await;
    app.ask_recovery(&email_of(&user)).await;
    app.recovery_token(&email_of(&user), 3).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(app.mail_to(&email_of(&user), "Reset your").len(), 3);
    // Five requests an hour for one identifier, known or not: the same 429 for both.
    for name in [user.username.as_str(), "nobody_at_all"] {
        let mut last = None;
        for _ in 0..6 {
            last = Some(
                app.post("/api/v1/recovery", None, json!({"identifier": name}))
                    .await,
            );
        }
        let res = last.unwrap();
        assert!(res.headers().contains_key("retry-after"));
        assert_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    }
    let res = app
        .post("/api/v1/recovery", None, json!({"identifier": "  "}))
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_identifier").await;
}

#[tokio::test]
async fn two_factor_is_never_bypassed_and_a_backup_code_works_once() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let (secret, codes) = app.enable_totp(&token).await;
    app.add_email(&token, &email_of(&user)).await;
    app.ask_recovery(&user.username).await;
    let link = app.recovery_token(&email_of(&user), 1).await;

    // No second factor: 403, the methods, and nothing changes.
    let res = app
        .complete_recovery(json!({"token": link, "new_password": NEW_PASSWORD}))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "two_factor_required");
    assert_eq!(body["methods"], json!(["totp", "backup_code"]));
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.try_login(&user, &user.password).await.status(),
        StatusCode::ACCEPTED
    );

    // A wrong factor: 401, counted, nothing changes.
    let res = app
        .complete_recovery(json!({"token": link, "new_password": NEW_PASSWORD,
            "method": "totp", "factor_code": app.totp(&secret, 5)}))
        .await;
    assert_error(res, StatusCode::UNAUTHORIZED, "invalid_code").await;
    assert_eq!(
        app.try_login(&user, &user.password).await.status(),
        StatusCode::ACCEPTED
    );

    // Two requests race with one backup code: exactly one resets the password.
    let code = codes[0].clone();
    let body = json!({"token": link, "new_password": NEW_PASSWORD,
        "method": "backup_code", "factor_code": code});
    let (a, b) = tokio::join!(
        app.complete_recovery(body.clone()),
        app.complete_recovery(body)
    );
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses[0], StatusCode::OK, "{statuses:?}");
    assert_ne!(statuses[1], StatusCode::OK, "{statuses:?}");

    // The code is used up: it does not open a login either.
    let res = app.try_login(&user, NEW_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let challenge: Value = res.json().await.unwrap();
    let res = app.second_step(&challenge, "backup_code", &code).await;
    assert_error(res, StatusCode::UNAUTHORIZED, "invalid_code").await;
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn an_email_link_takes_a_texted_second_factor() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.enable_sms(&token, E164, E164).await;
    app.add_email(&token, &email_of(&user)).await;
    app.ask_recovery(&user.username).await;
    let link = app.recovery_token(&email_of(&user), 1).await;
    // Texts are the default: the first answer sends the code.
    let res = app
        .complete_recovery(json!({"token": link, "new_password": NEW_PASSWORD}))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["methods"], json!(["sms", "backup_code"]));
    assert!(
        body["sms_sent_to"].as_str().unwrap().ends_with("71"),
        "{body}"
    );
    let code = app.last_code_to(E164);
    let res = app
        .complete_recovery(json!({"token": link, "new_password": NEW_PASSWORD,
            "method": "sms", "factor_code": code}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.try_login(&user, NEW_PASSWORD).await.status(),
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn a_texted_code_cannot_also_be_its_own_second_factor() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let codes = app.enable_sms(&token, E164, E164).await;
    // No email: the code goes to the 2FA phone, asked for by the number.
    app.ask_recovery(E164).await;
    let code = app.recovery_code(E164).await;
    let by_code = |extra: Value| {
        let mut body =
            json!({"identifier": user.username, "code": code, "new_password": NEW_PASSWORD});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let res = app.complete_recovery(by_code(json!({}))).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["methods"],
        json!(["backup_code"]),
        "the phone cannot stand for both"
    );
    let res = app
        .complete_recovery(by_code(json!({"method": "sms"})))
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_method").await;
    let res = app
        .complete_recovery(by_code(json!({"method": "sms", "factor_code": code})))
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_method").await;
    let res = app
        .complete_recovery(by_code(
            json!({"method": "backup_code", "factor_code": codes[3]}),
        ))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        app.try_login(&user, NEW_PASSWORD).await.status(),
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn a_texted_code_takes_five_wrong_tries_then_dies() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    app.login(&user).await;
    let token = app.login(&user).await;
    app.enable_sms(&token, E164, E164).await;
    // Without 2FA the code alone would do; with it, the backup code is needed: either way
    // the code is checked first.
    app.ask_recovery(&user.username).await;
    let code = app.recovery_code(E164).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let res = app
            .complete_recovery(
                json!({"identifier": user.username, "code": wrong, "new_password": NEW_PASSWORD}),
            )
            .await;
        assert_error(res, StatusCode::UNAUTHORIZED, "invalid_code").await;
    }
    let res = app
        .complete_recovery(
            json!({"identifier": user.username, "code": code, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_error(res, StatusCode::UNAUTHORIZED, "invalid_code").await;
    // A code for someone else's name is refused the same way.
    let res = app
        .complete_recovery(
            json!({"identifier": "someone_else", "code": code, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_error(res, StatusCode::UNAUTHORIZED, "invalid_code").await;
}

#[tokio::test]
async fn a_link_dies_after_30_minutes_and_when_the_password_changes() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.add_email(&token, &email_of(&user)).await;
    app.ask_recovery(&user.username).await;
    let link = app.recovery_token(&email_of(&user), 1).await;
    app.clock.advance(30 * 60);
    let res = app
        .complete_recovery(json!({"token": link, "new_password": NEW_PASSWORD}))
        .await;
    assert_error(res, StatusCode::GONE, "recovery_expired").await;

    // A fresh link, then the owner changes the password: the link is dead.
    app.clock.advance(3600);
    app.ask_recovery(&user.username).await;
    let link = app.recovery_token(&email_of(&user), 2).await;
    let token = app.login(&user).await;
    let res = app
        .post(
            "/api/v1/me/password",
            Some(&token),
            json!({"current_password": user.password, "new_password": "changed it myself ok"}),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let res = app
        .complete_recovery(json!({"token": link, "new_password": NEW_PASSWORD}))
        .await;
    assert_error(res, StatusCode::GONE, "recovery_expired").await;
    // The page says so too, and offers a new link.
    let res = app.get(&format!("/recover/{link}"), None).await;
    assert_eq!(res.status(), StatusCode::GONE);
    assert!(res.text().await.unwrap().contains("ask for a new one"));
    let res = app
        .complete_recovery(json!({"new_password": NEW_PASSWORD}))
        .await;
    assert_error(res, StatusCode::BAD_REQUEST, "invalid_request").await;
}

/// Issue 21, item 5: whoever else holds the link cannot replace the password the owner
/// chose while the owner is in the second step: the same link with another password is
/// refused (`409`), and the owner's factor sets the owner's password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_cannot_replace_a_chosen_password() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.add_email(&token, &email_of(&user)).await;
    let (secret, _) = app.enable_totp(&token).await;
    app.ask_recovery(&user.username).await;
    let link = app.recovery_token(&email_of(&user), 1).await;
    // The owner chooses a password: the second factor is asked for.
    let res = app
        .complete_recovery(json!({"token": link, "new_password": NEW_PASSWORD}))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "two_factor_required", "{body}");
    // Someone else with the link tries to swap in theirs, with and without a factor.
    let theirs = "the attacker's own passphrase 99";
    let res = app
        .complete_recovery(json!({"token": link, "new_password": theirs}))
        .await;
    assert_error(res, StatusCode::CONFLICT, "password_already_chosen").await;
    let res = app
        .complete_recovery(json!({"token": link, "new_password": theirs,
            "method": "totp", "factor_code": app.totp(&secret, 0)}))
        .await;
    assert_error(res, StatusCode::CONFLICT, "password_already_chosen").await;
    // The owner's factor confirms the owner's password.
    let res = app
        .complete_recovery(json!({"token": link, "new_password": NEW_PASSWORD,
            "method": "totp", "factor_code": app.totp(&secret, 0)}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.try_login(&user, theirs).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app.try_login(&user, NEW_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
}

/// Issue 21, item 11: a stranger asking for someone's username uses up the shared budget,
/// not the budget of the owner's own browser (its device cookie logged in before).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_cannot_use_up_the_owners_recovery_budget() {
    let app = TestApp::spawn_with(|c| c.logins_per_address_minute = 0).await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.add_email(&token, &email_of(&user)).await;
    // The owner's browser logs in once through the pages: it now has a device cookie.
    let (owner_browser, _) = crate::web::log_in_through_the_pages(&app, &user).await;
    // A stranger (no device cookie) asks three times an hour: the shared budget is spent.
    for _ in 0..3 {
        app.ask_recovery(&user.username).await;
    }
    app.recovery_token(&email_of(&user), 3).await;
    app.ask_recovery(&user.username).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        app.mail_to(&email_of(&user), "Reset your Twofold password")
            .len(),
        3
    );
    // The owner's browser still gets a link.
    let res = owner_browser
        .post(app.url("/api/v1/recovery"))
        .json(&json!({"identifier": user.username}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    app.recovery_token(&email_of(&user), 4).await;
}
