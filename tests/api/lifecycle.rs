//! One lifecycle for every credential (issue 21, contract v3): every security event ends
//! every credential of the account — browser sessions, API tokens, authorization codes not
//! yet redeemed, access tokens and refresh tokens — but the owner's own session that made
//! the change; ending a session ends the tokens of its grants without `offline_access`;
//! refresh tokens have an absolute end that rotation never moves; a disabled account gets
//! nothing anywhere. On both engines (this binary runs on SQLite and on PostgreSQL) and
//! across two nodes.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{NowTime, TestApp};
use crate::oidc_flow::{
    self, ALL_SCOPES, Pkce, REDIRECT, TestClient, Visitor, active, add_client, claims_of,
    oauth_error, redeem, redeem_with, refresh, userinfo,
};
use crate::web::page;

/// A phone number of its own for each account (a number protects one account only).
fn fresh_phone() -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("+1415555{:04}", 3000 + n)
}
const NEW_PASSWORD: &str = "an entirely new passphrase 77";

/// Everything an account can hold at once: made before the event, checked after it.
struct Held {
    /// The owner's own API session, which makes the owner's changes (and may stay).
    owner: String,
    /// Another API session.
    other_api: String,
    /// A browser with a Twofold session (the one the app's login went through).
    visitor: Visitor,
    /// A code issued but not redeemed yet.
    pending_code: (String, Pkce),
    /// Tokens of an offline grant.
    access: String,
    refresh: String,
    /// Tokens of a grant without offline_access.
    online_access: String,
}

/// An API session of a 2FA account (password, then the authenticator).
async fn api_session(app: &TestApp, v: &Visitor) -> String {
    let challenge = app.challenge(&v.user).await;
    let res = app
        .second_step(&challenge, "totp", &app.totp(v.totp.as_deref().unwrap(), 0))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    app.clock.advance(30);
    let body: Value = res.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

/// A 2FA account (authenticator app, a phone, an email address) holding every kind of
/// credential, made on `app`.
async fn hold_everything(app: &TestApp, client: &TestClient) -> Held {
    let mut visitor = Visitor::sign_up(app).await;
    let first = app.login(&visitor.user).await;
    visitor.totp = Some(app.enable_totp(&first).await.0);
    let phone = fresh_phone();
    app.enable_sms(&first, &phone, &phone).await;
    app.add_email(&first, &format!("{}@example.com", visitor.user.username))
        .await;
    let owner = api_session(app, &visitor).await;
    let other_api = api_session(app, &visitor).await;
    // The browser logs in through the app's authorization request.
    let (code, pkce) = visitor.code(app, client, ALL_SCOPES).await;
    let t = redeem(app, client, &code, &pkce).await;
    let online = visitor.code(app, client, "openid profile").await;
    let online = redeem(app, client, &online.0, &online.1).await;
    assert!(online["refresh_token"].is_null(), "{online}");
    let pending_code = visitor.code(app, client, "openid").await;
    let held = Held {
        owner,
        other_api,
        visitor,
        pending_code,
        access: t["access_token"].as_str().unwrap().to_owned(),
        refresh: t["refresh_token"].as_str().unwrap().to_owned(),
        online_access: online["access_token"].as_str().unwrap().to_owned(),
    };
    // Everything works before the event.
    assert_alive(app, client, &held).await;
    held
}

async fn browser_logged_in(app: &TestApp, v: &Visitor) -> bool {
    let (status, _) = page(&v.browser, app, "/settings/security").await;
    match status {
        StatusCode::OK => true,
        StatusCode::SEE_OTHER => false,
        s => panic!("/settings/security answered {s}"),
    }
}

async fn api_alive(app: &TestApp, token: &str) -> bool {
    match app.get("/api/v1/me", Some(token)).await.status() {
        StatusCode::OK => true,
        StatusCode::UNAUTHORIZED => false,
        s => panic!("/api/v1/me answered {s}"),
    }
}

async fn assert_alive(app: &TestApp, client: &TestClient, h: &Held) {
    assert!(api_alive(app, &h.owner).await);
    assert!(api_alive(app, &h.other_api).await);
    assert!(browser_logged_in(app, &h.visitor).await);
    assert!(active(app, client, &h.access).await);
    assert!(active(app, client, &h.refresh).await);
    assert!(active(app, client, &h.online_access).await);
}

/// After a security event: everything but the owner's own session (when `owner_stays`)
/// is dead — checked on `app`, which may be another node than the one that acted.
async fn assert_all_ended(
    app: &TestApp,
    client: &TestClient,
    h: &Held,
    owner_stays: bool,
    what: &str,
) {
    assert_eq!(
        api_alive(app, &h.owner).await,
        owner_stays,
        "{what}: the owner's session"
    );
    assert!(
        !api_alive(app, &h.other_api).await,
        "{what}: another API token"
    );
    assert!(
        !browser_logged_in(app, &h.visitor).await,
        "{what}: the browser session"
    );
    for (token, kind) in [
        (&h.access, "offline access token"),
        (&h.refresh, "refresh token"),
        (&h.online_access, "access token"),
    ] {
        assert!(
            !active(app, client, token).await,
            "{what}: the {kind} introspects active"
        );
    }
    let res = userinfo(app, &h.access).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{what}: userinfo");
    oauth_error(
        refresh(app, client, &h.refresh).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    let (code, pkce) = &h.pending_code;
    let res = redeem_with(app, client, code, &pkce.verifier, &client.redirect).await;
    oauth_error(res, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

/// The events of the contract, each acted out on `actor` against `h`.
#[derive(Clone, Copy, Debug)]
enum Event {
    PasswordChange,
    Recovery,
    TwoFactorOff,
    MethodRemoved,
    OperatorLogout,
    OperatorDisable,
    OperatorReset,
}

impl Event {
    /// Whether the owner's own session survives it.
    fn owner_stays(self) -> bool {
        matches!(
            self,
            Self::PasswordChange | Self::TwoFactorOff | Self::MethodRemoved
        )
    }

    async fn act(self, actor: &TestApp, h: &Held) {
        let user = &h.visitor.user;
        match self {
            Self::PasswordChange => {
                let res = actor
                    .post(
                        "/api/v1/me/password",
                        Some(&h.owner),
                        json!({"current_password": user.password, "new_password": NEW_PASSWORD}),
                    )
                    .await;
                assert!(res.status().is_success(), "{}", res.status());
            }
            Self::Recovery => {
                let email = format!("{}@example.com", user.username);
                actor.ask_recovery(&user.username).await;
                let token = actor.recovery_token(&email, 1).await;
                let res = actor
                    .complete_recovery(json!({
                        "token": token, "new_password": NEW_PASSWORD, "method": "totp",
                        "factor_code": actor.totp(h.visitor.totp.as_deref().unwrap(), 0),
                    }))
                    .await;
                assert_eq!(
                    res.status(),
                    StatusCode::OK,
                    "{}",
                    res.text().await.unwrap()
                );
            }
            Self::TwoFactorOff => {
                let res = actor.delete("/api/v1/me/two-factor", Some(&h.owner)).await;
                assert!(res.status().is_success(), "{}", res.status());
            }
            Self::MethodRemoved => {
                let res = actor
                    .delete("/api/v1/me/two-factor/sms", Some(&h.owner))
                    .await;
                assert!(res.status().is_success(), "{}", res.status());
            }
            Self::OperatorLogout => {
                oidc_flow::twofold(actor, &["user", "logout", &user.username]);
            }
            Self::OperatorDisable => {
                oidc_flow::twofold(actor, &["user", "disable", &user.username]);
            }
            Self::OperatorReset => {
                oidc_flow::twofold(actor, &["user", "reset-2fa", "--yes", &user.username]);
            }
        }
    }
}

const EVENTS: [Event; 7] = [
    Event::PasswordChange,
    Event::Recovery,
    Event::TwoFactorOff,
    Event::MethodRemoved,
    Event::OperatorLogout,
    Event::OperatorDisable,
    Event::OperatorReset,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_security_event_ends_every_credential() {
    let app = TestApp::spawn().await;
    let client = add_client(&app, "Lifecycle app", REDIRECT, false);
    for event in EVENTS {
        let h = hold_everything(&app, &client).await;
        event.act(&app, &h).await;
        assert_all_ended(
            &app,
            &client,
            &h,
            event.owner_stays(),
            &format!("{event:?}"),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_events_hold_across_two_nodes() {
    let a = TestApp::spawn().await;
    let b = a.second_node().await;
    let client = add_client(&a, "Two-node lifecycle app", REDIRECT, false);
    // (The operator's commands act on the database, not on a node: the first test covers
    // them.)
    for event in [
        Event::PasswordChange,
        Event::TwoFactorOff,
        Event::MethodRemoved,
    ] {
        // Everything made on A, the event on B, the check on A again.
        let h = hold_everything(&a, &client).await;
        event.act(&b, &h).await;
        assert_all_ended(
            &a,
            &client,
            &h,
            event.owner_stays(),
            &format!("{event:?} on B"),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_ends_the_tokens_of_its_session_but_not_offline_grants() {
    let app = TestApp::spawn().await;
    let client = add_client(&app, "Logout app", REDIRECT, false);
    let h = hold_everything(&app, &client).await;
    let id_token = {
        let (code, pkce) = h.visitor.code(&app, &client, "openid").await;
        redeem(&app, &client, &code, &pkce).await["id_token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // The ID token names the session its grant descends from.
    let sid = claims_of(&id_token)["sid"].as_str().unwrap().to_owned();
    let sessions: Value = app
        .get("/api/v1/me/sessions", Some(&h.owner))
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&sid.as_str()), "sid {sid} among {ids:?}");

    // "Where you're logged in": the owner logs the browser session out from the API.
    let res = app
        .delete(&format!("/api/v1/me/sessions/{sid}"), Some(&h.owner))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(!browser_logged_in(&app, &h.visitor).await);
    // The grant without offline_access and the code not yet redeemed ended with it…
    assert!(!active(&app, &client, &h.online_access).await);
    let (code, pkce) = &h.pending_code;
    let res = redeem_with(&app, &client, code, &pkce.verifier, &client.redirect).await;
    oauth_error(res, StatusCode::BAD_REQUEST, "invalid_grant").await;
    // …the offline grant outlives the browser session (not a security event).
    assert!(active(&app, &client, &h.access).await);
    let t = oidc_flow::tokens(refresh(&app, &client, &h.refresh).await).await;
    assert!(t["refresh_token"].is_string());
    // The other sessions are untouched.
    assert!(api_alive(&app, &h.other_api).await && api_alive(&app, &h.owner).await);

    // "Log out of all other sessions" is not a security event either: offline grants stay.
    let res = app.delete("/api/v1/me/sessions", Some(&h.owner)).await;
    assert!(res.status().is_success());
    assert!(!api_alive(&app, &h.other_api).await);
    let new_access = t["access_token"].as_str().unwrap();
    assert!(active(&app, &client, new_access).await);
    // Disconnecting the app ends its grant only.
    let res = app
        .delete(&format!("/api/v1/me/apps/{}", client.id), Some(&h.owner))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(!active(&app, &client, new_access).await);
    assert!(api_alive(&app, &h.owner).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_tokens_have_an_absolute_lifetime() {
    // Idle 10 days, absolute 25 days: rotating every 8 days never passes day 25.
    let app = TestApp::spawn_with(|c| {
        c.oidc.refresh_token_secs = 10 * 86_400;
        c.oidc.refresh_absolute_secs = 25 * 86_400;
    })
    .await;
    let client = add_client(&app, "Absolute app", REDIRECT, false);
    let v = Visitor::sign_up(&app).await;
    let (code, pkce) = v.code(&app, &client, ALL_SCOPES).await;
    let mut t = redeem(&app, &client, &code, &pkce).await;
    let login = app.clock.now_time().0;
    for _ in 0..3 {
        app.clock.advance(8 * 86_400);
        let res = refresh(&app, &client, t["refresh_token"].as_str().unwrap()).await;
        t = oidc_flow::tokens(res).await;
    }
    // Day 24: the new refresh token dies at day 25, not 10 days on.
    let rt = t["refresh_token"].as_str().unwrap();
    let res = app
        .http
        .post(app.url("/oidc/introspect"))
        .basic_auth(&client.id, client.secret.as_deref())
        .form(&[("token", rt)])
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["exp"].as_i64(), Some(login + 25 * 86_400), "{body}");
    app.clock.advance(2 * 86_400);
    assert!(!active(&app, &client, rt).await, "past the absolute end");
    oauth_error(
        refresh(&app, &client, rt).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_account_gets_nothing_anywhere() {
    let app = TestApp::spawn().await;
    let client = add_client(&app, "Disabled app", REDIRECT, false);
    let h = hold_everything(&app, &client).await;
    Event::OperatorDisable.act(&app, &h).await;
    assert_all_ended(&app, &client, &h, false, "disabled").await;
    let user = &h.visitor.user;
    // No new session: the password is refused like any wrong one.
    let res = app.try_login(user, &user.password).await;
    assert!(
        [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN].contains(&res.status()),
        "{}",
        res.status()
    );
    // Enabled again, the old credentials stay dead: only a new login works.
    oidc_flow::twofold(&app, &["user", "enable", &user.username]);
    assert!(!api_alive(&app, &h.other_api).await);
    assert!(!active(&app, &client, &h.refresh).await);
    let res = app.try_login(user, &user.password).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
}
