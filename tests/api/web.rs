//! The pages over HTTP: cookies, CSRF, redirects, headers, bad form input.
//! (Browser tests in `tests/browser` drive the same pages in Chromium.)

use reqwest::StatusCode;

use crate::helpers::TestApp;

/// A browser-like client: keeps cookies, does not follow redirects.
pub(crate) fn browser() -> reqwest::Client {
    twofold::install_tls_provider();
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub(crate) fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..at + 64].to_owned()
}

/// A password login through the pages in a fresh browser: the browser (it holds the
/// session cookie) and the answer to the form (`303`).
pub(crate) async fn log_in_through_the_pages(
    app: &TestApp,
    user: &crate::helpers::TestUser,
) -> (reqwest::Client, reqwest::Response) {
    let b = browser();
    let (_, html) = page(&b, app, "/login").await;
    let res = b
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("username", &user.username),
            ("password", &user.password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    (b, res)
}

pub(crate) async fn page(b: &reqwest::Client, app: &TestApp, path: &str) -> (StatusCode, String) {
    let res = b.get(app.url(path)).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn web_signup(
    b: &reqwest::Client,
    app: &TestApp,
    username: &str,
    password: &str,
) -> reqwest::Response {
    let (_, html) = page(b, app, "/signup").await;
    b.post(app.url("/signup"))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_and_log_in_through_the_pages() {
    let app = TestApp::spawn().await;
    let b = browser();
    let res = web_signup(&b, &app, "webuser", "a fine long password").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/");
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("twofold_session="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain http in tests: {cookie}");
    let (status, html) = page(&b, &app, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Hi, webuser"));

    // Log out with the form, then log back in.
    let res = b
        .post(app.url("/logout"))
        .form(&[("csrf", csrf_of(&html))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["location"], "/login?done=logged_out");
    let (_, html) = page(&b, &app, "/").await;
    assert!(html.is_empty(), "redirected, not served");
    let (_, html) = page(&b, &app, "/login?done=logged_out").await;
    assert!(html.contains("logged out."));
    let res = b
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("username", "WebUser"),
            ("password", "a fine long password"),
            ("next", "/settings/security"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/settings/security");
    let (status, html) = page(&b, &app, "/settings/security").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("logged in</h2>")
            && html.contains("This device")
            && html.contains("Login activity")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn form_errors_keep_the_username_and_never_the_password() {
    let app = TestApp::spawn().await;
    let b = browser();
    let res = web_signup(&b, &app, "keeper", "password").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("value=\"keeper\""));
    assert!(html.contains("id=\"password-error\"") && html.contains("too common"));
    assert!(!html.contains("value=\"password\""));

    let res = web_signup(&b, &app, "bad name!", "secret words here").await;
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"username-error\"") && html.contains("value=\"bad name!\""));
    assert!(!html.contains("secret words here"));

    web_signup(&browser(), &app, "keeper", "right horse battery").await;
    let (_, html) = page(&b, &app, "/login").await;
    let res = b
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("username", "keeper"),
            ("password", "wrong horse battery"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let html = res.text().await.unwrap();
    assert!(html.contains("value=\"keeper\"") && html.contains("match. Check them and try again."));
    assert!(!html.contains("wrong horse battery"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_without_the_right_csrf_token_are_refused() {
    let app = TestApp::spawn().await;
    web_signup(&browser(), &app, "victim", "right horse battery").await;
    let b = browser();
    let (_, html) = page(&b, &app, "/login").await;
    let good = csrf_of(&html);
    let form = |csrf: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("username", "victim".to_owned()),
            ("password", "right horse battery".to_owned()),
        ]
    };
    for bad in ["", "00", &"0".repeat(64)] {
        let res = b
            .post(app.url("/login"))
            .form(&form(bad))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "csrf {bad:?}");
        assert!(res.text().await.unwrap().contains("This form has expired"));
    }
    // A token from another browser does not fit this browser's cookie.
    let other = browser();
    let (_, other_html) = page(&other, &app, "/login").await;
    let res = b
        .post(app.url("/login"))
        .form(&form(&csrf_of(&other_html)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // No cookie at all (a cross-site post) is refused too.
    let res = app
        .http
        .post(app.url("/login"))
        .form(&form(&good))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = b
        .post(app.url("/login"))
        .form(&form(&good))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "the right token works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_need_a_session_and_send_safe_headers() {
    let app = TestApp::spawn().await;
    let res = app.get("/settings/security", None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()["location"],
        "/login?next=%2Fsettings%2Fsecurity"
    );
    assert_eq!(app.get("/", None).await.headers()["location"], "/login");
    let res = app.get("/login", None).await;
    let h = res.headers();
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "no-store");
    let css = app.get("/assets/twofold.css", None).await;
    assert_eq!(css.status(), StatusCode::OK);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(
        css.text()
            .await
            .unwrap()
            .contains("prefers-color-scheme: dark")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbled_and_oversized_forms_get_pages_not_500s() {
    let app = TestApp::spawn().await;
    let b = browser();
    let (_, html) = page(&b, &app, "/login").await;
    let csrf = csrf_of(&html);
    let mut raw = format!("csrf={csrf}&username=").into_bytes();
    raw.extend_from_slice(b"%FF%FE\xff&password=abc");
    let res = b
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "invalid UTF-8 is just a name that does not exist"
    );
    let res = b
        .post(app.url("/login"))
        .header("content-type", "text/plain")
        .body("csrf=x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let big = format!("csrf={csrf}&username={}", "a".repeat(70 * 1024));
    let res = b
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(res.text().await.unwrap().contains("64 KiB"));
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_are_secure_behind_https() {
    let app = TestApp::spawn_with(|c| c.public_url = Some("https://auth.example.com".into())).await;
    let res = app.get("/signup", None).await;
    let csrf_cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        csrf_cookie.starts_with("__Host-twofold_csrf=") && csrf_cookie.contains("; Secure"),
        "{csrf_cookie}"
    );
    let pair = csrf_cookie.split(';').next().unwrap().to_owned();
    let html = res.text().await.unwrap();
    let res = app
        .http
        .post(app.url("/signup"))
        .header("cookie", pair)
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("username", "secure"),
            ("password", "a fine long password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let session = res.headers()["set-cookie"].to_str().unwrap();
    assert!(
        session.starts_with("__Host-twofold_session=")
            && session.contains("; Secure")
            && session.contains("HttpOnly"),
        "{session}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_cannot_leave_the_site() {
    let app = TestApp::spawn().await;
    let b = browser();
    web_signup(&b, &app, "stayhere", "a fine long password").await;
    for next in [
        "/%09/evil.example",
        "//evil.example",
        "/%5Cevil.example",
        "https://evil.example",
        "/%0D%0ASet-Cookie:%20x=1",
    ] {
        let res = b
            .get(app.url(&format!("/login?next={next}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(res.headers()["location"], "/", "{next}");
    }
}

/// Issue 10: HSTS when users reach Twofold over https, `Cross-Origin-Opener-Policy` always.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsts_over_https_and_an_opener_policy_everywhere() {
    let app = TestApp::spawn().await;
    let res = app.get("/login", None).await;
    assert_eq!(res.headers()["cross-origin-opener-policy"], "same-origin");
    assert_eq!(res.headers()["referrer-policy"], "same-origin");
    assert!(res.headers().get("strict-transport-security").is_none());
    let app = TestApp::spawn_with(|c| c.public_url = Some("https://auth.example.com".into())).await;
    for path in ["/login", "/api/v1/me", "/healthz"] {
        let res = app.get(path, None).await;
        assert_eq!(
            res.headers()["strict-transport-security"],
            "max-age=31536000",
            "{path}"
        );
        assert_eq!(
            res.headers()["cross-origin-opener-policy"],
            "same-origin",
            "{path}"
        );
    }
}

/// Issue 10: confirming the password gives the browser a new session token; the old one
/// stops working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reauthentication_rotates_the_session_cookie() {
    let app = TestApp::spawn().await;
    let b = browser();
    let res = web_signup(&b, &app, "rotor", "a fine long password").await;
    let old = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("twofold_session="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let (_, html) = page(&b, &app, "/reauth?next=/settings/security").await;
    let res = b
        .post(app.url("/reauth"))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("password", "a fine long password"),
            ("next", "/settings/security"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let new = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("twofold_session="))
        .expect("a new session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(old, new);
    assert_eq!(page(&b, &app, "/settings/security").await.0, StatusCode::OK);
    let stale = app
        .http
        .get(app.url("/settings/security"))
        .header("cookie", old)
        .send()
        .await
        .unwrap();
    assert_eq!(
        stale.status(),
        StatusCode::SEE_OTHER,
        "the old token is dead"
    );
}

/// Issue 11: a form that is turned away by a limit answers like the API — 429 with
/// Retry-After — and still shows the page with what to do (it answered 401 before).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_form_says_when_to_retry() {
    let app = TestApp::spawn().await;
    let b = browser();
    web_signup(&b, &app, "limited", "a fine long password").await;
    let (_, html) = page(&b, &app, "/settings/security").await;
    let csrf = csrf_of(&html);
    let change = |current: &'static str| {
        let (b, csrf, url) = (
            b.clone(),
            csrf.clone(),
            app.url("/settings/security/password"),
        );
        async move {
            b.post(url)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("current_password", current),
                    ("new_password", "another fine passphrase"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..5 {
        assert_eq!(
            change("not my password").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let res = change("a fine long password").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let html = res.text().await.unwrap();
    assert!(
        html.contains("try again in") && html.contains("Change password"),
        "{html}"
    );
}
