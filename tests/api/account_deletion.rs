//! Deleting one's own account with a texted code or a passkey (issue 25): `DELETE
//! /api/v1/me` with `{"method":"sms"}` or `{"method":"webauthn"}` answers `403
//! two_factor_required` with a challenge of the deletion's own (a code texted, or the
//! passkey's options); the answer sent with that challenge deletes the account. A wrong code,
//! an assertion for another challenge, a malformed credential or another account's login
//! challenge deletes nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error};
use crate::passkey_keys::Soft;

const E164: &str = "+14155552671";

impl TestApp {
    /// `DELETE /api/v1/me` with this body.
    async fn delete_me(&self, token: &str, body: Value) -> reqwest::Response {
        self.http
            .delete(self.url("/api/v1/me"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// The first answer of a deletion that asked for `method`: a `403` with a challenge.
    async fn deletion_challenge(&self, token: &str, method: &str) -> Value {
        let res = self.delete_me(token, json!({ "method": method })).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "two_factor_required", "{body}");
        assert!(
            body["challenge"].as_str().is_some_and(|c| c.len() == 43),
            "{body}"
        );
        body
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_is_deleted_with_a_texted_code() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.enable_sms(&token, "+1 415 555 2671", E164).await;
    let sent_before = app.outbox().len();

    let asked = app.deletion_challenge(&token, "sms").await;
    assert_eq!(asked["methods"], json!(["sms", "backup_code"]));
    assert!(
        asked["sms_sent_to"]
            .as_str()
            .is_some_and(|m| m.ends_with("71")),
        "{asked}"
    );
    assert_eq!(app.outbox().len(), sent_before + 1, "one code texted");
    let code = app.last_code_to(E164);
    let wrong = if code == "000000" { "111111" } else { "000000" };

    // A wrong code is refused and counted; the account stays.
    let res = app
        .delete_me(
            &token,
            json!({"method": "sms", "challenge": asked["challenge"], "code": wrong}),
        )
        .await;
    assert_error(res, StatusCode::UNAUTHORIZED, "invalid_code").await;
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.status(),
        StatusCode::OK
    );

    // Another account's login challenge answers nothing here, even with its right code.
    let other = app.signup().await;
    let other_token = app.login(&other).await;
    app.enable_sms(&other_token, "+1 415 555 2672", "+14155552672")
        .await;
    let login = app.challenge(&other).await;
    let other_code = app.last_code_to("+14155552672");
    let res = app
        .delete_me(
            &token,
            json!({"method": "sms", "challenge": login["challenge"], "code": other_code}),
        )
        .await;
    assert_error(res, StatusCode::GONE, "challenge_expired").await;
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/v1/me", Some(&other_token)).await.status(),
        StatusCode::OK
    );

    // The right code with its challenge deletes the account.
    let res = app
        .delete_me(
            &token,
            json!({"method": "sms", "challenge": asked["challenge"], "code": code}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.try_login(&user, &user.password).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_is_deleted_with_a_passkey() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let mut key = Soft::new();
    app.add_passkey(&token, &mut key, "Laptop").await;

    let first = app.deletion_challenge(&token, "webauthn").await;
    assert_eq!(first["methods"], json!(["webauthn", "backup_code"]));
    assert!(first["publicKey"]["challenge"].is_string(), "{first}");
    let second = app.deletion_challenge(&token, "webauthn").await;
    assert_ne!(first["challenge"], second["challenge"]);

    // A credential that is not one: 422 naming the field, nothing counted.
    let res = app
        .delete_me(
            &token,
            json!({"method": "webauthn", "challenge": second["challenge"], "credential": {"id": 7}}),
        )
        .await;
    let body = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_credential").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("credential")
    );

    // An assertion made for the first challenge's options, sent with the second: refused.
    let for_first = key.get(&first["publicKey"]);
    let res = app
        .delete_me(
            &token,
            json!({"method": "webauthn", "challenge": second["challenge"], "credential": for_first}),
        )
        .await;
    assert_error(res, StatusCode::UNAUTHORIZED, "invalid_code").await;
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.status(),
        StatusCode::OK
    );

    // The assertion for its own challenge deletes the account.
    let third = app.deletion_challenge(&token, "webauthn").await;
    let credential = key.get(&third["publicKey"]);
    let res = app
        .delete_me(
            &token,
            json!({"method": "webauthn", "challenge": third["challenge"], "credential": credential}),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::NO_CONTENT,
        "{}",
        res.text().await.unwrap()
    );
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

/// A deletion's challenge is no login (it was: the token given for a texted code or a
/// passkey could be answered at `POST /api/v1/sessions/two-factor` for a fresh session
/// without the password), and a login's challenge is no deletion's, even the account's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_challenge_is_not_a_login_and_a_login_challenge_is_not_a_deletion() {
    let app = TestApp::spawn().await;
    let user = crate::helpers::TestUser::generate();
    let res = app
        .post(
            "/api/v1/accounts",
            None,
            json!({"username": user.username, "password": user.password}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let token = app.login(&user).await;
    app.enable_sms(&token, "+1 415 555 2671", E164).await;

    let asked = app.deletion_challenge(&token, "sms").await;
    let code = app.last_code_to(E164);
    let res = app
        .post(
            "/api/v1/sessions/two-factor",
            None,
            json!({"challenge": asked["challenge"], "method": "sms", "code": code}),
        )
        .await;
    assert_error(res, StatusCode::GONE, "challenge_expired").await;
    let res = app
        .post(
            "/api/v1/sessions/two-factor/sms",
            None,
            json!({"challenge": asked["challenge"]}),
        )
        .await;
    assert!(
        !res.status().is_success(),
        "no resend on a deletion's challenge"
    );

    // The account's own login challenge, with its right code, deletes nothing.
    app.clock.advance(31);
    let login = app.challenge(&user).await;
    let login_code = app.last_code_to(E164);
    let res = app
        .delete_me(
            &token,
            json!({"method": "sms", "challenge": login["challenge"], "code": login_code}),
        )
        .await;
    assert_error(res, StatusCode::GONE, "challenge_expired").await;
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.status(),
        StatusCode::OK
    );
    // …and that login still works.
    let res = app.second_step(&login, "sms", &login_code).await;
    assert_eq!(res.status(), StatusCode::CREATED);

    // A code without its challenge is a mistake named, not a new text; texts wait 30 s.
    let res = app
        .delete_me(&token, json!({"method": "sms", "code": "123456"}))
        .await;
    let body = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("challenge")
    );
    app.clock.advance(31);
    app.deletion_challenge(&token, "sms").await;
    let res = app.delete_me(&token, json!({"method": "sms"})).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // The deletion's challenge still deletes the account.
    let res = app
        .delete_me(
            &token,
            json!({"method": "sms", "challenge": asked["challenge"], "code": code}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

/// The last admin is refused before the factor is checked: no backup code is spent on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_admin_spends_no_code_on_a_refused_deletion() {
    let app = TestApp::spawn().await;
    let (admin, secret) = crate::console::two_factor_user(&app).await;
    let (code, out) = crate::console::cli(&app, &["user", "grant-admin", &admin.username]);
    assert_eq!(code, 0, "{out}");
    let challenge = app.challenge(&admin).await;
    let res = app
        .second_step(&challenge, "totp", &app.totp(&secret, 0))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let token = res.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let codes: Value = app
        .post("/api/v1/me/backup-codes", Some(&token), json!({}))
        .await
        .json()
        .await
        .unwrap();
    let first = codes["codes"][0]["code"].as_str().unwrap().to_owned();
    let res = app
        .delete_me(&token, json!({"method": "backup_code", "code": first}))
        .await;
    assert_error(res, StatusCode::CONFLICT, "last_admin").await;
    // The code is still good for a login.
    app.clock.advance(30);
    let challenge = app.challenge(&admin).await;
    let res = app.second_step(&challenge, "backup_code", &first).await;
    assert_eq!(res.status(), StatusCode::CREATED, "the code was not spent");
}
