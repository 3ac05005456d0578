//! Sign in with Twofold as an app sees it, for the OpenID Connect tests: clients added with
//! the real `twofold client add`, a browser that logs in through Twofold's own pages (the
//! `/login` form with its CSRF token, the second step when the account has 2FA), the
//! consent page, and the token, refresh, introspection and userinfo calls.

use std::collections::HashMap;
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Response, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, TestUser, rand_u64};
use crate::web::{browser, csrf_of, page};

const BIN: &str = env!("CARGO_BIN_EXE_twofold");

/// The redirect URI test clients register.
pub const REDIRECT: &str = "https://app.example.test/callback";

/// A registered client.
#[derive(Clone, Debug)]
pub struct TestClient {
    pub id: String,
    pub secret: Option<String>,
    pub redirect: String,
}

/// `twofold` run against the test server's data folder and database.
pub fn twofold(app: &TestApp, args: &[&str]) -> std::process::Output {
    let out = Command::new(BIN)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TWOFOLD_DATA_DIR", app.data_dir.path())
        .env("TWOFOLD_DATABASE_URL", &app.config.database_url)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "twofold {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Every scope Twofold knows, `offline_access` included.
pub const ALL_SCOPES: &str = "openid profile email phone offline_access";

/// `twofold client add --name NAME --redirect-uri REDIRECT [--public] --scopes ALL_SCOPES
/// --json`: a client that may receive every scope, refresh tokens included.
pub fn add_client(app: &TestApp, name: &str, redirect: &str, public: bool) -> TestClient {
    let mut flags = vec!["--scopes", ALL_SCOPES];
    if public {
        flags.push("--public");
    }
    add_client_with(app, name, redirect, &flags)
}

/// `twofold client add --name NAME --redirect-uri REDIRECT FLAGS… --json`.
pub fn add_client_with(app: &TestApp, name: &str, redirect: &str, flags: &[&str]) -> TestClient {
    let mut args = vec![
        "client",
        "add",
        "--name",
        name,
        "--redirect-uri",
        redirect,
        "--json",
    ];
    args.extend_from_slice(flags);
    let v: Value = serde_json::from_slice(&twofold(app, &args).stdout).unwrap();
    TestClient {
        id: v["client_id"].as_str().unwrap().to_owned(),
        secret: v["client_secret"].as_str().map(str::to_owned),
        redirect: redirect.to_owned(),
    }
}

/// A PKCE verifier and its S256 challenge (RFC 7636 §4.1, §4.2).
#[derive(Clone, Debug)]
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    pub fn generate() -> Self {
        let verifier: String = (0..4).map(|_| format!("{:016x}", rand_u64())).collect();
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        Self {
            verifier,
            challenge,
        }
    }
}

/// Someone with an account and a browser of their own: the password, then the
/// authenticator app when `totp` (its base32 secret) is set.
pub struct Visitor {
    pub user: TestUser,
    pub totp: Option<String>,
    pub browser: reqwest::Client,
}

impl Visitor {
    /// A fresh account (no 2FA) and a fresh browser.
    pub async fn sign_up(app: &TestApp) -> Self {
        Self {
            user: app.signup().await,
            totp: None,
            browser: browser(),
        }
    }

    /// A fresh account with the authenticator app on.
    pub async fn with_totp(app: &TestApp) -> Self {
        let mut v = Self::sign_up(app).await;
        let token = app.login(&v.user).await;
        v.totp = Some(app.enable_totp(&token).await.0);
        v
    }

    /// A code for `client` (see [`authorize`]) and the PKCE verifier it needs.
    pub async fn code(&self, app: &TestApp, client: &TestClient, scope: &str) -> (String, Pkce) {
        let pkce = Pkce::generate();
        (authorize(app, self, client, scope, &pkce).await, pkce)
    }
}

/// `GET path` on `app` as JSON.
pub async fn get_json(app: &TestApp, path: &str) -> Value {
    let res = app.http.get(app.url(path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.json().await.unwrap()
}

pub fn location(res: &Response) -> String {
    res.headers()
        .get("location")
        .expect("a Location")
        .to_str()
        .unwrap()
        .to_owned()
}

pub fn html_unescape(s: &str) -> String {
    s.replace("&#38;", "&")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The hidden fields of the page's form that posts to `action`, as the browser would post
/// them (the header's logout form has its own).
fn hidden_fields(html: &str, action: &str) -> Vec<(String, String)> {
    let form = html
        .split_once(&format!("action=\"{action}\""))
        .and_then(|(_, rest)| rest.split_once("</form>"))
        .map(|(form, _)| form)
        .unwrap_or_else(|| panic!("no form to {action}: {html}"));
    let mut out = Vec::new();
    for part in form.split("<input type=\"hidden\" name=\"").skip(1) {
        let (name, rest) = part.split_once('"').unwrap();
        let value = rest
            .split_once("value=\"")
            .and_then(|(_, v)| v.split_once('"'))
            .map(|(v, _)| html_unescape(v))
            .unwrap_or_default();
        out.push((name.to_owned(), value));
    }
    out
}

/// The query of a URL, as a map.
pub fn query_of(url: &str) -> HashMap<String, String> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// Logs in on the page `to` (`/login?next=…`) sends the browser to; the answer is the
/// redirect onwards.
pub async fn log_in(app: &TestApp, who: &Visitor, to: &str) -> Response {
    let b = &who.browser;
    let (_, html) = page(b, app, to).await;
    let next = query_of(&app.url(to)).remove("next").unwrap_or_default();
    let res = b
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("username", &who.user.username),
            ("password", &who.user.password),
            ("next", &next),
        ])
        .send()
        .await
        .unwrap();
    // Onwards: a redirect, or the page that moves the browser on by itself.
    let step = match res.status() {
        StatusCode::SEE_OTHER => location(&res),
        StatusCode::OK => return res,
        s => panic!("the password step: {s} {}", res.text().await.unwrap()),
    };
    if !step.starts_with("/login/two-factor") {
        return res;
    }
    let secret = who
        .totp
        .as_deref()
        .expect("the account has 2FA: give its authenticator secret");
    let (_, html) = page(b, app, &step).await;
    let res = b
        .post(app.url("/login/two-factor"))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("method", "totp"),
            ("code", &app.totp(secret, 0)),
            ("next", &next),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        [StatusCode::SEE_OTHER, StatusCode::OK].contains(&res.status()),
        "the second step: {}",
        res.status()
    );
    // Each authenticator step works once: the next login needs the next one.
    app.clock.advance(30);
    res
}

/// Runs the authorization request in `who`'s browser — logging in and allowing the app on
/// the consent page when asked — and returns the code the app receives (its `state` and
/// `iss` checked).
pub async fn authorize(
    app: &TestApp,
    who: &Visitor,
    client: &TestClient,
    scope: &str,
    pkce: &Pkce,
) -> String {
    authorize_with(app, who, client, scope, pkce, &[]).await
}

/// [`authorize`] with more parameters (`acr_values`, `id_token_hint`, …).
pub async fn authorize_with(
    app: &TestApp,
    who: &Visitor,
    client: &TestClient,
    scope: &str,
    pkce: &Pkce,
    extra: &[(&str, &str)],
) -> String {
    let state = format!("st{:x}", rand_u64());
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", &client.id),
        ("redirect_uri", &client.redirect),
        ("scope", scope),
        ("state", &state),
        ("nonce", "n-0S6_WzA2Mj"),
        ("code_challenge", &pkce.challenge),
        ("code_challenge_method", "S256"),
    ];
    params.extend_from_slice(extra);
    let query = serde_urlencoded::to_string(&params).unwrap();
    let url = follow(
        app,
        who,
        &client.redirect,
        &format!("/oidc/authorize?{query}"),
    )
    .await;
    code_of(app, &url, &state)
}

/// Runs an authorization request (`start`, a path on Twofold) in `who`'s browser — logging
/// in and allowing the app on the consent page when asked — and returns the URL the app
/// receives at `redirect` (a code or an error).
pub async fn follow(app: &TestApp, who: &Visitor, redirect: &str, start: &str) -> String {
    let b = &who.browser;
    let mut res = b.get(app.url(start)).send().await.unwrap();
    for _ in 0..8 {
        if res.status().is_redirection() {
            let to = location(&res);
            if to.starts_with(redirect) {
                return to;
            }
            assert!(
                to.starts_with('/'),
                "only Twofold's own pages on the way: {to}"
            );
            res = if to.starts_with("/login?") {
                log_in(app, who, &to).await
            } else {
                b.get(app.url(&to)).send().await.unwrap()
            };
            continue;
        }
        let status = res.status();
        let html = res.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{html}");
        if html.contains("action=\"/oidc/authorize\"") {
            // The consent page: Allow.
            let mut form = hidden_fields(&html, "/oidc/authorize");
            form.push(("decision".into(), "allow".into()));
            res = b
                .post(app.url("/oidc/authorize"))
                .form(&form)
                .send()
                .await
                .unwrap();
            continue;
        }
        // The page that moves the browser on by itself (after a form: the login's, the
        // consent's), to Twofold's next step or to the app.
        let url = html
            .split_once("content=\"0;url=")
            .and_then(|(_, r)| r.split_once('"'))
            .map(|(u, _)| html_unescape(u))
            .unwrap_or_else(|| panic!("neither consent nor the way on: {html}"));
        if url.starts_with('/') {
            res = b.get(app.url(&url)).send().await.unwrap();
            continue;
        }
        assert!(url.starts_with(redirect), "{url}");
        return url;
    }
    panic!("the authorization request did not end at the app");
}

fn code_of(app: &TestApp, url: &str, state: &str) -> String {
    let q = query_of(url);
    assert_eq!(q.get("state").map(String::as_str), Some(state), "{url}");
    assert_eq!(q.get("iss").map(String::as_str), Some(app.base.as_str()));
    q.get("code")
        .unwrap_or_else(|| panic!("no code: {url}"))
        .clone()
}

/// A form posted to `path` authenticated as `client` (Basic for a confidential one,
/// `client_id` in the form for a public one).
pub async fn post_as(
    app: &TestApp,
    path: &str,
    client: &TestClient,
    mut form: Vec<(&'static str, String)>,
) -> Response {
    let req = app.http.post(app.url(path));
    let req = match &client.secret {
        Some(secret) => req.basic_auth(&client.id, Some(secret)),
        None => {
            form.push(("client_id", client.id.clone()));
            req
        }
    };
    req.form(&form).send().await.unwrap()
}

/// A token-endpoint request authenticated as `client`.
pub async fn token_request(
    app: &TestApp,
    client: &TestClient,
    form: Vec<(&'static str, String)>,
) -> Response {
    post_as(app, "/oidc/token", client, form).await
}

/// `grant_type=authorization_code` with `verifier` and `redirect`.
pub async fn redeem_with(
    app: &TestApp,
    client: &TestClient,
    code: &str,
    verifier: &str,
    redirect: &str,
) -> Response {
    token_request(
        app,
        client,
        vec![
            ("grant_type", "authorization_code".into()),
            ("code", code.into()),
            ("redirect_uri", redirect.into()),
            ("code_verifier", verifier.into()),
        ],
    )
    .await
}

/// Redeems a code as it should be; the tokens.
pub async fn redeem(app: &TestApp, client: &TestClient, code: &str, pkce: &Pkce) -> Value {
    tokens(redeem_with(app, client, code, &pkce.verifier, &client.redirect).await).await
}

/// `grant_type=refresh_token`.
pub async fn refresh(app: &TestApp, client: &TestClient, refresh_token: &str) -> Response {
    token_request(
        app,
        client,
        vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", refresh_token.into()),
        ],
    )
    .await
}

/// The tokens of a successful answer.
pub async fn tokens(res: Response) -> Value {
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["access_token"].is_string() && body["id_token"].is_string());
    body
}

/// An OAuth error answer (RFC 6749 §5.2): this status and `error`, never a 500.
pub async fn oauth_error(res: Response, status: StatusCode, error: &str) -> Value {
    let got = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(got, status, "{body}");
    assert_eq!(body["error"], error, "{body}");
    body
}

/// Whether introspection (as `client`) says the token works.
pub async fn active(app: &TestApp, client: &TestClient, token: &str) -> bool {
    let res = post_as(
        app,
        "/oidc/introspect",
        client,
        vec![("token", token.to_owned())],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    body["active"].as_bool().unwrap()
}

/// `GET /oidc/userinfo` with a Bearer access token.
pub async fn userinfo(app: &TestApp, access_token: &str) -> Response {
    app.http
        .get(app.url("/oidc/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
}

/// The `kid`s a node publishes.
pub async fn published_kids(app: &TestApp) -> Vec<String> {
    get_json(app, "/oidc/jwks").await["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// The claims of a JWT (its signature unchecked: the relying party's job).
pub fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// A JWT this provider signed, checked as a relying party checks it: RS256, its `kid` in the
/// JWKS, the signature verified with that key. Its header and claims.
pub async fn verified_jwt(app: &TestApp, token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let (h, p, s) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    assert!(parts.next().is_none());
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    let jwks = get_json(app, "/oidc/jwks").await;
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the token's key is in the JWKS");
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap();
    ring::signature::RsaPublicKeyComponents { n: &n, e: &e }
        .verify(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            format!("{h}.{p}").as_bytes(),
            &URL_SAFE_NO_PAD.decode(s).unwrap(),
        )
        .expect("the signature checks against the JWKS");
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap();
    (header, claims)
}

/// The `kid` in a JWT's header.
pub fn kid_of(jwt: &str) -> String {
    let header = jwt.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

/// `GET /oidc/authorize?…` in `who`'s browser with these parameters (no redirect
/// followed): where it sends the browser.
pub async fn authorize_once(app: &TestApp, who: &Visitor, params: &[(&str, &str)]) -> String {
    let q = serde_urlencoded::to_string(params).unwrap();
    let res = who
        .browser
        .get(app.url(&format!("/oidc/authorize?{q}")))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());
    location(&res)
}

/// Issue 21, item 4: `prompt=login` and `max_age` are judged from the server's own record;
/// `login_after=0` (the old trick) or a made-up `login_request` gets no code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_login_cannot_be_skipped_from_the_request() {
    let app = TestApp::spawn().await;
    let client = add_client(&app, "Fresh login app", REDIRECT, false);
    let who = Visitor::sign_up(&app).await;
    who.code(&app, &client, "openid").await; // logged in, consent given
    app.clock.advance(120);
    let pkce = Pkce::generate();
    let base = [
        ("response_type", "code"),
        ("client_id", client.id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    for extra in [
        vec![("prompt", "login"), ("login_after", "0")],
        vec![
            ("prompt", "login"),
            (
                "login_request",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            ),
        ],
        vec![("max_age", "60"), ("login_after", "0")],
        vec![("max_age", "60"), ("login_request", "not-a-token")],
    ] {
        let mut params = base.to_vec();
        params.extend(extra.iter().copied());
        let to = authorize_once(&app, &who, &params).await;
        assert!(
            to.starts_with("/login?"),
            "{extra:?} skipped the login: {to}"
        );
    }
    // The honest way round: log in again, and the code comes.
    let mut params = base.to_vec();
    params.push(("prompt", "login"));
    let to = authorize_once(&app, &who, &params).await;
    let res = log_in(&app, &who, &to).await;
    let to = if res.status() == StatusCode::SEE_OTHER {
        location(&res)
    } else {
        let html = res.text().await.unwrap();
        html.split_once("content=\"0;url=")
            .and_then(|(_, r)| r.split_once('"'))
            .map(|(u, _)| html_unescape(u))
            .unwrap()
    };
    assert!(to.contains("login_request="), "{to}");
    let res = who.browser.get(app.url(&to)).send().await.unwrap();
    let back = location(&res);
    assert!(
        back.starts_with(REDIRECT) && back.contains("code="),
        "{back}"
    );
}

/// Issue 21, item 6: every client sends PKCE, but a confidential one registered with
/// `--allow-no-pkce`; a public one cannot be registered so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_needs_pkce_unless_allowed() {
    let app = TestApp::spawn().await;
    let strict = add_client(&app, "Strict app", REDIRECT, false);
    let legacy = add_client_with(&app, "Legacy app", REDIRECT, &["--allow-no-pkce"]);
    let who = Visitor::sign_up(&app).await;
    who.code(&app, &strict, "openid").await;
    who.code(&app, &legacy, "openid").await;
    let ask = |c: &TestClient| {
        vec![
            ("response_type", "code".to_owned()),
            ("client_id", c.id.clone()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("scope", "openid".to_owned()),
            ("state", "s1".to_owned()),
        ]
    };
    let as_ref = |v: &Vec<(&'static str, String)>| -> Vec<(&str, String)> { v.clone() };
    let q = as_ref(&ask(&strict));
    let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let to = authorize_once(&app, &who, &q).await;
    let got = query_of(&to);
    assert_eq!(
        got.get("error").map(String::as_str),
        Some("invalid_request"),
        "{to}"
    );
    let q = ask(&legacy);
    let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let to = authorize_once(&app, &who, &q).await;
    let code = query_of(&to).remove("code").expect("a code without PKCE");
    let res = token_request(
        &app,
        &legacy,
        vec![
            ("grant_type", "authorization_code".into()),
            ("code", code),
            ("redirect_uri", REDIRECT.into()),
        ],
    )
    .await;
    tokens(res).await;
    let out = Command::new(BIN)
        .env_clear()
        .env("TWOFOLD_DATA_DIR", app.data_dir.path())
        .env("TWOFOLD_DATABASE_URL", &app.config.database_url)
        .args([
            "client",
            "add",
            "--name",
            "Bad",
            "--redirect-uri",
            REDIRECT,
            "--public",
            "--allow-no-pkce",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("confidential"));
}

/// Issue 21, item 6: a client gets only what it was registered for (`offline_access` only
/// when listed); a request for more is narrowed, and unknown scopes are ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_are_narrowed_to_the_client() {
    let app = TestApp::spawn().await;
    let plain = add_client_with(&app, "Default scopes app", REDIRECT, &[]);
    let who = Visitor::sign_up(&app).await;
    let (code, pkce) = who
        .code(&app, &plain, "openid profile offline_access address")
        .await;
    let t = redeem(&app, &plain, &code, &pkce).await;
    assert_eq!(t["scope"], "openid profile", "{t}");
    assert!(t["refresh_token"].is_null(), "no refresh token: {t}");
    let narrow = add_client_with(&app, "Narrow app", REDIRECT, &["--scopes", "openid"]);
    let (code, pkce) = who.code(&app, &narrow, "openid profile phone").await;
    let t = redeem(&app, &narrow, &code, &pkce).await;
    assert_eq!(t["scope"], "openid", "{t}");
    assert!(claims_of(t["id_token"].as_str().unwrap())["preferred_username"].is_null());
}

/// Issue 21, item 6: an app registered with `--skip-consent` that holds a grant is listed
/// for its user and can be disconnected, which ends its tokens (ASVS 5.0 10.7.3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_consent_apps_are_listed_and_disconnectable() {
    let app = TestApp::spawn().await;
    let own = add_client_with(
        &app,
        "Our own app",
        REDIRECT,
        &["--skip-consent", "--scopes", ALL_SCOPES],
    );
    let who = Visitor::sign_up(&app).await;
    let token = app.login(&who.user).await;
    let (code, pkce) = who.code(&app, &own, "openid offline_access").await;
    let t = redeem(&app, &own, &code, &pkce).await;
    let apps: Value = app
        .get("/api/v1/me/apps", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    let listed: Vec<&str> = apps["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [own.id.as_str()], "{apps}");
    let res = app
        .delete(&format!("/api/v1/me/apps/{}", own.id), Some(&token))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(!active(&app, &own, t["refresh_token"].as_str().unwrap()).await);
    assert!(!active(&app, &own, t["access_token"].as_str().unwrap()).await);
}

/// Issue 21, item 9: an ID token that does not name this browser's session (another
/// user's) never logs it out silently; its own does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_token_hint_for_another_session_asks_first() {
    let app = TestApp::spawn().await;
    let client = add_client(&app, "Logout app", REDIRECT, false);
    let alice = Visitor::sign_up(&app).await;
    let bob = Visitor::sign_up(&app).await;
    let id_token = |t: Value| t["id_token"].as_str().unwrap().to_owned();
    let (code, pkce) = alice.code(&app, &client, "openid").await;
    let alices = id_token(redeem(&app, &client, &code, &pkce).await);
    let (code, pkce) = bob.code(&app, &client, "openid").await;
    let bobs = id_token(redeem(&app, &client, &code, &pkce).await);
    let logged_in = |v: &Visitor| {
        let b = v.browser.clone();
        let url = app.url("/settings/security");
        async move { b.get(url).send().await.unwrap().status() == StatusCode::OK }
    };
    // Bob's token in Alice's browser: a question, and Alice stays logged in.
    let res = alice
        .browser
        .get(app.url(&format!("/oidc/logout?id_token_hint={bobs}")))
        .send()
        .await
        .unwrap();
    let html = res.text().await.unwrap();
    assert!(html.contains("action=\"/oidc/logout\""), "{html}");
    assert!(logged_in(&alice).await);
    // Alice's own token: logged out without a question.
    let res = alice
        .browser
        .get(app.url(&format!("/oidc/logout?id_token_hint={alices}")))
        .send()
        .await
        .unwrap();
    let set_cookie = res.headers().get_all("set-cookie").iter().count();
    assert!(set_cookie > 0);
    assert!(!logged_in(&alice).await);
    // An expired token of her own, in a new session: asks again.
    let (code, pkce) = alice.code(&app, &client, "openid").await;
    let fresh = id_token(redeem(&app, &client, &code, &pkce).await);
    app.clock.advance(3600);
    let res = alice
        .browser
        .get(app.url(&format!("/oidc/logout?id_token_hint={fresh}")))
        .send()
        .await
        .unwrap();
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("action=\"/oidc/logout\"")
    );
    assert!(logged_in(&alice).await);
}
