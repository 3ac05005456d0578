//! Sign in with Twofold, bad input: every malformed or mismatched request to the OpenID
//! Connect endpoints gets the standard OAuth error (RFC 6749 §4.1.2.1, §5.2), never a 500,
//! and an unknown client or redirect URI is never redirected to.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::TestApp;
use crate::oidc_flow::{self, REDIRECT};

/// A client of the bad-input tests: `(client_id, secret)`.
fn add_client(app: &TestApp, public: bool) -> (String, Option<String>) {
    let c = oidc_flow::add_client(app, "Bad input app", REDIRECT, public);
    (c.id, c.secret)
}

/// A token-endpoint error: the status, `error` and a JSON body that says why, no-store.
async fn token_error(res: reqwest::Response, status: StatusCode, error: &str) {
    assert_eq!(res.status(), status, "expected {status} {error}");
    assert_eq!(
        res.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
}

#[tokio::test]
async fn the_token_endpoint_answers_bad_requests_with_oauth_errors() {
    let app = TestApp::spawn().await;
    let (id, secret) = add_client(&app, false);
    let secret = secret.unwrap();
    let token = app.url("/oidc/token");
    let post = |form: Vec<(&'static str, String)>| app.http.post(&token).form(&form);

    // An unknown grant type, from a client that authenticated.
    let res = post(vec![("grant_type", "password".into())])
        .basic_auth(&id, Some(&secret))
        .send()
        .await
        .unwrap();
    token_error(res, StatusCode::BAD_REQUEST, "unsupported_grant_type").await;

    // A malformed Basic header: not base64, no colon, junk bytes.
    for header in ["Basic %%%", "Basic bm9jb2xvbg==", "Basic /w==", "Bearer x"] {
        let res = post(vec![
            ("grant_type", "authorization_code".into()),
            ("code", "x".into()),
        ])
        .header("authorization", header)
        .send()
        .await
        .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{header}");
        assert!(res.headers().contains_key("www-authenticate"), "{header}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client", "{header}: {body}");
    }

    // A wrong secret, and an unknown client.
    let res = post(vec![
        ("grant_type", "authorization_code".into()),
        ("code", "x".into()),
    ])
    .basic_auth(&id, Some("not the secret"))
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = post(vec![
        ("grant_type", "authorization_code".into()),
        ("code", "x".into()),
        ("client_id", "tf_nobody".into()),
        ("client_secret", "x".into()),
    ])
    .send()
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // A code that was never issued, and a missing one.
    for code in ["never-issued", ""] {
        let res = post(vec![
            ("grant_type", "authorization_code".into()),
            ("code", code.into()),
            ("redirect_uri", REDIRECT.into()),
        ])
        .basic_auth(&id, Some(&secret))
        .send()
        .await
        .unwrap();
        let want = if code.is_empty() {
            "invalid_request"
        } else {
            "invalid_grant"
        };
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{code:?}: {body}");
        assert_eq!(body["error"], want, "{code:?}: {body}");
    }

    // Not a form at all.
    let res = app
        .http
        .post(&token)
        .basic_auth(&id, Some(&secret))
        .header("content-type", "application/json")
        .body("{\"grant_type\":\"authorization_code\"}")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
}

#[tokio::test]
async fn authorize_never_redirects_to_an_unknown_client_or_address_and_redirects_the_rest() {
    let app = TestApp::spawn().await;
    let (public_id, _) = add_client(&app, true);
    let authorize = |q: &str| {
        app.http
            .get(app.url(&format!("/oidc/authorize?{q}")))
            .send()
    };
    let enc = |s: &str| serde_urlencoded::to_string([("v", s)]).unwrap()[2..].to_owned();

    // Unknown client; a known client with an address it did not register.
    for q in [
        format!(
            "response_type=code&client_id=tf_nobody&redirect_uri={}&scope=openid",
            enc(REDIRECT)
        ),
        format!(
            "response_type=code&client_id={public_id}&redirect_uri={}&scope=openid",
            enc("https://evil.example.test/callback")
        ),
    ] {
        let res = authorize(&q).await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{q}");
        assert!(
            res.headers().get("location").is_none(),
            "{q}: never redirected"
        );
        let html = res.text().await.unwrap();
        assert!(
            !html.contains("evil.example.test"),
            "{q}: the address is not echoed as a link"
        );
    }

    // A wrong response_type, and a public client without PKCE: back to the app, with state.
    for (q, error) in [
        (
            format!(
                "response_type=token&client_id={public_id}&redirect_uri={}&scope=openid&state=s1",
                enc(REDIRECT)
            ),
            "unsupported_response_type",
        ),
        (
            format!(
                "response_type=code&client_id={public_id}&redirect_uri={}&scope=openid&state=s1",
                enc(REDIRECT)
            ),
            "invalid_request",
        ),
        (
            format!(
                "response_type=code&client_id={public_id}&redirect_uri={}&scope=openid&state=s1&code_challenge=abc&code_challenge_method=plain",
                enc(REDIRECT)
            ),
            "invalid_request",
        ),
    ] {
        let res = authorize(&q).await.unwrap();
        assert!(res.status().is_redirection(), "{q}: {}", res.status());
        let to = res
            .headers()
            .get("location")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let url = reqwest::Url::parse(&to).unwrap();
        assert!(to.starts_with(REDIRECT), "{to}");
        let got: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(
            got.get("error").map(String::as_str),
            Some(error),
            "{q}: {to}"
        );
        assert_eq!(
            got.get("state").map(String::as_str),
            Some("s1"),
            "{q}: {to}"
        );
    }
}

#[tokio::test]
async fn discovery_and_keys_ignore_junk_and_never_fail() {
    let app = TestApp::spawn().await;
    let doc = oidc_flow::get_json(&app, "/.well-known/openid-configuration").await;
    assert_eq!(doc["issuer"], app.base.as_str());
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(doc["id_token_signing_alg_values_supported"][0], "RS256");
    for q in ["", "?junk=%ff%fe", "?kid=../../etc/passwd", "?a=1&a=2"] {
        let res = app
            .http
            .get(app.url(&format!("/oidc/jwks{q}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{q}");
        let jwks: Value = res.json().await.unwrap();
        let key = &jwks["keys"][0];
        assert_eq!(key["kty"], "RSA", "{q}: {jwks}");
        assert_eq!(key["alg"], "RS256");
        assert!(key["kid"].as_str().is_some_and(|k| !k.is_empty()));
        assert!(key.get("d").is_none(), "no private part");
    }
    // A POST to it is not allowed, and says so.
    let res = app.http.post(app.url("/oidc/jwks")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
}
