//! OpenID Connect for every kind of app (issue 26): the claims apps expect (`email`,
//! `email_verified`, `acr`), what the conformance harness found (request objects, the
//! authorization request by POST, unknown scopes, `id_token_hint`), and back-channel logout
//! delivered to a real receiver that checks the signature against the JWKS.

use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::TestApp;
use crate::oidc_flow::{
    ALL_SCOPES, Pkce, REDIRECT, TestClient, Visitor, add_client, add_client_with, authorize_once,
    authorize_with, claims_of, get_json, location, post_as, query_of, redeem, twofold, userinfo,
    verified_jwt,
};

fn base_params<'a>(client: &'a TestClient, pkce: &'a Pkce) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", client.id.as_str()),
        ("redirect_uri", client.redirect.as_str()),
        ("scope", "openid"),
        ("state", "s1"),
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]
}

/// The ID token (its claims) for `who` at `client` with `scope` and `extra` parameters.
async fn id_token_of(
    app: &TestApp,
    who: &Visitor,
    client: &TestClient,
    scope: &str,
    extra: &[(&str, &str)],
) -> (String, Value) {
    let pkce = Pkce::generate();
    let code = authorize_with(app, who, client, scope, &pkce, extra).await;
    let t = redeem(app, client, &code, &pkce).await;
    (t["access_token"].as_str().unwrap().to_owned(), t)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_email_gives_the_confirmed_address_and_email_verified() {
    let app = TestApp::spawn().await;
    let client = add_client(&app, "Mail app", REDIRECT, false);
    let who = Visitor::sign_up(&app).await;
    let (access, t) = id_token_of(&app, &who, &client, "openid email", &[]).await;
    let claims = claims_of(t["id_token"].as_str().unwrap());
    assert!(claims.get("email").is_none(), "no address yet: {claims}");
    let token = app.login(&who.user).await;
    app.add_email(&token, "person@example.org").await;
    let (access2, t) = id_token_of(&app, &who, &client, "openid email", &[]).await;
    let claims = claims_of(t["id_token"].as_str().unwrap());
    assert_eq!(claims["email"], "person@example.org", "{claims}");
    assert_eq!(claims["email_verified"], true);
    let info: Value = userinfo(&app, &access2).await.json().await.unwrap();
    assert_eq!(info["email"], "person@example.org");
    assert_eq!(info["email_verified"], true);
    let info: Value = userinfo(&app, &access).await.json().await.unwrap();
    assert_eq!(info["email"], "person@example.org", "userinfo reads it now");
    // Without the scope, no address.
    let (_, t) = id_token_of(&app, &who, &client, "openid profile", &[]).await;
    assert!(
        claims_of(t["id_token"].as_str().unwrap())
            .get("email")
            .is_none()
    );
    let disc = get_json(&app, "/.well-known/openid-configuration").await;
    for c in ["email", "email_verified", "acr", "sid"] {
        assert!(
            disc["claims_supported"]
                .as_array()
                .unwrap()
                .contains(&c.into()),
            "{c}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acr_values_are_answered_with_what_the_login_met() {
    let app = TestApp::spawn().await;
    let client = add_client(&app, "Acr app", REDIRECT, false);
    let one = Visitor::sign_up(&app).await;
    let two = Visitor::with_totp(&app).await;
    let acr = |t: &Value| claims_of(t["id_token"].as_str().unwrap())["acr"].clone();
    // Not asked: not told.
    let (_, t) = id_token_of(&app, &one, &client, "openid", &[]).await;
    assert_eq!(acr(&t), Value::Null);
    // Asked for two factors after a password alone: no step-up forced, the truth told.
    let (_, t) = id_token_of(&app, &one, &client, "openid", &[("acr_values", "mfa")]).await;
    assert_eq!(acr(&t), "1fa");
    let (_, t) = id_token_of(&app, &two, &client, "openid", &[("acr_values", "phr mfa")]).await;
    assert_eq!(acr(&t), "mfa");
    let disc = get_json(&app, "/.well-known/openid-configuration").await;
    assert_eq!(
        disc["acr_values_supported"],
        serde_json::json!(["1fa", "mfa", "phr"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_objects_are_refused_not_ignored() {
    let app = TestApp::spawn().await;
    let client = add_client(&app, "Request app", REDIRECT, false);
    let who = Visitor::sign_up(&app).await;
    who.code(&app, &client, "openid").await;
    let pkce = Pkce::generate();
    // An unsigned request object (alg none) asking for another redirect: refused.
    let object = format!(
        "{}.{}.",
        B64.encode(br#"{"alg":"none"}"#),
        B64.encode(br#"{"scope":"openid profile","state":"from-object"}"#)
    );
    for (param, value, error) in [
        ("request", object.as_str(), "request_not_supported"),
        (
            "request_uri",
            "https://app.example.test/req.jwt",
            "request_uri_not_supported",
        ),
    ] {
        let mut params = base_params(&client, &pkce);
        params.push((param, value));
        let to = authorize_once(&app, &who, &params).await;
        assert!(to.starts_with(REDIRECT), "{to}");
        let q = query_of(&to);
        assert_eq!(q["error"], error, "{to}");
        assert_eq!(q["state"], "s1");
        assert!(!q.contains_key("code"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorization_request_by_post_works_like_get() {
    let app = TestApp::spawn().await;
    let client = add_client(&app, "Post app", REDIRECT, false);
    let who = Visitor::sign_up(&app).await;
    who.code(&app, &client, "openid").await;
    let pkce = Pkce::generate();
    let res = who
        .browser
        .post(app.url("/oidc/authorize"))
        .form(&base_params(&client, &pkce))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());
    let to = location(&res);
    assert!(to.starts_with(REDIRECT) && to.contains("code="), "{to}");
    // Without a session (a cross-site post carries no Lax cookie): the login, as by GET.
    let res = app
        .http
        .post(app.url("/oidc/authorize"))
        .form(&base_params(&client, &pkce))
        .send()
        .await
        .unwrap();
    assert!(location(&res).starts_with("/login?"));
    // The consent's answer still needs this browser's CSRF token: a forged Allow is refused.
    let mut forged = base_params(&client, &pkce);
    forged.push(("decision", "allow"));
    let res = who
        .browser
        .post(app.url("/oidc/authorize"))
        .form(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_scope_is_ignored() {
    let app = TestApp::spawn().await;
    let client = add_client(&app, "Scope app", REDIRECT, false);
    let who = Visitor::sign_up(&app).await;
    let (_, t) = id_token_of(&app, &who, &client, "openid address", &[]).await;
    assert_eq!(t["scope"], "openid");
}

/// The harness's finding: `prompt=none` with Bob's `id_token_hint` returned a code for
/// Alice, who was logged in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_hint_for_someone_else_is_login_required() {
    let app = TestApp::spawn().await;
    let client = add_client(&app, "Hint app", REDIRECT, false);
    let alice = Visitor::sign_up(&app).await;
    let bob = Visitor::sign_up(&app).await;
    let (_, a) = id_token_of(&app, &alice, &client, "openid", &[]).await;
    let (_, b) = id_token_of(&app, &bob, &client, "openid", &[]).await;
    let pkce = Pkce::generate();
    let ask = |hint: &str| {
        let mut p: Vec<(String, String)> = base_params(&client, &pkce)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        p.push(("prompt".into(), "none".into()));
        p.push(("id_token_hint".into(), hint.to_owned()));
        p
    };
    async fn once(app: &TestApp, who: &Visitor, p: Vec<(String, String)>) -> String {
        let refs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        authorize_once(app, who, &refs).await
    }
    let to = once(&app, &alice, ask(b["id_token"].as_str().unwrap())).await;
    let q = query_of(&to);
    assert_eq!(
        q.get("error").map(String::as_str),
        Some("login_required"),
        "{to}"
    );
    assert!(!q.contains_key("code"));
    // Her own (even expired) hint: the code.
    app.clock.advance(3600);
    let to = once(&app, &alice, ask(a["id_token"].as_str().unwrap())).await;
    assert!(query_of(&to).contains_key("code"), "{to}");
    // A hint this provider did not sign: invalid_request.
    let forged = {
        let t = a["id_token"].as_str().unwrap();
        let (head, _) = t.rsplit_once('.').unwrap();
        format!("{head}.{}", B64.encode([7u8; 256]))
    };
    let to = once(&app, &alice, ask(&forged)).await;
    assert_eq!(query_of(&to)["error"], "invalid_request", "{to}");
    // Without prompt=none, Bob's hint in Alice's browser sends her to log in.
    let mut p = base_params(&client, &pkce);
    p.push(("id_token_hint", b["id_token"].as_str().unwrap()));
    let to = authorize_once(&app, &alice, &p).await;
    assert!(to.starts_with("/login?"), "{to}");
}

/// A real back-channel logout receiver: it records every `logout_token` POSTed to it and
/// answers each with the next status of `answers` (then 200).
#[derive(Clone)]
struct Receiver {
    url: String,
    tokens: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    async fn start(answers: Vec<u16>) -> Self {
        use axum::routing::post;
        let tokens = Arc::new(Mutex::new(Vec::new()));
        let answers = Arc::new(Mutex::new(answers));
        let (t, a) = (tokens.clone(), answers.clone());
        let router = axum::Router::new().route(
            "/backchannel",
            post(move |form: axum::extract::Form<Vec<(String, String)>>| {
                let (t, a) = (t.clone(), a.clone());
                async move {
                    let token = form
                        .0
                        .iter()
                        .find(|(k, _)| k == "logout_token")
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default();
                    t.lock().unwrap().push(token);
                    let mut a = a.lock().unwrap();
                    let status = if a.is_empty() { 200 } else { a.remove(0) };
                    axum::http::StatusCode::from_u16(status).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://127.0.0.1:{}/backchannel",
            listener.local_addr().unwrap().port()
        );
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self { url, tokens }
    }

    fn received(&self) -> Vec<String> {
        self.tokens.lock().unwrap().clone()
    }

    /// Waits (up to 15 s) until `n` tokens arrived.
    async fn wait_for(&self, n: usize) -> Vec<String> {
        for _ in 0..150 {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("{} logout tokens arrived, not {n}", self.received().len());
    }
}

/// Checks a logout token as a relying party must (Back-Channel Logout 1.0 §2.6): the RS256
/// signature against the provider's JWKS, `typ`, `iss`, `aud`, `iat`/`exp`, `jti`, the event,
/// no `nonce`; returns its claims.
async fn verified_logout_token(app: &TestApp, token: &str, client: &TestClient) -> Value {
    let (header, claims) = verified_jwt(app, token).await;
    assert_eq!(header["typ"], "logout+jwt");
    assert_eq!(claims["iss"], app.base.as_str());
    assert_eq!(claims["aud"], client.id.as_str());
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert!(exp > iat && exp - iat <= 300, "{claims}");
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
    assert!(claims.get("nonce").is_none());
    assert!(
        claims["events"]
            .get("http://schemas.openid.net/event/backchannel-logout")
            .is_some_and(Value::is_object),
        "{claims}"
    );
    claims
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_channel_logout_reaches_the_app_signed_with_its_sid() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(vec![]).await;
    let client = add_client_with(
        &app,
        "Back-channel app",
        REDIRECT,
        &[
            "--backchannel-logout-uri",
            &receiver.url,
            "--scopes",
            ALL_SCOPES,
        ],
    );
    let quiet = add_client(&app, "Quiet app", REDIRECT, false);
    let who = Visitor::sign_up(&app).await;
    let (_, t) = id_token_of(&app, &who, &client, "openid", &[]).await;
    id_token_of(&app, &who, &quiet, "openid", &[]).await;
    let id = claims_of(t["id_token"].as_str().unwrap());
    let disc = get_json(&app, "/.well-known/openid-configuration").await;
    assert_eq!(disc["backchannel_logout_supported"], true);
    assert_eq!(disc["backchannel_logout_session_supported"], true);
    // RP-initiated logout with the app's own hint ends the Twofold session.
    let res = who
        .browser
        .get(app.url(&format!(
            "/oidc/logout?id_token_hint={}",
            t["id_token"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success() || res.status().is_redirection());
    let got = receiver.wait_for(1).await;
    let claims = verified_logout_token(&app, &got[0], &client).await;
    assert_eq!(claims["sid"], id["sid"]);
    assert_eq!(claims["sub"], id["sub"]);
    // A token is not an ID token: it cannot serve as a hint.
    let pkce = Pkce::generate();
    let mut p = base_params(&client, &pkce);
    p.push(("id_token_hint", got[0].as_str()));
    let to = authorize_once(&app, &who, &p).await;
    assert_eq!(query_of(&to)["error"], "invalid_request", "{to}");
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(receiver.received().len(), 1, "sent once");
}

/// Every end of a session an app holds tokens from: a security event (password change), the
/// operator's `twofold user logout`; and a receiver that fails is tried again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_events_and_operator_logouts_reach_the_app_and_failures_are_retried() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(vec![503]).await;
    let client = add_client_with(
        &app,
        "Offline app",
        REDIRECT,
        &[
            "--backchannel-logout-uri",
            &receiver.url,
            "--scopes",
            ALL_SCOPES,
        ],
    );
    let who = Visitor::sign_up(&app).await;
    let (_, t) = id_token_of(&app, &who, &client, "openid offline_access", &[]).await;
    let sid = claims_of(t["id_token"].as_str().unwrap())["sid"].clone();
    // The password changes over the API: the browser session (and its offline grant) end.
    let token = app.login(&who.user).await;
    let res = app
        .post(
            "/api/v1/me/password",
            Some(&token),
            serde_json::json!({"current_password": who.user.password, "new_password": "a completely new passphrase 42"}),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    // The first try is answered 503; the worker tries again after 30 seconds.
    let first = receiver.wait_for(1).await;
    verified_logout_token(&app, &first[0], &client).await;
    app.clock.advance(31);
    let both = receiver.wait_for(2).await;
    let claims = verified_logout_token(&app, &both[1], &client).await;
    assert_eq!(claims["sid"], sid);
    // The operator logs the person out everywhere: a new session's app hears of it.
    let mut who = who;
    who.user.password = "a completely new passphrase 42".into();
    let (_, t) = id_token_of(&app, &who, &client, "openid", &[]).await;
    let sid = claims_of(t["id_token"].as_str().unwrap())["sid"].clone();
    twofold(&app, &["user", "logout", &who.user.username]);
    let all = receiver.wait_for(3).await;
    let claims = verified_logout_token(&app, &all[2], &client).await;
    assert_eq!(claims["sid"], sid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_back_channel_uri_follows_the_redirect_uri_rule() {
    let app = TestApp::spawn().await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_twofold"))
        .env_clear()
        .env("TWOFOLD_DATA_DIR", app.data_dir.path())
        .env("TWOFOLD_DATABASE_URL", &app.config.database_url)
        .args([
            "client",
            "add",
            "--name",
            "Plain http",
            "--redirect-uri",
            REDIRECT,
            "--backchannel-logout-uri",
            "http://app.example.test/logout",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("https"));
}

/// A session that ends by going idle is an end too: the request that finds it expired
/// queues the logout in the transaction that deletes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_session_that_ends_reaches_the_app() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(vec![]).await;
    let client = add_client_with(
        &app,
        "Idle app",
        REDIRECT,
        &["--backchannel-logout-uri", &receiver.url],
    );
    let who = Visitor::sign_up(&app).await;
    let (_, t) = id_token_of(&app, &who, &client, "openid", &[]).await;
    let sid = claims_of(t["id_token"].as_str().unwrap())["sid"].clone();
    app.clock.advance(14 * 86_400 + 1);
    let res = who
        .browser
        .get(app.url("/settings/security"))
        .send()
        .await
        .unwrap();
    assert!(location(&res).starts_with("/login"), "logged out by now");
    let got = receiver.wait_for(1).await;
    let claims = verified_logout_token(&app, &got[0], &client).await;
    assert_eq!(claims["sid"], sid);
}

/// Pushed authorization requests (RFC 9126): checked when pushed, taken once, only by the
/// client that pushed them, within 60 seconds; what the browser sends beside the
/// `request_uri` is ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_authorization_requests_are_taken_once_by_their_client() {
    let app = TestApp::spawn().await;
    let client = add_client(&app, "Par app", REDIRECT, false);
    let other = add_client(&app, "Other app", REDIRECT, false);
    let who = Visitor::sign_up(&app).await;
    who.code(&app, &client, "openid").await; // logged in, consent given
    let pkce = Pkce::generate();
    let request = |redirect: &str| {
        vec![
            ("response_type", "code".to_owned()),
            ("redirect_uri", redirect.to_owned()),
            ("scope", "openid".to_owned()),
            ("state", "pushed-state".to_owned()),
            ("code_challenge", pkce.challenge.clone()),
            ("code_challenge_method", "S256".to_owned()),
        ]
    };
    let push = |c: TestClient, form: Vec<(&'static str, String)>| {
        let app = &app;
        async move { post_as(app, "/oidc/par", &c, form).await }
    };
    // Checked before any browser is involved.
    let res = app
        .http
        .post(app.url("/oidc/par"))
        .form(&request(REDIRECT))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = push(client.clone(), request("https://elsewhere.example.test/cb")).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );
    let pushed = |c: TestClient| {
        let form = request(REDIRECT);
        async move {
            let res = push(c, form).await;
            assert_eq!(res.status(), StatusCode::CREATED);
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["expires_in"], 60);
            let uri = body["request_uri"].as_str().unwrap().to_owned();
            assert!(
                uri.starts_with("urn:ietf:params:oauth:request_uri:"),
                "{uri}"
            );
            uri
        }
    };
    let status_of = |client_id: String, uri: String| {
        let b = who.browser.clone();
        let url = app.url(&format!(
            "/oidc/authorize?{}",
            serde_urlencoded::to_string([
                ("client_id", client_id.as_str()),
                ("request_uri", uri.as_str()),
                ("state", "from-the-browser"),
            ])
            .unwrap()
        ));
        async move { b.get(url).send().await.unwrap() }
    };
    // Another client cannot take it; its own can, once, with the pushed parameters.
    let uri = pushed(client.clone()).await;
    let res = status_of(other.id.clone(), uri.clone()).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = status_of(client.id.clone(), uri.clone()).await;
    let to = location(&res);
    let q = query_of(&to);
    assert!(to.starts_with(REDIRECT) && q.contains_key("code"), "{to}");
    assert_eq!(q["state"], "pushed-state");
    let res = status_of(client.id.clone(), uri).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "used already");
    // 60 seconds.
    let uri = pushed(client.clone()).await;
    app.clock.advance(61);
    let res = status_of(client.id.clone(), uri).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "expired");
    let disc = get_json(&app, "/.well-known/openid-configuration").await;
    assert_eq!(
        disc["pushed_authorization_request_endpoint"],
        format!("{}/oidc/par", app.base)
    );
}

/// A deleted account (the owner's `DELETE /api/v1/me`, or the operator's `twofold user
/// delete`) still reaches its apps: the logout token is queued in the deletion's own
/// transaction, and the queue outlives the account's rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_account_reaches_the_app() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(vec![]).await;
    let client = add_client_with(
        &app,
        "Photo Album",
        REDIRECT,
        &["--backchannel-logout-uri", &receiver.url],
    );
    // The owner deletes their account over the API.
    let who = Visitor::sign_up(&app).await;
    let (_, t) = id_token_of(&app, &who, &client, "openid", &[]).await;
    let claims = claims_of(t["id_token"].as_str().unwrap());
    let token = app.login(&who.user).await;
    let res = app
        .call(
            reqwest::Method::DELETE,
            "/api/v1/me",
            Some(&token),
            Some(serde_json::json!({})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let got = receiver.wait_for(1).await;
    let logout = verified_logout_token(&app, &got[0], &client).await;
    assert_eq!(logout["sid"], claims["sid"]);
    assert_eq!(logout["sub"], claims["sub"]);
    // The operator deletes another one.
    let other = Visitor::sign_up(&app).await;
    let (_, t) = id_token_of(&app, &other, &client, "openid", &[]).await;
    let claims = claims_of(t["id_token"].as_str().unwrap());
    let out = twofold(&app, &["user", "delete", &other.user.username, "--yes"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = receiver.wait_for(2).await;
    let logout = verified_logout_token(&app, &got[1], &client).await;
    assert_eq!(logout["sid"], claims["sid"]);
    assert_eq!(logout["sub"], claims["sub"]);
}
