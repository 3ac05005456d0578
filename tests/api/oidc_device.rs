//! The device authorization grant (RFC 8628, issue 26): a device asks for codes, the person
//! types the user code at `/device` (logged in), sees the app and its scopes, and connects
//! or denies it; the device polls (`authorization_pending`, `slow_down`, `expired_token`,
//! `access_denied`). Codes are single use, and wrong entries are limited per browser and
//! per address in the database.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::TestApp;
use crate::oidc_flow::{
    REDIRECT, TestClient, Visitor, add_client_with, claims_of, oauth_error, token_request,
    verified_jwt,
};
use crate::web::{csrf_of, log_in_through_the_pages, page};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn device_client(app: &TestApp) -> TestClient {
    add_client_with(
        app,
        "Living-room TV",
        REDIRECT,
        &[
            "--device",
            "--public",
            "--scopes",
            "openid profile offline_access",
        ],
    )
}

async fn start(app: &TestApp, client: &TestClient, scope: &str) -> reqwest::Response {
    app.http
        .post(app.url("/oidc/device_authorization"))
        .form(&[("client_id", client.id.as_str()), ("scope", scope)])
        .send()
        .await
        .unwrap()
}

async fn codes(app: &TestApp, client: &TestClient) -> Value {
    let res = start(app, client, "openid profile").await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn poll(app: &TestApp, client: &TestClient, device_code: &str) -> reqwest::Response {
    token_request(
        app,
        client,
        vec![
            ("grant_type", GRANT.into()),
            ("device_code", device_code.into()),
        ],
    )
    .await
}

/// Types `code` at `/device` in browser `b`; the page's status and text.
async fn enter(app: &TestApp, b: &reqwest::Client, code: &str) -> (StatusCode, String) {
    let (status, html) = page(b, app, "/device").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let res = b
        .post(app.url("/device"))
        .form(&[("csrf", csrf_of(&html).as_str()), ("user_code", code)])
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn decide(app: &TestApp, b: &reqwest::Client, html: &str, code: &str, d: &str) -> String {
    let res = b
        .post(app.url("/device/decision"))
        .form(&[
            ("csrf", csrf_of(html).as_str()),
            ("user_code", code),
            ("decision", d),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_is_approved_at_slash_device_and_gets_its_tokens_once() {
    let app = TestApp::spawn().await;
    let client = device_client(&app);
    let c = codes(&app, &client).await;
    let user_code = c["user_code"].as_str().unwrap();
    assert!(
        user_code.len() == 9 && user_code.as_bytes()[4] == b'-',
        "XXXX-XXXX: {user_code}"
    );
    assert_eq!(c["verification_uri"], format!("{}/device", app.base));
    assert_eq!(c["expires_in"], 600);
    assert_eq!(c["interval"], 5);
    let device_code = c["device_code"].as_str().unwrap();
    oauth_error(
        poll(&app, &client, device_code).await,
        StatusCode::BAD_REQUEST,
        "authorization_pending",
    )
    .await;
    // Polling again at once: slow down.
    oauth_error(
        poll(&app, &client, device_code).await,
        StatusCode::BAD_REQUEST,
        "slow_down",
    )
    .await;
    // The person, logged in, types the code (lower case, no dash) and sees the app.
    let who = Visitor::sign_up(&app).await;
    let (b, _) = log_in_through_the_pages(&app, &who.user).await;
    let typed = user_code.replace('-', "").to_lowercase();
    let (status, html) = enter(&app, &b, &typed).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("Living-room TV") && html.contains(user_code),
        "{html}"
    );
    assert!(html.contains("value=\"deny\""), "deny with one press");
    let done = decide(&app, &b, &html, user_code, "approve").await;
    assert!(done.contains("Device connected"), "{done}");
    app.clock.advance(11);
    let res = poll(&app, &client, device_code).await;
    assert_eq!(res.status(), StatusCode::OK);
    let t: Value = res.json().await.unwrap();
    let (_, claims) = verified_jwt(&app, t["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["preferred_username"], who.user.username.as_str());
    assert!(claims["sid"].is_string());
    assert_eq!(t["scope"], "openid profile");
    // Once: the next poll (past the interval, 10 s after the slow_down) gets nothing, and
    // the code cannot be entered again.
    app.clock.advance(11);
    oauth_error(
        poll(&app, &client, device_code).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    let (status, _) = enter(&app, &b, user_code).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // The app is a connected app now.
    let token = app.login(&who.user).await;
    let apps: Value = app
        .get("/api/v1/me/apps", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert!(apps.to_string().contains(&client.id), "{apps}");
    let _ = claims_of(t["id_token"].as_str().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_and_expired_devices_are_told_so() {
    let app = TestApp::spawn().await;
    let client = device_client(&app);
    let who = Visitor::sign_up(&app).await;
    let (b, _) = log_in_through_the_pages(&app, &who.user).await;
    let c = codes(&app, &client).await;
    let (_, html) = enter(&app, &b, c["user_code"].as_str().unwrap()).await;
    let done = decide(&app, &b, &html, c["user_code"].as_str().unwrap(), "deny").await;
    assert!(done.contains("Device denied"), "{done}");
    oauth_error(
        poll(&app, &client, c["device_code"].as_str().unwrap()).await,
        StatusCode::BAD_REQUEST,
        "access_denied",
    )
    .await;
    // A decision is made once: approving it afterwards changes nothing.
    let res = b
        .post(app.url("/device/decision"))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("user_code", c["user_code"].as_str().unwrap()),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let c = codes(&app, &client).await;
    app.clock.advance(601);
    oauth_error(
        poll(&app, &client, c["device_code"].as_str().unwrap()).await,
        StatusCode::BAD_REQUEST,
        "expired_token",
    )
    .await;
    let (status, _) = enter(&app, &b, c["user_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_clients_registered_with_device_may_start_and_openid_is_needed() {
    let app = TestApp::spawn().await;
    let plain = add_client_with(&app, "Web app", REDIRECT, &["--public"]);
    oauth_error(
        start(&app, &plain, "openid").await,
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
    )
    .await;
    let client = device_client(&app);
    oauth_error(
        start(&app, &client, "profile").await,
        StatusCode::BAD_REQUEST,
        "invalid_scope",
    )
    .await;
    let disc: Value = app
        .http
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        disc["device_authorization_endpoint"],
        format!("{}/oidc/device_authorization", app.base)
    );
    assert!(disc["grant_types_supported"].to_string().contains(GRANT));
}

/// The guessing attack: an attacker logged in as themselves types codes at `/device` to
/// connect someone's waiting TV to the attacker's account. Wrong entries are counted per
/// browser (5 a quarter hour) and per address (20), in the database: past them even the
/// right code is refused until the window ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_entries_are_limited_per_browser_and_per_address() {
    let app = TestApp::spawn().await;
    let client = device_client(&app);
    let victim = codes(&app, &client).await;
    let right = victim["user_code"].as_str().unwrap();
    let attacker = Visitor::sign_up(&app).await;
    let (first, _) = log_in_through_the_pages(&app, &attacker.user).await;
    let b = &first;
    for _ in 0..5 {
        let (status, html) = enter(&app, b, "BCDF-GHJK").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("BCDF-GHJK"), "the typed code is kept");
    }
    let (status, html) = enter(&app, b, right).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{html}");
    assert!(html.contains("try again in"), "{html}");
    // More browsers (a new device cookie each) and more accounts from the same address:
    // 20 wrong entries in all, then even a new account's first entry is refused.
    let mut wrong = 5;
    for who in [
        &attacker,
        &Visitor::sign_up(&app).await,
        &Visitor::sign_up(&app).await,
    ] {
        for _ in 0..2 {
            let (b, _) = log_in_through_the_pages(&app, &who.user).await;
            for _ in 0..5 {
                let (status, _) = enter(&app, &b, "BCDF-GHJK").await;
                if status == StatusCode::TOO_MANY_REQUESTS {
                    break;
                }
                assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
                wrong += 1;
            }
        }
    }
    assert_eq!(wrong, 20, "wrong entries from one address");
    // The quarter hour ends (the victim's code ended after its 10 minutes): a new code works
    // from this address again.
    app.clock.advance(901);
    let later = codes(&app, &client).await;
    let owner = Visitor::sign_up(&app).await;
    let (b, _) = log_in_through_the_pages(&app, &owner.user).await;
    let (status, _) = enter(&app, &b, later["user_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
}

/// Two approvals of one code at the same moment (two tabs): one decides, and only its grant
/// is written (before, the loser's grant was written and never used).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_approvals_make_one_grant() {
    use sqlx::Connection;
    let app = TestApp::spawn().await;
    let client = device_client(&app);
    let c = codes(&app, &client).await;
    let user_code = c["user_code"].as_str().unwrap();
    let who = Visitor::sign_up(&app).await;
    let (b, _) = log_in_through_the_pages(&app, &who.user).await;
    let (_, html) = enter(&app, &b, user_code).await;
    let (_, html2) = enter(&app, &b, user_code).await;
    let send = |html: String| {
        let b = b.clone();
        let url = app.url("/device/decision");
        let code = user_code.to_owned();
        async move {
            b.post(url)
                .form(&[
                    ("csrf", csrf_of(&html).as_str()),
                    ("user_code", code.as_str()),
                    ("decision", "approve"),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let (s1, s2) = tokio::join!(send(html), send(html2));
    let mut statuses = [s1, s2];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::UNPROCESSABLE_ENTITY],
        "one approval decides"
    );
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(&app.config.database_url)
        .await
        .unwrap();
    let grants: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM oidc_grants WHERE client_id = $1")
        .bind(client.id.as_str())
        .fetch_one(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
    assert_eq!(grants, 1, "the losing approval left no grant");
}
