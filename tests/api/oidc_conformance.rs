//! The OpenID Foundation's Basic OP and Config OP test plans, module by module, reimplemented
//! against the real server (the official suite cannot be reached here). Each test is named
//! after the OIDF module whose checks it makes. As for a certification, the Basic plan's
//! client is confidential, authenticates with `client_secret_basic` (or `_post` where the
//! module says so), and sends no PKCE: it is registered with `--allow-no-pkce`.
//!
//! What the modules check of every ID token (OIDC Core §3.1.3.7) is in [`Rp::id_token`]:
//! the RS256 signature against the JWKS, `iss`, `aud`, `azp`, `exp`, `iat`, `sub`,
//! `auth_time`, and the `nonce` sent.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, rand_u64};
use crate::oidc_flow::{
    ALL_SCOPES, TestClient, Visitor, add_client_with, authorize_once, follow, get_json, location,
    log_in, oauth_error, query_of, token_request, userinfo, verified_jwt,
};

const REDIRECT: &str = "https://rp.example.test/cb";

/// A relying party as the Basic plan sets it up, with one user and that user's browser.
struct Rp {
    app: TestApp,
    client: TestClient,
    who: Visitor,
}

/// What an authorization request came back with: the redirect's query, and the nonce sent.
struct Answer {
    query: HashMap<String, String>,
    nonce: String,
}

impl Answer {
    fn code(&self) -> &str {
        self.query
            .get("code")
            .unwrap_or_else(|| panic!("no code: {:?}", self.query))
    }
}

impl Rp {
    async fn new() -> Self {
        Self::with_redirect(REDIRECT).await
    }

    async fn with_redirect(redirect: &str) -> Self {
        let app = TestApp::spawn().await;
        let client = add_client_with(
            &app,
            "Conformance RP",
            redirect,
            &["--allow-no-pkce", "--scopes", ALL_SCOPES],
        );
        let who = Visitor::sign_up(&app).await;
        Self { app, client, who }
    }

    /// The authorization request's parameters: the plan's defaults (`response_type=code`,
    /// `scope=openid`, a fresh `state` and `nonce`), changed by `extra` (an empty value takes
    /// a parameter out).
    fn params(&self, extra: &[(&str, &str)]) -> (Vec<(String, String)>, String, String) {
        let state = format!("st{:x}", rand_u64());
        let nonce = format!("n{:x}", rand_u64());
        let mut p: Vec<(String, String)> = [
            ("response_type", "code"),
            ("client_id", self.client.id.as_str()),
            ("redirect_uri", self.client.redirect.as_str()),
            ("scope", "openid"),
            ("state", state.as_str()),
            ("nonce", nonce.as_str()),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        for (k, v) in extra {
            p.retain(|(pk, _)| pk != k);
            if !v.is_empty() {
                p.push(((*k).to_owned(), (*v).to_owned()));
            }
        }
        (p, state, nonce)
    }

    /// Runs an authorization request in the user's browser (logging in and consenting as
    /// asked) and reads what came back to the app: `state` and `iss` checked.
    async fn authorize(&self, extra: &[(&str, &str)]) -> Answer {
        let (p, state, nonce) = self.params(extra);
        let q = serde_urlencoded::to_string(&p).unwrap();
        let url = follow(
            &self.app,
            &self.who,
            &self.client.redirect,
            &format!("/oidc/authorize?{q}"),
        )
        .await;
        let query = query_of(&url);
        assert_eq!(query.get("state"), Some(&state), "{url}");
        assert_eq!(query.get("iss"), Some(&self.app.base), "{url}");
        Answer { query, nonce }
    }

    /// One request without following anything: where the browser is sent.
    async fn once(&self, extra: &[(&str, &str)]) -> String {
        let (p, _, _) = self.params(extra);
        let refs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        authorize_once(&self.app, &self.who, &refs).await
    }

    /// A request that must get Twofold's error page, never a redirect to the app: the page's
    /// status (RFC 6749 §4.1.2.1: a redirect URI that is not registered exactly is never
    /// redirected to).
    async fn error_page(&self, extra: &[(&str, &str)]) -> StatusCode {
        let (p, _, _) = self.params(extra);
        let q = serde_urlencoded::to_string(&p).unwrap();
        let res = self
            .who
            .browser
            .get(self.app.url(&format!("/oidc/authorize?{q}")))
            .send()
            .await
            .unwrap();
        assert!(
            !res.status().is_redirection(),
            "redirected to {:?}",
            res.headers().get("location")
        );
        res.status()
    }

    /// The token request (`client_secret_basic`, no PKCE).
    async fn tokens(&self, code: &str) -> reqwest::Response {
        token_request(
            &self.app,
            &self.client,
            vec![
                ("grant_type", "authorization_code".into()),
                ("code", code.into()),
                ("redirect_uri", self.client.redirect.clone()),
            ],
        )
        .await
    }

    async fn token_body(&self, code: &str) -> Value {
        let res = self.tokens(code).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            res.headers().get("cache-control").unwrap(),
            "no-store",
            "OIDC Core §3.1.3.3"
        );
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert!(body["expires_in"].as_i64().unwrap() > 0);
        body
    }

    /// The ID token's claims, checked as OIDC Core §3.1.3.7 says a client must.
    async fn id_token(&self, tokens: &Value, nonce: Option<&str>) -> Value {
        let (_, c) = verified_jwt(&self.app, tokens["id_token"].as_str().unwrap()).await;
        assert_eq!(c["iss"], self.app.base.as_str());
        assert_eq!(c["aud"], self.client.id.as_str());
        assert_eq!(c["azp"], self.client.id.as_str());
        let (iat, exp) = (c["iat"].as_i64().unwrap(), c["exp"].as_i64().unwrap());
        assert!(exp > iat, "{c}");
        assert!(c["sub"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(c["auth_time"].as_i64().is_some_and(|t| t <= iat));
        assert_eq!(c.get("nonce").and_then(Value::as_str), nonce, "{c}");
        c
    }

    /// A code, its tokens and the ID token's claims, the happy path.
    async fn login(&self, extra: &[(&str, &str)]) -> (Value, Value) {
        let a = self.authorize(extra).await;
        let t = self.token_body(a.code()).await;
        let nonce = extra
            .iter()
            .find(|(k, _)| *k == "nonce")
            .map_or(Some(a.nonce.as_str()), |(_, v)| {
                (!v.is_empty()).then_some(*v)
            });
        let c = self.id_token(&t, nonce).await;
        (t, c)
    }
}

/// The `error` of a redirect back to the app.
fn error_of(url: &str) -> String {
    assert!(url.starts_with(REDIRECT) || url.contains("error="), "{url}");
    query_of(url).get("error").cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_server() {
    let rp = Rp::new().await;
    let (t, c) = rp.login(&[]).await;
    let info: Value = userinfo(&rp.app, t["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], c["sub"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_response_type_missing() {
    let rp = Rp::new().await;
    let to = rp.once(&[("response_type", "")]).await;
    assert!(
        ["unsupported_response_type", "invalid_request"].contains(&error_of(&to).as_str()),
        "{to}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_idtoken_signature() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let rp = Rp::new().await;
    // `Rp::login` verified the signature against the JWKS; a changed payload must not.
    let (t, _) = rp.login(&[]).await;
    let id = t["id_token"].as_str().unwrap();
    let parts: Vec<&str> = id.split('.').collect();
    let payload = b64.encode(br#"{"sub":"someone-else"}"#);
    let jwks = get_json(&rp.app, "/oidc/jwks").await;
    let kid = crate::oidc_flow::kid_of(id);
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap();
    let (n, e) = (
        b64.decode(jwk["n"].as_str().unwrap()).unwrap(),
        b64.decode(jwk["e"].as_str().unwrap()).unwrap(),
    );
    let key = ring::signature::RsaPublicKeyComponents { n: &n, e: &e };
    let sig = b64.decode(parts[2]).unwrap();
    let verify = |p: &str| {
        key.verify(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            format!("{}.{p}", parts[0]).as_bytes(),
            &sig,
        )
    };
    assert!(verify(parts[1]).is_ok());
    assert!(verify(&payload).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_userinfo_get() {
    let rp = Rp::new().await;
    let (t, c) = rp.login(&[]).await;
    let res = userinfo(&rp.app, t["access_token"].as_str().unwrap()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["sub"], c["sub"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_userinfo_post_header() {
    let rp = Rp::new().await;
    let (t, c) = rp.login(&[]).await;
    let res = rp
        .app
        .http
        .post(rp.app.url("/oidc/userinfo"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["sub"], c["sub"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_userinfo_post_body() {
    let rp = Rp::new().await;
    let (t, c) = rp.login(&[]).await;
    let res = rp
        .app
        .http
        .post(rp.app.url("/oidc/userinfo"))
        .form(&[("access_token", t["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["sub"], c["sub"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_ensure_request_without_nonce_succeeds_for_code_flow() {
    let rp = Rp::new().await;
    rp.login(&[("nonce", "")]).await;
}

/// The claims a scope gives, in the ID token and from userinfo alike.
async fn scope_claims(rp: &Rp, scope: &str) -> (Value, Value) {
    let (t, c) = rp.login(&[("scope", scope)]).await;
    let info: Value = userinfo(&rp.app, t["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    (c, info)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_scope_profile() {
    let rp = Rp::new().await;
    let (c, info) = scope_claims(&rp, "openid profile").await;
    for claims in [c, info] {
        assert_eq!(claims["preferred_username"], rp.who.user.username.as_str());
        assert_eq!(claims["name"], rp.who.user.username.as_str());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_scope_email() {
    let rp = Rp::new().await;
    let token = rp.app.login(&rp.who.user).await;
    rp.app.add_email(&token, "conformance@example.org").await;
    let (c, info) = scope_claims(&rp, "openid email").await;
    for claims in [c, info] {
        assert_eq!(claims["email"], "conformance@example.org");
        assert_eq!(claims["email_verified"], true);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_scope_address() {
    // Twofold keeps no postal address: the scope is ignored (OIDC Core §5.4), not an error.
    let rp = Rp::new().await;
    let a = rp.authorize(&[("scope", "openid address")]).await;
    let t = rp.token_body(a.code()).await;
    assert_eq!(t["scope"], "openid");
    assert!(
        rp.id_token(&t, Some(&a.nonce))
            .await
            .get("address")
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_scope_phone() {
    let mut rp = Rp::new().await;
    // A verified phone: the authenticator app first (the login's second step), then the
    // phone as a second method.
    let token = rp.app.login(&rp.who.user).await;
    rp.who.totp = Some(rp.app.enable_totp(&token).await.0);
    rp.app
        .enable_sms(&token, "+1 415 555 2671", "+14155552671")
        .await;
    let (c, info) = scope_claims(&rp, "openid phone").await;
    for claims in [c, info] {
        assert_eq!(claims["phone_number"], "+14155552671");
        assert_eq!(claims["phone_number_verified"], true);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_scope_all() {
    let rp = Rp::new().await;
    let token = rp.app.login(&rp.who.user).await;
    rp.app.add_email(&token, "all@example.org").await;
    let (c, info) = scope_claims(&rp, "openid profile email address phone").await;
    for claims in [c, info] {
        assert_eq!(claims["email"], "all@example.org");
        assert_eq!(claims["preferred_username"], rp.who.user.username.as_str());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_ensure_other_scope_order_succeeds() {
    let rp = Rp::new().await;
    let (c, _) = scope_claims(&rp, "email profile openid").await;
    assert_eq!(c["preferred_username"], rp.who.user.username.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_display_page() {
    Rp::new().await.login(&[("display", "page")]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_display_popup() {
    Rp::new().await.login(&[("display", "popup")]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_prompt_login() {
    let rp = Rp::new().await;
    let (_, first) = rp.login(&[]).await;
    rp.app.clock.advance(5);
    // The browser is logged in, yet prompt=login sends it to the login again.
    let to = rp.once(&[("prompt", "login")]).await;
    assert!(to.starts_with("/login?"), "{to}");
    let (_, second) = rp.login(&[("prompt", "login")]).await;
    assert!(second["auth_time"].as_i64() > first["auth_time"].as_i64());
    assert_eq!(second["sub"], first["sub"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_prompt_none_not_logged_in() {
    let rp = Rp::new().await;
    let to = rp.once(&[("prompt", "none")]).await;
    assert!(
        ["login_required", "interaction_required", "consent_required"]
            .contains(&error_of(&to).as_str()),
        "{to}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_prompt_none_logged_in() {
    let rp = Rp::new().await;
    let (_, first) = rp.login(&[]).await;
    let to = rp.once(&[("prompt", "none")]).await;
    assert!(query_of(&to).contains_key("code"), "{to}");
    let (_, again) = rp.login(&[("prompt", "none")]).await;
    assert_eq!(again["sub"], first["sub"]);
    assert_eq!(again["auth_time"], first["auth_time"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_max_age_1() {
    let rp = Rp::new().await;
    let (_, first) = rp.login(&[]).await;
    rp.app.clock.advance(2);
    let to = rp.once(&[("max_age", "1")]).await;
    assert!(
        to.starts_with("/login?"),
        "the login must be repeated: {to}"
    );
    let (_, second) = rp.login(&[("max_age", "1")]).await;
    assert!(second["auth_time"].as_i64() > first["auth_time"].as_i64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_max_age_10000() {
    let rp = Rp::new().await;
    let (_, first) = rp.login(&[]).await;
    rp.app.clock.advance(2);
    let to = rp.once(&[("max_age", "10000")]).await;
    assert!(query_of(&to).contains_key("code"), "{to}");
    let (_, second) = rp.login(&[("max_age", "10000")]).await;
    assert_eq!(second["auth_time"], first["auth_time"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_ensure_request_with_unknown_parameter_succeeds() {
    Rp::new()
        .await
        .login(&[("extra", "foobar"), ("x-custom", "1")])
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_id_token_hint() {
    let rp = Rp::new().await;
    let (t, first) = rp.login(&[]).await;
    let hint = t["id_token"].as_str().unwrap().to_owned();
    let (_, again) = rp
        .login(&[("prompt", "none"), ("id_token_hint", &hint)])
        .await;
    assert_eq!(again["sub"], first["sub"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_login_hint() {
    let rp = Rp::new().await;
    let name = rp.who.user.username.clone();
    let to = rp.once(&[("login_hint", &name)]).await;
    assert!(to.starts_with("/login?"), "{to}");
    assert_eq!(query_of(&rp.app.url(&to)).get("username"), Some(&name));
    rp.login(&[("login_hint", &name)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_ui_locales() {
    Rp::new().await.login(&[("ui_locales", "se")]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_claims_locales() {
    Rp::new().await.login(&[("claims_locales", "se")]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_ensure_request_with_acr_values_succeeds() {
    let (_, c) = Rp::new().await.login(&[("acr_values", "1 2")]).await;
    // Values Twofold does not name: answered with the class the login met (voluntary).
    assert_eq!(c["acr"], "1fa");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_codereuse() {
    let rp = Rp::new().await;
    let a = rp.authorize(&[]).await;
    rp.token_body(a.code()).await;
    oauth_error(
        rp.tokens(a.code()).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_codereuse_30seconds() {
    let rp = Rp::new().await;
    let a = rp.authorize(&[]).await;
    let t = rp.token_body(a.code()).await;
    rp.app.clock.advance(30);
    oauth_error(
        rp.tokens(a.code()).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    // What the first use gave is revoked (OIDC Core §4.1.2 "SHOULD").
    let res = userinfo(&rp.app, t["access_token"].as_str().unwrap()).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_ensure_registered_redirect_uri() {
    let rp = Rp::new().await;
    let status = rp
        .error_page(&[("redirect_uri", "https://attacker.example.test/cb")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_server_client_secret_post() {
    let rp = Rp::new().await;
    let a = rp.authorize(&[]).await;
    let res = rp
        .app
        .http
        .post(rp.app.url("/oidc/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", a.code()),
            ("redirect_uri", REDIRECT),
            ("client_id", rp.client.id.as_str()),
            ("client_secret", rp.client.secret.as_deref().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let t: Value = res.json().await.unwrap();
    rp.id_token(&t, Some(&a.nonce)).await;
}

/// An unsigned request object (`alg: none`), as the module builds it.
fn unsigned_request_object(claims: &Value) -> String {
    use base64::Engine;
    let b = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.",
        b.encode(br#"{"alg":"none"}"#),
        b.encode(claims.to_string())
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported() {
    let rp = Rp::new().await;
    let object = unsigned_request_object(&json!({
        "iss": rp.client.id, "aud": rp.app.base, "response_type": "code",
        "client_id": rp.client.id, "scope": "openid", "redirect_uri": REDIRECT,
    }));
    let disc = get_json(&rp.app, "/.well-known/openid-configuration").await;
    assert_eq!(disc["request_parameter_supported"], false);
    let to = rp.once(&[("request", &object)]).await;
    assert_eq!(error_of(&to), "request_not_supported", "{to}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_ensure_request_object_with_redirect_uri() {
    let rp = Rp::new().await;
    let object = unsigned_request_object(&json!({
        "client_id": rp.client.id, "response_type": "code", "scope": "openid",
        "redirect_uri": "https://attacker.example.test/cb",
    }));
    // Not acted upon: the registered redirect URI hears that request objects are refused.
    let to = rp.once(&[("request", &object)]).await;
    assert!(to.starts_with(REDIRECT), "{to}");
    assert_eq!(error_of(&to), "request_not_supported");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported() {
    let rp = Rp::new().await;
    let disc = get_json(&rp.app, "/.well-known/openid-configuration").await;
    assert_eq!(disc["request_uri_parameter_supported"], false);
    let to = rp
        .once(&[("request_uri", "https://rp.example.test/request.jwt")])
        .await;
    assert_eq!(error_of(&to), "request_uri_not_supported", "{to}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_claims_essential() {
    let rp = Rp::new().await;
    let claims = json!({"userinfo": {"name": {"essential": true}}}).to_string();
    // The claims parameter is not supported (discovery says so): the request still works.
    let (t, _) = rp
        .login(&[("claims", &claims), ("scope", "openid profile")])
        .await;
    let info: Value = userinfo(&rp.app, t["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["name"], rp.who.user.username.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_refresh_token() {
    let rp = Rp::new().await;
    let (t, first) = rp
        .login(&[("scope", "openid offline_access"), ("prompt", "consent")])
        .await;
    let res =
        crate::oidc_flow::refresh(&rp.app, &rp.client, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let again: Value = res.json().await.unwrap();
    // OIDC Core §12.2: the same sub, no nonce.
    let c = rp.id_token(&again, None).await;
    assert_eq!(c["sub"], first["sub"]);
    assert_ne!(again["refresh_token"], t["refresh_token"], "rotated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_ensure_request_with_valid_pkce_succeeds() {
    let rp = Rp::new().await;
    let pkce = crate::oidc_flow::Pkce::generate();
    let a = rp
        .authorize(&[
            ("code_challenge", &pkce.challenge),
            ("code_challenge_method", "S256"),
        ])
        .await;
    let res = token_request(
        &rp.app,
        &rp.client,
        vec![
            ("grant_type", "authorization_code".into()),
            ("code", a.code().into()),
            ("redirect_uri", REDIRECT.into()),
            ("code_verifier", pkce.verifier.clone()),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_ensure_post_request_succeeds() {
    let rp = Rp::new().await;
    rp.login(&[]).await; // logged in, consent given
    let (p, state, _) = rp.params(&[]);
    let res = rp
        .who
        .browser
        .post(rp.app.url("/oidc/authorize"))
        .form(&p)
        .send()
        .await
        .unwrap();
    let to = location(&res);
    let q = query_of(&to);
    assert_eq!(q.get("state"), Some(&state));
    let t = rp.token_body(&q["code"]).await;
    assert!(t["id_token"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_redirect_uri_query_ok() {
    let rp = Rp::with_redirect("https://rp.example.test/cb?foo=bar").await;
    let a = rp.authorize(&[]).await;
    assert_eq!(a.query.get("foo").map(String::as_str), Some("bar"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_redirect_uri_query_mismatch() {
    let rp = Rp::with_redirect("https://rp.example.test/cb?foo=bar").await;
    let status = rp
        .error_page(&[("redirect_uri", "https://rp.example.test/cb?foo=zap")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_redirect_uri_query_added() {
    let rp = Rp::new().await;
    let status = rp
        .error_page(&[("redirect_uri", "https://rp.example.test/cb?foo=bar")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_ensure_redirect_uri_in_authorization_request() {
    let rp = Rp::new().await;
    // Twofold requires the redirect URI in every request (OIDC Core §3.1.2.1): an error page.
    assert_eq!(
        rp.error_page(&[("redirect_uri", "")]).await,
        StatusCode::BAD_REQUEST
    );
}

/// Config OP plan: the discovery document and the JWKS (OpenID Connect Discovery 1.0 §3,
/// §4.3; RFC 7517).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_discovery_endpoint_verification() {
    let app = TestApp::spawn().await;
    let d = get_json(&app, "/.well-known/openid-configuration").await;
    assert_eq!(
        d["issuer"],
        app.base.as_str(),
        "§4.3: the issuer it was fetched for"
    );
    for k in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
        "device_authorization_endpoint",
    ] {
        assert!(
            d[k].as_str().is_some_and(|u| u.starts_with(&app.base)),
            "{k}: {d}"
        );
    }
    let has = |k: &str, v: &str| {
        d[k].as_array()
            .unwrap_or_else(|| panic!("{k}"))
            .iter()
            .any(|x| x == v)
    };
    assert!(has("response_types_supported", "code"));
    assert!(has("subject_types_supported", "public"));
    assert!(has("id_token_signing_alg_values_supported", "RS256"));
    assert!(has("scopes_supported", "openid"));
    assert!(has("grant_types_supported", "authorization_code"));
    assert!(has(
        "token_endpoint_auth_methods_supported",
        "client_secret_basic"
    ));
    for c in ["sub", "iss", "auth_time", "acr", "email", "email_verified"] {
        assert!(has("claims_supported", c), "{c}");
    }
    assert_eq!(d["claims_parameter_supported"], false);
    assert_eq!(d["request_parameter_supported"], false);
    assert_eq!(d["request_uri_parameter_supported"], false);
    // The JWKS: RSA signing keys with unique kids, no private parts.
    let jwks = get_json(&app, "/oidc/jwks").await;
    let keys = jwks["keys"].as_array().unwrap();
    assert!(!keys.is_empty());
    let mut kids: Vec<&str> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
    for k in keys {
        assert_eq!(k["kty"], "RSA");
        assert_eq!(k["use"], "sig");
        assert!(k.get("d").is_none() && k.get("p").is_none());
    }
    kids.dedup();
    assert_eq!(kids.len(), keys.len());
}

/// Config OP plan: the issuer in every token and answer is the one discovery names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_discovery_issuer_matches_tokens() {
    let rp = Rp::new().await;
    let d = get_json(&rp.app, "/.well-known/openid-configuration").await;
    let a = rp.authorize(&[]).await;
    assert_eq!(a.query["iss"], d["issuer"].as_str().unwrap());
    let t = rp.token_body(a.code()).await;
    assert_eq!(rp.id_token(&t, Some(&a.nonce)).await["iss"], d["issuer"]);
}

/// The harness's logged-in-as-someone-else case of `oidcc-id-token-hint` (issue 26).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidcc_id_token_hint_for_another_user() {
    let rp = Rp::new().await;
    let (bobs, _) = rp.login(&[]).await;
    // Alice logs in in her own browser; then the app asks there with Bob's hint.
    let alice = Visitor::sign_up(&rp.app).await;
    let refs = |p: &[(String, String)]| -> Vec<(String, String)> { p.to_vec() };
    let (p, _, _) = rp.params(&[]);
    let p = refs(&p);
    let r: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let to = authorize_once(&rp.app, &alice, &r).await;
    assert!(to.starts_with("/login?"), "{to}");
    log_in(&rp.app, &alice, &to).await;
    let (p, _, _) = rp.params(&[
        ("prompt", "none"),
        ("id_token_hint", bobs["id_token"].as_str().unwrap()),
    ]);
    let r: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let to = authorize_once(&rp.app, &alice, &r).await;
    assert_eq!(error_of(&to), "login_required", "{to}");
}
