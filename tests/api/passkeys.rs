//! Passkeys and security keys (issue 24), over HTTP: adding one (the first turns 2FA on with
//! backup codes), the second step with method `webauthn`, logging in without a password
//! with and without user verification, and every refusal — a replayed assertion, another
//! challenge, origin or relying party, a cloned authenticator, a malformed or oversized
//! credential, the eleventh passkey — counted like a wrong code where a login is at stake.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::helpers::{TestApp, assert_error};
use super::oidc_flow::twofold;
use super::passkey_keys::{Soft, TestKey};

/// The kinds of the account's activity, newest first.
async fn activity(app: &TestApp, token: &str) -> Vec<String> {
    let body: Value = app
        .get("/api/v1/me/activity", Some(token))
        .await
        .json()
        .await
        .unwrap();
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

async fn me(app: &TestApp, token: &str) -> Value {
    app.get("/api/v1/me", Some(token))
        .await
        .json()
        .await
        .unwrap()
}

async fn token_of(res: reqwest::Response) -> String {
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "{}",
        res.text().await.unwrap()
    );
    let body: Value = res.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_passkey_is_added_listed_and_used_as_the_second_factor() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let mut key = Soft::new();

    // The first passkey turns 2FA on and brings the first backup codes.
    let added = app.add_passkey(&token, &mut key, " Work laptop ").await;
    assert_eq!(added["name"], "Work laptop");
    assert_eq!(added["backup_codes"].as_array().unwrap().len(), 10);
    let account = me(&app, &token).await;
    assert_eq!(account["passkeys"], 1);
    assert_eq!(account["two_factor"]["enabled"], true);
    let list: Value = app
        .get("/api/v1/me/passkeys", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    let item = &list["passkeys"][0];
    assert_eq!(item["id"], added["id"]);
    assert_eq!(item["name"], "Work laptop");
    assert!(item["created_at"].is_string());
    assert!(item["last_used_at"].is_null());

    // The second step offers it first, and takes it.
    let challenge = app.challenge(&user).await;
    assert_eq!(challenge["default_method"], "webauthn");
    assert_eq!(challenge["methods"], json!(["webauthn", "backup_code"]));
    let options = app.webauthn_options(&challenge).await;
    let signed = key.get(&options);
    let new_token = token_of(app.webauthn_step(&challenge, &signed).await).await;
    let list: Value = app
        .get("/api/v1/me/passkeys", Some(&new_token))
        .await
        .json()
        .await
        .unwrap();
    assert!(list["passkeys"][0]["last_used_at"].is_string());
    let kinds = activity(&app, &new_token).await;
    assert_eq!(kinds[0], "login_passkey", "{kinds:?}");
    assert!(kinds.contains(&"passkey_added".to_owned()), "{kinds:?}");
    assert!(
        kinds.contains(&"two_factor_enabled".to_owned()),
        "{kinds:?}"
    );

    // A flow belongs to the session that started it.
    let options = app.passkey_options(&new_token).await;
    let credential = Soft::new().create(&options["publicKey"]);
    let res = app
        .post(
            "/api/v1/me/passkeys",
            Some(&token),
            json!({"flow": options["flow"], "name": "Other", "credential": credential}),
        )
        .await;
    assert_error(res, StatusCode::GONE, "flow_expired").await;
}

#[tokio::test]
async fn a_replayed_assertion_or_one_for_another_challenge_is_refused_and_counted() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let mut key = Soft::new();
    app.add_passkey(&token, &mut key, "Key").await;

    let first = app.challenge(&user).await;
    let signed = key.get(&app.webauthn_options(&first).await);
    token_of(app.webauthn_step(&first, &signed).await).await;
    // The same assertion again: its challenge is finished.
    assert_error(
        app.webauthn_step(&first, &signed).await,
        StatusCode::GONE,
        "challenge_expired",
    )
    .await;

    // Replayed on a new login attempt (which asked for its own options): refused, counted.
    let second = app.challenge(&user).await;
    let fresh = app.webauthn_options(&second).await;
    let body = assert_error(
        app.webauthn_step(&second, &signed).await,
        StatusCode::UNAUTHORIZED,
        "invalid_code",
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("4 tries left"),
        "{body}"
    );
    // The options were used up by the refusal: a right answer to them is refused too.
    let late = key.get(&fresh);
    let body = assert_error(
        app.webauthn_step(&second, &late).await,
        StatusCode::UNAUTHORIZED,
        "invalid_code",
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("3 tries left"),
        "{body}"
    );

    // An assertion made for one challenge, sent on another: refused.
    let third = app.challenge(&user).await;
    let fourth = app.challenge(&user).await;
    let for_third = key.get(&app.webauthn_options(&third).await);
    app.webauthn_options(&fourth).await;
    assert_error(
        app.webauthn_step(&fourth, &for_third).await,
        StatusCode::UNAUTHORIZED,
        "invalid_code",
    )
    .await;
    // And the right one still works on its own challenge.
    let again = key.get(&app.webauthn_options(&fourth).await);
    token_of(app.webauthn_step(&fourth, &again).await).await;
}

#[tokio::test]
async fn an_assertion_for_another_origin_or_relying_party_is_refused() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let mut key = TestKey::new(false);
    app.add_passkey(&token, &mut key, "Key").await;

    let mut phished = key.clone();
    phished.origin = "https://twofold.example.net".into();
    let challenge = app.challenge(&user).await;
    let signed = phished.get(&app.webauthn_options(&challenge).await);
    assert_error(
        app.webauthn_step(&challenge, &signed).await,
        StatusCode::UNAUTHORIZED,
        "invalid_code",
    )
    .await;

    let mut other_rp = key.clone();
    other_rp.rp_id = Some("example.net".into());
    let signed = other_rp.get(&app.webauthn_options(&challenge).await);
    assert_error(
        app.webauthn_step(&challenge, &signed).await,
        StatusCode::UNAUTHORIZED,
        "invalid_code",
    )
    .await;
    let kinds = activity(&app, &token).await;
    assert_eq!(
        kinds
            .iter()
            .filter(|k| *k == "second_factor_failed")
            .count(),
        2,
        "{kinds:?}"
    );

    // Registering from another origin is refused too.
    let mut elsewhere = TestKey::new(false);
    elsewhere.origin = "https://twofold.example.net".into();
    let signed = key.get(&app.webauthn_options(&challenge).await);
    let second = token_of(app.webauthn_step(&challenge, &signed).await).await;
    let res = app
        .try_add_passkey(&second, &mut elsewhere, "Phished")
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_credential").await;
}

#[tokio::test]
async fn passwordless_with_user_verification_counts_as_two_factors_and_without_as_one() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let mut verified = TestKey::new(true);
    let mut unverified = TestKey::new(false);
    app.add_passkey(&token, &mut verified, "Phone").await;
    app.add_passkey(&token, &mut unverified, "Key").await;

    // With user verification: a two-factor session, which may add a passkey on a 2FA
    // account (amr ["hwk","user","mfa"]).
    let two = token_of(app.passwordless(&mut verified).await).await;
    assert_eq!(me(&app, &two).await["username"], user.username.as_str());
    app.passkey_options(&two).await;
    // Without: one factor (amr ["hwk"]), which may not.
    let one = token_of(app.passwordless(&mut unverified).await).await;
    let res = app
        .post("/api/v1/me/passkeys/options", Some(&one), json!({}))
        .await;
    assert_error(res, StatusCode::FORBIDDEN, "two_factor_required").await;
    let kinds = activity(&app, &one).await;
    assert_eq!(kinds[0], "login_passkey", "{kinds:?}");

    // A flow is used once.
    let options = app.passwordless_options().await;
    let signed = verified.get(&options["publicKey"]);
    let body = json!({"flow": options["flow"], "credential": signed});
    token_of(
        app.post("/api/v1/sessions/passkey", None, body.clone())
            .await,
    )
    .await;
    assert_error(
        app.post("/api/v1/sessions/passkey", None, body).await,
        StatusCode::GONE,
        "flow_expired",
    )
    .await;

    // A passkey nobody registered: refused.
    let res = app.passwordless(&mut TestKey::new(true)).await;
    assert_error(res, StatusCode::UNAUTHORIZED, "passkey_refused").await;
}

#[tokio::test]
async fn user_verification_required_refuses_an_unverified_passkey() {
    let app = TestApp::spawn_with(|c| c.webauthn.user_verification_required = true).await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let res = app
        .try_add_passkey(&token, &mut TestKey::new(false), "Key")
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_credential").await;
    let mut key = TestKey::new(true);
    app.add_passkey(&token, &mut key, "Phone").await;
    key.uv = false;
    let res = app.passwordless(&mut key).await;
    assert_error(res, StatusCode::UNAUTHORIZED, "passkey_refused").await;
}

#[tokio::test]
async fn a_cloned_passkey_is_refused_counted_and_told() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let mut key = TestKey::new(true);
    app.add_passkey(&token, &mut key, "Phone").await;
    token_of(app.passwordless(&mut key).await).await;
    // A copy made now, then the original goes on: the copy's counter stays behind.
    let copy = key.clone();
    let mut clone = copy.clone();
    let owner = token_of(app.passwordless(&mut key).await).await;
    let body = assert_error(
        app.passwordless(&mut clone).await,
        StatusCode::UNAUTHORIZED,
        "passkey_refused",
    )
    .await;
    assert!(
        body["error"]["message"].as_str().unwrap().contains("copy"),
        "{body}"
    );
    // At the second step too, where it costs one of the attempt's tries.
    let challenge = app.challenge(&user).await;
    clone = copy.clone();
    let signed = clone.get(&app.webauthn_options(&challenge).await);
    let body = assert_error(
        app.webauthn_step(&challenge, &signed).await,
        StatusCode::UNAUTHORIZED,
        "invalid_code",
    )
    .await;
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("copy") && message.contains("4 tries left"),
        "{body}"
    );
    // Told: each refusal is an event with a notice.
    let kinds = activity(&app, &owner).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "passkey_cloned").count(),
        2,
        "{kinds:?}"
    );
    // Counted on the account: ten wrong answers in a row pause the second step.
    for _ in 0..8 {
        clone = copy.clone();
        let res = app.passwordless(&mut clone).await;
        assert_ne!(res.status(), StatusCode::CREATED);
    }
    let res = app.passwordless(&mut key).await;
    assert_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test]
async fn removing_a_passkey_is_recent_told_and_the_last_turns_two_factor_off() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let mut key = TestKey::new(true);
    let added = app.add_passkey(&token, &mut key, "Phone").await;
    let path = format!("/api/v1/me/passkeys/{}", added["id"].as_str().unwrap());
    app.clock.advance(601);
    assert_error(
        app.delete(&path, Some(&token)).await,
        StatusCode::FORBIDDEN,
        "reauth_required",
    )
    .await;
    let res = app
        .post(
            "/api/v1/me/reauth",
            Some(&token),
            json!({"password": user.password}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.delete(&path, Some(&token)).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        app.delete(&path, Some(&token)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let account = me(&app, &token).await;
    assert_eq!(account["passkeys"], 0);
    assert_eq!(account["two_factor"]["enabled"], false);
    let kinds = activity(&app, &token).await;
    assert!(kinds.contains(&"passkey_removed".to_owned()), "{kinds:?}");
    assert!(
        kinds.contains(&"two_factor_disabled".to_owned()),
        "{kinds:?}"
    );
    // A removed passkey logs nobody in.
    let res = app.passwordless(&mut key).await;
    assert_error(res, StatusCode::UNAUTHORIZED, "passkey_refused").await;
}

#[tokio::test]
async fn a_malformed_or_oversized_credential_is_refused_naming_the_field_and_not_counted() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.add_passkey(&token, &mut TestKey::new(true), "Phone")
        .await;
    let options = app.passkey_options(&token).await;
    for credential in [
        json!({"id": 1}),
        json!("a string"),
        json!({"id": "x", "rawId": "!!", "type": "public-key", "response": {}}),
        json!({"padding": "A".repeat(20_000)}),
    ] {
        let res = app
            .post(
                "/api/v1/me/passkeys",
                Some(&token),
                json!({"flow": options["flow"], "name": "Key", "credential": credential}),
            )
            .await;
        let body = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_credential").await;
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("credential"),
            "{body}"
        );
    }
    // The flow was not used by them.
    let credential = TestKey::new(true).create(&options["publicKey"]);
    let res = app
        .post(
            "/api/v1/me/passkeys",
            Some(&token),
            json!({"flow": options["flow"], "name": "Key", "credential": credential}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    let challenge = app.challenge(&user).await;
    for _ in 0..3 {
        let res = app.webauthn_step(&challenge, &json!({"id": []})).await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_credential").await;
    }
    let res = app
        .post(
            "/api/v1/sessions/two-factor",
            None,
            json!({"challenge": challenge["challenge"], "method": "webauthn"}),
        )
        .await;
    let body = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("credential")
    );
    // Nothing was counted: the first refused answer still leaves four tries.
    app.webauthn_options(&challenge).await;
    let signed = TestKey::new(true).get(&app.webauthn_options(&challenge).await);
    let body = assert_error(
        app.webauthn_step(&challenge, &signed).await,
        StatusCode::UNAUTHORIZED,
        "invalid_code",
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("4 tries left")
    );

    let options = app.passwordless_options().await;
    let res = app
        .post(
            "/api/v1/sessions/passkey",
            None,
            json!({"flow": options["flow"], "credential": {"response": 7}}),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_credential").await;
}

#[tokio::test]
async fn an_account_has_at_most_ten_passkeys() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    for i in 0..10 {
        let added = app
            .add_passkey(&token, &mut TestKey::new(true), &format!("Key {i}"))
            .await;
        assert_eq!(added["backup_codes"].is_array(), i == 0, "{added}");
    }
    let res = app
        .post("/api/v1/me/passkeys/options", Some(&token), json!({}))
        .await;
    let body = assert_error(res, StatusCode::CONFLICT, "too_many_passkeys").await;
    assert!(body["error"]["message"].as_str().unwrap().contains("10"));
    assert_eq!(me(&app, &token).await["passkeys"], 10);
}

#[tokio::test]
async fn reset_2fa_and_turning_two_factor_off_remove_passkeys() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let mut key = TestKey::new(true);
    app.add_passkey(&token, &mut key, "Phone").await;
    twofold(&app, &["user", "reset-2fa", "--yes", &user.username]);
    let res = app.passwordless(&mut key).await;
    assert_error(res, StatusCode::UNAUTHORIZED, "passkey_refused").await;
    let token = app.login(&user).await;
    assert_eq!(me(&app, &token).await["passkeys"], 0);

    // Turning 2FA off takes them too.
    let mut key = TestKey::new(true);
    app.add_passkey(&token, &mut key, "Phone").await;
    let res = app.delete("/api/v1/me/two-factor", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(me(&app, &token).await["passkeys"], 0);
    let res = app.passwordless(&mut key).await;
    assert_error(res, StatusCode::UNAUTHORIZED, "passkey_refused").await;
}

/// The real binary's log: a credential that is refused is not written there, neither by
/// Twofold nor by webauthn-rs-core (which logs what it cannot parse, bytes and all).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_credential_is_not_written_to_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let url = crate::common::fresh_database(dir.path()).await;
    let server = crate::cli::serve_with(&dir.path().join("data"), &url, &[]);
    twofold::install_tls_provider();
    let http = reqwest::Client::new();
    let call = |path: &str, token: Option<&str>, body: Value| {
        let mut req = http.post(format!("{}{path}", server.base)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    let user = json!({"username": "logged", "password": "correct horse battery staple 9"});
    assert_eq!(
        call("/api/v1/accounts", None, user.clone())
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
    let session: Value = call("/api/v1/sessions", None, user)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"].as_str().unwrap();
    let options: Value = call("/api/v1/me/passkeys/options", Some(token), json!({}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut credential = TestKey::new(true).create(&options["publicKey"]);
    // An attestation object whose authenticator data is too short to read, with a marker to
    // look for (webauthn-rs-core logs the bytes it could not parse).
    let marker = b"MARKER-7f3c-MARKER";
    let mut object = std::collections::BTreeMap::new();
    object.insert(
        serde_cbor_2::Value::Text("fmt".into()),
        serde_cbor_2::Value::Text("none".into()),
    );
    object.insert(
        serde_cbor_2::Value::Text("attStmt".into()),
        serde_cbor_2::Value::Map(std::collections::BTreeMap::new()),
    );
    object.insert(
        serde_cbor_2::Value::Text("authData".into()),
        serde_cbor_2::Value::Bytes(marker.to_vec()),
    );
    let object = serde_cbor_2::to_vec(&serde_cbor_2::Value::Map(object)).unwrap();
    use base64::Engine as _;
    credential["response"]["attestationObject"] =
        json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&object));
    let res = call(
        "/api/v1/me/passkeys",
        Some(token),
        json!({"flow": options["flow"], "name": "Key", "credential": credential}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let log = server.log();
    assert!(
        log.contains("a passkey registration did not verify"),
        "the refusal is logged:\n{log}"
    );
    assert!(
        !log.contains("MARKER") && !log.contains("77, 65, 82, 75, 69, 82"),
        "the credential reached the log:\n{log}"
    );
    assert!(!log.contains("webauthn_rs_core"), "{log}");
}

/// A passkey is the second factor of a recovery (contract v3): the `403` names `webauthn`
/// first and carries the recovery's challenge for the options; the credential finishes it
/// and sets the password. A later `webauthn` ask re-keys the challenge (the old token dies),
/// and an assertion for another challenge is refused and counted.
#[tokio::test]
async fn a_recovery_is_finished_with_a_passkey() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let email = format!("{}@example.com", user.username);
    app.add_email(&token, &email).await;
    let mut key = TestKey::new(true);
    app.add_passkey(&token, &mut key, "Phone").await;
    app.ask_recovery(&user.username).await;
    let link = app.recovery_token(&email, 1).await;
    let password = "a brand new passphrase 42";
    let res = app
        .complete_recovery(json!({"token": link, "new_password": password}))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let first: Value = res.json().await.unwrap();
    assert_eq!(
        first["methods"],
        json!(["webauthn", "backup_code"]),
        "{first}"
    );
    let challenge = first["challenge"].as_str().expect("a challenge").to_owned();

    // Asking for `webauthn` again gives a new token; the first one stops working.
    let res = app
        .complete_recovery(json!({"token": link, "new_password": password, "method": "webauthn"}))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let again: Value = res.json().await.unwrap();
    let fresh = again["challenge"]
        .as_str()
        .expect("a new challenge")
        .to_owned();
    assert_ne!(fresh, challenge);
    let res = app
        .post(
            "/api/v1/sessions/two-factor/webauthn",
            None,
            json!({"challenge": challenge}),
        )
        .await;
    assert_error(res, StatusCode::GONE, "challenge_expired").await;

    // An assertion for a login's challenge does not finish the recovery.
    let login = app.challenge(&user).await;
    let stray = key.get(&app.webauthn_options(&login).await);
    let res = app
        .complete_recovery(json!({"token": link, "new_password": password, "method": "webauthn", "credential": stray}))
        .await;
    assert_error(res, StatusCode::UNAUTHORIZED, "invalid_code").await;

    let options = app.webauthn_options(&json!({"challenge": fresh})).await;
    let signed = key.get(&options);
    let res = app
        .complete_recovery(json!({"token": link, "new_password": password, "method": "webauthn", "credential": signed}))
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    // The new password is the one now.
    let res = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"username": user.username, "password": password}),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::ACCEPTED,
        "the new password opens the second step"
    );
}

/// Flows live in the database: one started on a node finishes on another, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_started_on_one_node_finishes_on_another() {
    let a = TestApp::spawn().await;
    let b = a.second_node().await;
    let user = a.signup().await;
    let token = a.login(&user).await;
    let mut key = TestKey::new(true);
    let options = a.passkey_options(&token).await;
    let credential = key.create(&options["publicKey"]);
    let body = json!({"flow": options["flow"], "name": "Phone", "credential": credential});
    let res = b
        .post("/api/v1/me/passkeys", Some(&token), body.clone())
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = a.post("/api/v1/me/passkeys", Some(&token), body).await;
    assert_error(res, StatusCode::GONE, "flow_expired").await;

    let options = b.passwordless_options().await;
    let signed = key.get(&options["publicKey"]);
    let login = json!({"flow": options["flow"], "credential": signed});
    token_of(
        a.post("/api/v1/sessions/passkey", None, login.clone())
            .await,
    )
    .await;
    assert_error(
        b.post("/api/v1/sessions/passkey", None, login).await,
        StatusCode::GONE,
        "flow_expired",
    )
    .await;

    let challenge = a.challenge(&user).await;
    let signed = key.get(&a.webauthn_options(&challenge).await);
    token_of(b.webauthn_step(&challenge, &signed).await).await;
}

/// `[webauthn]`: denied and allowed authenticator models, and the attestation asked for.
#[tokio::test]
async fn authenticator_models_can_be_denied_or_allowed() {
    let none = "00000000-0000-0000-0000-000000000000".to_owned();
    let app = TestApp::spawn_with(|c| c.webauthn.denied_aaguids = vec![none.clone()]).await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let res = app
        .try_add_passkey(&token, &mut TestKey::new(true), "Key")
        .await;
    assert_error(res, StatusCode::FORBIDDEN, "authenticator_not_allowed").await;
    assert_eq!(me(&app, &token).await["passkeys"], 0);

    let app = TestApp::spawn_with(|c| {
        c.webauthn.allowed_aaguids = vec!["cb69481e-8ff7-4039-93ec-0a2729a154a8".into()];
        c.webauthn.attestation_direct = true;
    })
    .await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let options = app.passkey_options(&token).await;
    assert_eq!(options["publicKey"]["attestation"], "direct");
    let res = app
        .try_add_passkey(&token, &mut TestKey::new(true), "Key")
        .await;
    assert_error(res, StatusCode::FORBIDDEN, "authenticator_not_allowed").await;
}
