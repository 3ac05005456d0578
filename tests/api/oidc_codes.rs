//! Sign in with Twofold, authorization codes obtained for real (the browser logs in through
//! Twofold's pages and allows the app): a code works once, for 60 seconds, for the client,
//! redirect URI and PKCE verifier it was issued to (RFC 6749 §4.1.2, §4.1.3, §10.5;
//! RFC 7636 §4.6) — and every failure is `invalid_grant`.

use reqwest::StatusCode;

use crate::helpers::TestApp;
use crate::oidc_flow::{
    Pkce, REDIRECT, Visitor, active, add_client, oauth_error, redeem, redeem_with, refresh,
    userinfo,
};

const SCOPE: &str = "openid profile offline_access";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_used_twice_is_refused_and_revokes_what_it_gave() {
    let app = TestApp::spawn().await;
    let who = Visitor::sign_up(&app).await;
    let client = add_client(&app, "Twice", REDIRECT, false);
    let (code, pkce) = who.code(&app, &client, SCOPE).await;
    let first = redeem(&app, &client, &code, &pkce).await;
    let access = first["access_token"].as_str().unwrap();
    let refresh_token = first["refresh_token"].as_str().unwrap();
    assert!(active(&app, &client, access).await);
    assert!(active(&app, &client, refresh_token).await);
    assert_eq!(userinfo(&app, access).await.status(), StatusCode::OK);

    // RFC 6749 §4.1.2: the second use is denied and what the first one gave is revoked.
    let res = redeem_with(&app, &client, &code, &pkce.verifier, REDIRECT).await;
    let body = oauth_error(res, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("already used")
    );
    assert!(!active(&app, &client, access).await, "the access token");
    assert!(
        !active(&app, &client, refresh_token).await,
        "the refresh token"
    );
    assert_eq!(
        userinfo(&app, access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    oauth_error(
        refresh(&app, &client, refresh_token).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    // And a third use is still refused.
    let res = redeem_with(&app, &client, &code, &pkce.verifier, REDIRECT).await;
    oauth_error(res, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_works_for_60_seconds_and_not_one_more() {
    let app = TestApp::spawn().await;
    assert_eq!(app.config.oidc.code_secs, 60, "the documented lifetime");
    let who = Visitor::sign_up(&app).await;
    let client = add_client(&app, "Slow app", REDIRECT, false);

    // Redeemed at 59 seconds: fine.
    let (code, pkce) = who.code(&app, &client, SCOPE).await;
    app.clock.advance(59);
    redeem(&app, &client, &code, &pkce).await;

    // At 60 seconds it has expired (the clock is the server's, pinned by the test).
    let (code, pkce) = who.code(&app, &client, SCOPE).await;
    app.clock.advance(60);
    let res = redeem_with(&app, &client, &code, &pkce.verifier, REDIRECT).await;
    oauth_error(res, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

/// RFC 6749 §4.1.3: the code is bound to the client it was issued to. Twofold's choice
/// (§4.1.2 and §10.5 speak of a code used twice *by its client*): another client presenting
/// it gets `invalid_grant` and changes nothing, so a client that got hold of a code can
/// neither use it nor spoil it (nor revoke the tokens it gave) for the rightful client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_presented_by_another_client_is_refused_and_stays_its_clients() {
    let app = TestApp::spawn().await;
    let who = Visitor::sign_up(&app).await;
    let client = add_client(&app, "Rightful", REDIRECT, false);
    let other = add_client(&app, "Other", REDIRECT, false);
    let public = add_client(&app, "Public other", REDIRECT, true);
    let (code, pkce) = who.code(&app, &client, SCOPE).await;
    for thief in [&other, &public] {
        let res = redeem_with(&app, thief, &code, &pkce.verifier, REDIRECT).await;
        oauth_error(res, StatusCode::BAD_REQUEST, "invalid_grant").await;
    }
    let tokens = redeem(&app, &client, &code, &pkce).await;
    let access = tokens["access_token"].as_str().unwrap();

    // Presented by another client after its use, it is still not a second use.
    let res = redeem_with(&app, &other, &code, &pkce.verifier, REDIRECT).await;
    oauth_error(res, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert!(active(&app, &client, access).await);
    // But the rightful client using it again is.
    let res = redeem_with(&app, &client, &code, &pkce.verifier, REDIRECT).await;
    oauth_error(res, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert!(!active(&app, &client, access).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_verifier_or_redirect_uri_is_invalid_grant() {
    let app = TestApp::spawn().await;
    let who = Visitor::sign_up(&app).await;
    let client = add_client(&app, "Careful", REDIRECT, false);
    let public = add_client(&app, "Careful SPA", "https://spa.example.test/cb", true);
    for c in [&client, &public] {
        let (code, pkce) = who.code(&app, c, SCOPE).await;
        // Another well-formed verifier (RFC 7636 §4.6).
        let wrong = Pkce::generate().verifier;
        let res = redeem_with(&app, c, &code, &wrong, &c.redirect).await;
        oauth_error(res, StatusCode::BAD_REQUEST, "invalid_grant").await;
        // Another redirect URI than the one the code went to (RFC 6749 §4.1.3).
        for redirect in [
            "https://app.example.test/other",
            "https://spa.example.test/cb/",
            "",
        ] {
            let res = redeem_with(&app, c, &code, &pkce.verifier, redirect).await;
            oauth_error(res, StatusCode::BAD_REQUEST, "invalid_grant").await;
        }
        // No verifier for a code issued with a challenge: every client is told it must
        // send one (contract v3: PKCE for every client; no downgrade either way).
        let res = crate::oidc_flow::token_request(
            &app,
            c,
            vec![
                ("grant_type", "authorization_code".into()),
                ("code", code.clone()),
                ("redirect_uri", c.redirect.clone()),
            ],
        )
        .await;
        oauth_error(res, StatusCode::BAD_REQUEST, "invalid_request").await;
        // None of those used the code up: the right verifier and address still get the
        // tokens.
        redeem(&app, c, &code, &pkce).await;
    }
}
