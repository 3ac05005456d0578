//! Forward authentication over HTTP: the two proxy endpoints, the access rules, trusted
//! proxies, `rd` after login and the cookie domain. (`tests/browser` puts real nginx and
//! Caddy in front of a real site.)

use reqwest::StatusCode;
use twofold::config::{Config, Location, Overrides};

use crate::helpers::{TestApp, TestUser};
use crate::web::{browser, csrf_of};

/// The rules every test here runs with.
const RULES: &str = r#"
[access_control]
default_policy = "deny"

[[access_control.rules]]
domain = "public.twofold.test"
policy = "bypass"

[[access_control.rules]]
domain = "app.twofold.test"
resources = ["^/public/"]
policy = "bypass"

[[access_control.rules]]
domain = "app.twofold.test"
resources = ["^/admin"]
subject = ["user:boss"]
policy = "one_factor"

[[access_control.rules]]
domain = "app.twofold.test"
resources = ["^/admin"]
policy = "deny"

[[access_control.rules]]
domain = ["app.twofold.test", "*.apps.twofold.test"]
policy = "one_factor"

[[access_control.rules]]
domain = "secure.twofold.test"
policy = "two_factor"
"#;

async fn spawn(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("twofold.toml");
    std::fs::write(&path, RULES).unwrap();
    let loc = Location {
        config: Some(path),
        ..Default::default()
    };
    let rules = Config::resolve(&loc, &Overrides::default())
        .unwrap()
        .access_control;
    TestApp::spawn_with(move |c| {
        c.access_control = rules;
        adjust(c);
    })
    .await
}

/// The session cookie (`name=value`) a password login through the pages sets.
async fn web_cookie(app: &TestApp, user: &TestUser) -> String {
    web_login(app, user).await.1
}

/// A password login through the pages: the browser that holds it, and its session cookie.
async fn web_login(app: &TestApp, user: &TestUser) -> (reqwest::Client, String) {
    let (b, res) = crate::web::log_in_through_the_pages(app, user).await;
    let cookie = session_cookie(&res);
    (b, cookie)
}

fn session_cookie(res: &reqwest::Response) -> String {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("twofold_session="))
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// A Caddy-style check of `proto://host uri`.
fn forward(app: &TestApp, url: &str) -> reqwest::RequestBuilder {
    let u = reqwest::Url::parse(url).unwrap();
    let host = match u.port() {
        Some(p) => format!("{}:{p}", u.host_str().unwrap()),
        None => u.host_str().unwrap().to_owned(),
    };
    let uri = match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_owned(),
    };
    app.http
        .get(app.url("/api/authz/forward-auth"))
        .header("x-forwarded-proto", u.scheme())
        .header("x-forwarded-host", host)
        .header("x-forwarded-uri", uri)
        .header("x-forwarded-method", "GET")
        .header("x-forwarded-for", "203.0.113.7")
}

/// An nginx-style check.
fn original(app: &TestApp, url: &str) -> reqwest::RequestBuilder {
    app.http
        .get(app.url("/api/authz/auth-request"))
        .header("x-original-url", url)
        .header("x-original-method", "GET")
        .header("x-forwarded-for", "203.0.113.7")
}

async fn status(req: reqwest::RequestBuilder) -> StatusCode {
    req.send().await.unwrap().status()
}

fn remote_user(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get("remote-user")
        .map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_requests_meet_the_rules_in_order() {
    let app = spawn(|_| {}).await;
    let html = "text/html,application/xhtml+xml";

    // Bypass: through, and nobody is named.
    let res = forward(&app, "http://public.twofold.test/x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        remote_user(&res).as_deref(),
        Some(""),
        "present, naming nobody"
    );
    assert_eq!(
        status(original(&app, "http://app.twofold.test/public/a.css")).await,
        StatusCode::OK
    );

    // A page that needs a login: a browser is sent to log in and back, with rd encoded.
    let res = forward(&app, "http://app.twofold.test/wiki?page=1&x=%2F")
        .header("accept", html)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let to = res.headers()["location"].to_str().unwrap();
    assert_eq!(
        to,
        format!(
            "{}/login?rd=http%3A%2F%2Fapp.twofold.test%2Fwiki%3Fpage%3D1%26x%3D%252F",
            app.base
        )
    );
    // A script (no HTML, or an XHR) gets 401; the nginx endpoint always does.
    let res = forward(&app, "http://app.twofold.test/wiki")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthenticated");
    let xhr = forward(&app, "http://app.twofold.test/wiki")
        .header("accept", html)
        .header("x-requested-with", "XMLHttpRequest");
    assert_eq!(status(xhr).await, StatusCode::UNAUTHORIZED);
    let nginx = original(&app, "http://app.twofold.test/wiki").header("accept", html);
    assert_eq!(status(nginx).await, StatusCode::UNAUTHORIZED);

    // A rule naming users might match: log in first (never passed by being nobody).
    assert_eq!(
        status(original(&app, "http://app.twofold.test/admin")).await,
        StatusCode::UNAUTHORIZED
    );
    // Not in any rule: the default, deny.
    assert_eq!(
        status(forward(&app, "http://other.example/")).await,
        StatusCode::FORBIDDEN
    );
    // A dot segment is refused before the rules see the path (contract v3): the site
    // behind the proxy might resolve it otherwise.
    assert_eq!(
        status(original(&app, "http://app.twofold.test/public/../admin")).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        status(original(
            &app,
            "http://app.twofold.test/public/%2e%2e/admin"
        ))
        .await,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_opens_what_its_rules_allow_and_logout_closes_it() {
    let app = spawn(|_| {}).await;
    let user = app.signup().await;
    let (b, cookie) = web_login(&app, &user).await;
    let with = |req: reqwest::RequestBuilder| req.header("cookie", cookie.clone());

    let res = with(forward(&app, "http://app.twofold.test/wiki"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(remote_user(&res).as_deref(), Some(user.username.as_str()));
    let res = with(original(&app, "http://x.apps.twofold.test/"))
        .send()
        .await
        .unwrap();
    assert_eq!(remote_user(&res).as_deref(), Some(user.username.as_str()));
    // `*.apps.twofold.test` covers names under it, not the name itself.
    assert_eq!(
        status(with(original(&app, "http://apps.twofold.test/"))).await,
        StatusCode::FORBIDDEN
    );
    // /admin is for user:boss only; everyone else meets the deny rule after it.
    let res = with(original(&app, "http://app.twofold.test/admin/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden");
    // A two_factor site refuses a password-only login of an account without 2FA…
    let res = with(original(&app, "http://secure.twofold.test/"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "two_factor_required");
    // …and a browser on forward-auth is moved to Twofold's page that explains it.
    let res = with(forward(&app, "http://secure.twofold.test/a"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let html = res.text().await.unwrap();
    assert!(
        html.contains(&format!(
            "{}/authz/forbidden?rd=http%3A%2F%2Fsecure.twofold.test%2Fa",
            app.base
        )),
        "{html}"
    );

    // An app's bearer token counts like the cookie.
    let token = app.login(&user).await;
    let res = original(&app, "http://app.twofold.test/")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(remote_user(&res).as_deref(), Some(user.username.as_str()));
    assert_eq!(res.headers()["remote-email"], "", "no address yet");
    // A confirmed address is passed on in `Remote-Email`.
    let email = format!("{}@example.com", user.username);
    app.add_email(&token, &email).await;
    let res = original(&app, "http://app.twofold.test/")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["remote-email"], email.as_str());

    // Logging out ends access on the very next check.
    let html = b
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let res = b
        .post(app.url("/logout"))
        .form(&[("csrf", csrf_of(&html))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        status(with(original(&app, "http://app.twofold.test/wiki"))).await,
        StatusCode::UNAUTHORIZED
    );
    // A revoked session (the operator's `twofold user logout`, the security page) too.
    let res = app.delete("/api/v1/sessions/current", Some(&token)).await;
    assert!(res.status().is_success(), "{}", res.status());
    let res = original(&app, "http://app.twofold.test/")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_factor_sites_take_a_login_that_used_the_second_factor() {
    let app = spawn(|_| {}).await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    // The password-only session from before 2FA was turned on: log in again (302/401),
    // not 403, because the account can meet the rule.
    let old_cookie = web_cookie(&app, &user).await;
    let (_, codes) = app.enable_totp(&token).await;
    assert_eq!(
        status(original(&app, "http://secure.twofold.test/").header("cookie", old_cookie.clone()))
            .await,
        StatusCode::UNAUTHORIZED
    );
    // The login page, sent there with rd and that session, asks for the login again
    // instead of bouncing straight back (which would loop).
    let rd = "http%3A%2F%2Fsecure.twofold.test%2F";
    let res = app
        .http
        .get(app.url(&format!("/login?rd={rd}")))
        .header("cookie", old_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("needs a login with your second factor")
    );

    // Password + backup code: a login that used the second factor.
    let challenge = app.challenge(&user).await;
    let res = app.second_step(&challenge, "backup_code", &codes[0]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: serde_json::Value = res.json().await.unwrap();
    let strong = body["token"].as_str().unwrap().to_owned();
    let res = original(&app, "http://secure.twofold.test/")
        .bearer_auth(&strong)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(remote_user(&res).as_deref(), Some(user.username.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_trusted_proxies_are_answered_and_forwarded_headers_are_checked() {
    // Loopback is not trusted here: even a valid session on a bypass site gets 401.
    let app = spawn(|c| c.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()]).await;
    let res = forward(&app, "http://public.twofold.test/")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "untrusted_proxy");
    assert_eq!(
        status(original(&app, "http://public.twofold.test/")).await,
        StatusCode::UNAUTHORIZED
    );

    let app = spawn(|_| {}).await;
    let check = |req: reqwest::RequestBuilder| async move {
        let res = req.send().await.unwrap();
        let s = res.status();
        let body: serde_json::Value = res.json().await.unwrap();
        (s, body["error"]["code"].as_str().unwrap_or("").to_owned())
    };
    let bad = (StatusCode::BAD_REQUEST, "bad_forwarded_request".to_owned());
    let base = app.url("/api/authz/forward-auth");
    // Missing, doubled or odd forwarded headers are a proxy misconfiguration: 400, said so.
    assert_eq!(check(app.http.get(&base)).await, bad);
    let doubled = forward(&app, "http://public.twofold.test/")
        .header("x-forwarded-host", "secure.twofold.test");
    assert_eq!(check(doubled).await, bad);
    let listed = app
        .http
        .get(&base)
        .header("x-forwarded-proto", "http")
        .header(
            "x-forwarded-host",
            "public.twofold.test, secure.twofold.test",
        );
    assert_eq!(check(listed).await, bad);
    for host in [
        "public.twofold.test/x@secure",
        "a b",
        "public.twofold.test\\x",
    ] {
        let req = app
            .http
            .get(&base)
            .header("x-forwarded-proto", "http")
            .header("x-forwarded-host", host);
        assert_eq!(check(req).await, bad, "{host}");
    }
    let req = forward(&app, "http://public.twofold.test/").header("x-forwarded-proto", "gopher");
    assert_eq!(check(req).await, bad);
    let nginx = app.url("/api/authz/auth-request");
    for url in [
        "",
        "not a url",
        "ftp://public.twofold.test/",
        "http://u:p@public.twofold.test/",
    ] {
        let req = app.http.get(&nginx).header("x-original-url", url);
        assert_eq!(check(req).await, bad, "{url}");
    }
    // Still serving.
    assert_eq!(
        status(original(&app, "http://public.twofold.test/")).await,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_address_is_the_right_most_untrusted_hop() {
    let app = spawn(|_| {}).await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    // A minute later the check records where the session was last seen; a spoofed hop on
    // the left of X-Forwarded-For cannot choose it.
    app.clock.advance(120);
    let res = app
        .http
        .get(app.url("/api/authz/auth-request"))
        .header("x-original-url", "http://app.twofold.test/")
        .header("x-forwarded-for", "198.51.100.99, 203.0.113.50")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let sessions: serde_json::Value = app
        .get("/api/v1/me/sessions", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    let text = sessions.to_string();
    assert!(text.contains("203.0.113.50"), "{text}");
    assert!(!text.contains("198.51.100.99"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_login_rd_is_followed_only_under_the_cookie_domain() {
    let app = spawn(|c| {
        c.public_url = Some("http://auth.twofold.test".into());
        c.cookie_domain = Some("twofold.test".into());
    })
    .await;
    let user = app.signup().await;
    let login = |rd: &'static str| {
        let app = &app;
        let user = &user;
        async move {
            let b = browser();
            let html = b
                .get(app.url(&format!("/login?rd={}", urlencode(rd))))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let next = hidden_next(&html);
            let res = b
                .post(app.url("/login"))
                .form(&[
                    ("csrf", csrf_of(&html).as_str()),
                    ("username", &user.username),
                    ("password", &user.password),
                    ("next", &next),
                ])
                .send()
                .await
                .unwrap();
            (next, res)
        }
    };
    let (next, res) = login("http://wiki.twofold.test/page?a=1").await;
    assert_eq!(next, "http://wiki.twofold.test/page?a=1");
    // The form's answer leaves the site through a page that moves on (form-action 'self').
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("twofold_session="))
        .unwrap();
    assert!(cookie.contains("Domain=twofold.test"), "{cookie}");
    let html = res.text().await.unwrap();
    assert!(
        html.contains("url=http://wiki.twofold.test/page?a=1"),
        "{html}"
    );
    for outside in [
        "http://evil.example/",
        "http://twofold.test.evil.example/",
        "https://nottwofold.test/",
        "javascript:alert(1)",
    ] {
        let (next, res) = login(outside).await;
        assert_eq!(next, "/", "{outside}");
        assert_eq!(res.headers()["location"], "/", "{outside}");
    }
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)]).unwrap()[2..].to_owned()
}

fn hidden_next(html: &str) -> String {
    let at = html.find("name=\"next\" value=\"").expect("a next field") + 19;
    let end = html[at..].find('"').unwrap();
    html[at..at + end]
        .replace("&amp;", "&")
        .replace("&#x2f;", "/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_forbidden_page_offers_two_factor_and_comes_back() {
    let app = spawn(|c| {
        c.public_url = Some("http://auth.twofold.test".into());
        c.cookie_domain = Some("twofold.test".into());
    })
    .await;
    let user = app.signup().await;
    let cookie = web_cookie(&app, &user).await;
    let get = |path: String| {
        app.http
            .get(app.url(&path))
            .header("cookie", cookie.clone())
            .send()
    };
    let res = get("/authz/forbidden?rd=http%3A%2F%2Fsecure.twofold.test%2Fa".into())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Turn on two-factor authentication to continue"),
        "{html}"
    );
    assert!(
        html.contains(
            "/settings/two-factor?required=1&#38;next=http%3A%2F%2Fsecure.twofold.test%2Fa"
        ),
        "{html}"
    );
    let res = get("/authz/forbidden?rd=http%3A%2F%2Fapp.twofold.test%2Fadmin".into())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("You can't open this page")
    );
    // Allowed after all: straight on.
    let res = get("/authz/forbidden?rd=http%3A%2F%2Fapp.twofold.test%2Fwiki".into())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "http://app.twofold.test/wiki");
    // A link naming a site outside the cookie domain leads nowhere.
    let res = get("/authz/forbidden?rd=http%3A%2F%2Fevil.example%2F".into())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

const BIN: &str = env!("CARGO_BIN_EXE_twofold");

fn twofold(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(BIN)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TWOFOLD_DATA_DIR", dir.join("data"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_bad_rule_or_a_public_suffix_stops_the_server_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("twofold.toml");
    let file = path.to_str().unwrap();
    for (rule, want) in [
        ("policy = \"two-factor\"", "unknown policy"),
        (
            "resources = [\"^/(admin\"]\npolicy = \"deny\"",
            "not a valid regex",
        ),
        ("policy = \"deny\"\nuser = \"alice\"", "unknown field"),
    ] {
        std::fs::write(
            &path,
            format!(
                "[access_control]\n[[access_control.rules]]\ndomain = \"a.example.com\"\n{rule}\n"
            ),
        )
        .unwrap();
        let (ok, _, err) = twofold(
            dir.path(),
            &["-c", file, "serve", "--listen", "127.0.0.1:0"],
        );
        assert!(!ok, "{rule}");
        assert!(err.contains(want) && err.contains("line"), "{rule}: {err}");
        assert!(err.contains(file), "the file is named: {err}");
    }
    for domain in ["co.uk", "github.io", "s3.amazonaws.com"] {
        let (ok, _, err) = twofold(
            dir.path(),
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--public-url",
                &format!("https://auth.{domain}"),
                "--cookie-domain",
                domain,
            ],
        );
        assert!(!ok, "{domain}");
        assert!(err.contains("Public Suffix List"), "{domain}: {err}");
    }
}

#[test]
fn access_check_says_which_rule_matches_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("twofold.toml");
    std::fs::write(&path, RULES).unwrap();
    let file = path.to_str().unwrap();
    let (ok, out, err) = twofold(
        dir.path(),
        &[
            "-c",
            file,
            "access",
            "check",
            "--url",
            "http://app.twofold.test/admin/users",
            "--user",
            "alice",
        ],
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("user:alice is not among its subjects"),
        "{out}"
    );
    assert!(
        out.contains("rule 4 (line 20): MATCH") && out.contains("policy deny"),
        "{out}"
    );
    assert!(out.contains("denied to alice (403)"), "{out}");
    let (_, out, _) = twofold(
        dir.path(),
        &[
            "-c",
            file,
            "access",
            "check",
            "--url",
            "https://elsewhere.example/",
        ],
    );
    assert!(
        out.contains("no rule matched → default_policy deny"),
        "{out}"
    );
    assert!(
        !dir.path().join("data").exists(),
        "a config check creates nothing"
    );
}

/// A Caddy-style check with `X-Forwarded-Uri` exactly as given (no URL parser in between
/// to resolve or re-encode anything).
fn forward_raw(app: &TestApp, host: &str, uri: &str) -> reqwest::RequestBuilder {
    app.http
        .get(app.url("/api/authz/forward-auth"))
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", host)
        .header("x-forwarded-uri", uri)
        .header("x-forwarded-method", "GET")
        .header("x-forwarded-for", "203.0.113.7")
}

/// Issue 21, item 2: paths that the protected site may decode, split or resolve otherwise
/// than the rules would are refused with `400` before any rule is read, on both endpoints;
/// encoded unreserved characters are decoded first, so `/%61dmin` meets the `/admin` rules.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_tricks_are_refused_before_any_rule() {
    let app = spawn(|_| {}).await;
    for trick in [
        "/public/..%2Fadmin",
        "/public/..%2fadmin",
        "/public/..;/admin",
        "/public/%2E%2E%2Fadmin",
        "/public/%2e%2e/admin",
        "/public/../admin",
        "/public/..%5Cadmin",
        "/public\\..\\admin",
        "/public/..%3Badmin",
        "/public/%252e%252e/admin",
        "//admin",
        "///admin",
        "/public//admin",
        "/./admin",
    ] {
        let res = forward_raw(&app, "app.twofold.test", trick)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::BAD_REQUEST,
            "forward-auth {trick}"
        );
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "bad_path", "{trick}: {body}");
        let res = original(&app, &format!("https://app.twofold.test{trick}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::BAD_REQUEST,
            "auth-request {trick}"
        );
    }
    // A plain public path (with a comma of its own) still passes without a session.
    let res = forward_raw(&app, "app.twofold.test", "/public/a,b.css?tags=x,y")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // `/%61dmin` is `/admin`: a logged-in user who is not `boss` meets the admin deny rule
    // (before, it fell through to the site's one_factor rule and got 200).
    let user = app.signup().await;
    let cookie = web_cookie(&app, &user).await;
    for spelling in ["/%61dmin", "/%61%64%6D%69%6E/x", "/admin"] {
        let res = forward_raw(&app, "app.twofold.test", spelling)
            .header("cookie", cookie.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{spelling}");
        assert!(remote_user(&res).is_none());
    }
    // The same user reaches the rest of the site.
    let res = forward_raw(&app, "app.twofold.test", "/wiki")
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

/// Issue 21, item 2: domains match case-insensitively and without a trailing dot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn domains_match_case_insensitively() {
    let app = spawn(|_| {}).await;
    for host in [
        "public.twofold.test",
        "PUBLIC.Twofold.Test",
        "public.twofold.test.",
    ] {
        let res = forward_raw(&app, host, "/").send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{host}: bypass");
    }
    // And a rule's strictness follows the host however it is spelled: the two-factor site
    // refuses a password-only session under every spelling.
    let user = app.signup().await;
    let cookie = web_cookie(&app, &user).await;
    for host in [
        "secure.twofold.test",
        "SECURE.twofold.test",
        "secure.twofold.test.",
    ] {
        let res = forward_raw(&app, host, "/")
            .header("cookie", cookie.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{host}");
    }
}

/// Issue 21, item 10: a sibling site under the cookie domain can plant a second session
/// cookie; a request that carries two is not logged in, whichever comes first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_session_cookies_are_not_a_login() {
    let app = spawn(|_| {}).await;
    let victim = app.signup().await;
    let planter = app.signup().await;
    let real = web_cookie(&app, &victim).await;
    let planted = web_cookie(&app, &planter).await;
    let ask =
        |cookie: String| forward(&app, "http://app.twofold.test/wiki").header("cookie", cookie);
    let res = ask(real.clone()).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(remote_user(&res).as_deref(), Some(victim.username.as_str()));
    for both in [format!("{planted}; {real}"), format!("{real}; {planted}")] {
        let res = ask(both.clone()).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{both}");
        assert!(remote_user(&res).is_none());
    }
    // The pages say the same: not logged in.
    let res = app
        .http
        .get(app.url("/settings/security"))
        .header("cookie", format!("{planted}; {real}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

/// The login page a protected site sends someone to names it (issue 23): "Log in to continue
/// to wiki.twofold.test"; a destination that is not followed names nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_page_names_the_protected_site_it_leads_to() {
    let app = spawn(|c| {
        c.public_url = Some("http://auth.twofold.test".into());
        c.cookie_domain = Some("twofold.test".into());
    })
    .await;
    let page = |rd: &'static str| {
        let app = &app;
        async move {
            browser()
                .get(app.url(&format!("/login?rd={}", urlencode(rd))))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let html = page("http://wiki.twofold.test/page?a=1").await;
    assert!(
        html.contains("Log in to continue to <strong>wiki.twofold.test</strong>"),
        "{html}"
    );
    let html = page("http://evil.example/page").await;
    assert!(!html.contains("continue to"), "{html}");
    assert!(html.contains("Welcome back"), "{html}");
}
