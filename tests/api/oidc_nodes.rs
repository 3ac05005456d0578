//! Sign in with Twofold on two nodes of one database: codes, refresh tokens and their reuse
//! detection, userinfo and the signing keys are the database's, whichever node answers; a
//! key rotation made with `twofold oidc rotate-key` reaches every node's key cache within a
//! minute, and a new key signs only once every node and relying party can know it.

use reqwest::StatusCode;
use serde_json::Value;
use twofold::auth::oidc::{KEY_CACHE_SECS, PUBLISH_AHEAD_SECS};
use twofold::domain::UnixTime;

use crate::helpers::TestApp;
use crate::oidc_flow::{
    REDIRECT, TestClient, Visitor, active, add_client, claims_of, kid_of, oauth_error,
    published_kids, redeem, refresh, tokens, twofold, userinfo,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_from_one_node_is_redeemed_and_refreshed_on_another() {
    let a = TestApp::spawn().await;
    let b_node = a.second_node().await;
    let who = Visitor::with_totp(&a).await;
    let user = &who.user;
    let client = add_client(&a, "Two nodes", REDIRECT, false);

    // Logged in (password and authenticator) and authorized on node A…
    let (code, pkce) = who.code(&a, &client, "openid profile offline_access").await;
    // …redeemed on node B.
    let t0 = redeem(&b_node, &client, &code, &pkce).await;
    let id = claims_of(t0["id_token"].as_str().unwrap());
    assert_eq!(id["amr"], serde_json::json!(["pwd", "mfa", "otp"]));
    assert_eq!(id["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(id["preferred_username"], user.username.as_str());
    // Either node publishes the key that signed it.
    let kid = kid_of(t0["id_token"].as_str().unwrap());
    assert!(published_kids(&a).await.contains(&kid));
    assert!(published_kids(&b_node).await.contains(&kid));
    // userinfo works on either node.
    let access0 = t0["access_token"].as_str().unwrap();
    for node in [&a, &b_node] {
        let res = userinfo(node, access0).await;
        assert_eq!(res.status(), StatusCode::OK);
        let info: Value = res.json().await.unwrap();
        assert_eq!(info["sub"], id["sub"]);
        assert_eq!(info["preferred_username"], user.username.as_str());
    }

    // The refresh token rotates on B.
    let rt0 = t0["refresh_token"].as_str().unwrap();
    let t1 = tokens(refresh(&b_node, &client, rt0).await).await;
    let rt1 = t1["refresh_token"].as_str().unwrap();
    let access1 = t1["access_token"].as_str().unwrap();
    assert_ne!(rt1, rt0);
    assert!(
        !active(&a, &client, rt0).await,
        "the rotated token is used up"
    );
    assert_eq!(userinfo(&a, access1).await.status(), StatusCode::OK);

    // The old one used again on A: a theft signal; the whole chain ends, on every node.
    oauth_error(
        refresh(&a, &client, rt0).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    oauth_error(
        refresh(&b_node, &client, rt1).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    for node in [&a, &b_node] {
        assert!(!active(node, &client, access1).await);
        assert!(!active(node, &client, access0).await);
        assert_eq!(
            userinfo(node, access1).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
}

/// The `kid` of an ID token `node` issues now (authorized and redeemed there).
async fn signed_by(node: &TestApp, who: &Visitor, client: &TestClient) -> String {
    let (code, pkce) = who.code(node, client, "openid").await;
    kid_of(
        redeem(node, client, &code, &pkce).await["id_token"]
            .as_str()
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_reaches_every_node_within_a_minute_and_signs_once_published() {
    let a = TestApp::spawn().await;
    // `twofold oidc rotate-key` stamps the key with the real time: run the servers on it.
    let real_now = || {
        UnixTime(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64,
        )
    };
    a.clock.set(real_now());
    let b_node = a.second_node().await;
    let who = Visitor::sign_up(&a).await;
    let client = add_client(&a, "Rotation", REDIRECT, false);
    let k0 = signed_by(&a, &who, &client).await;
    assert_eq!(published_kids(&a).await, [k0.as_str()]);
    assert_eq!(published_kids(&b_node).await, [k0.as_str()]);

    let out = twofold(&a, &["oidc", "rotate-key"]);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    let k1 = said
        .split_whitespace()
        .nth(3)
        .unwrap()
        .trim_end_matches(':')
        .to_owned();
    assert!(k1.starts_with('k') && k1 != k0, "{said}");
    a.clock.set(real_now());

    // The nodes answer from their key cache for up to a minute…
    assert_eq!(published_kids(&b_node).await, [k0.as_str()], "cached");
    // …then both publish the new key, still signing with the old one.
    a.clock.advance(KEY_CACHE_SECS);
    for node in [&a, &b_node] {
        assert_eq!(published_kids(node).await, [k1.as_str(), k0.as_str()]);
    }
    assert_eq!(
        signed_by(&b_node, &who, &client).await,
        k0,
        "not yet: relying parties may not know k1"
    );
    // Once every relying party's copy of the JWKS can hold it, the new key signs; the old
    // one stays published while what it signed lives.
    a.clock.advance(PUBLISH_AHEAD_SECS - KEY_CACHE_SECS);
    assert_eq!(signed_by(&a, &who, &client).await, k1);
    assert_eq!(signed_by(&b_node, &who, &client).await, k1);
    assert_eq!(published_kids(&b_node).await, [k1.as_str(), k0.as_str()]);
    // Its last tokens expired: it is no longer published.
    a.clock.advance(
        a.config
            .oidc
            .id_token_secs
            .max(a.config.oidc.access_token_secs),
    );
    assert_eq!(published_kids(&a).await, [k1.as_str()]);
    assert_eq!(published_kids(&b_node).await, [k1.as_str()]);
}
