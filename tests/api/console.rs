//! The operator console (issue 25): deny by default — every `/admin` page and action, as
//! the route table in `http/web/mod.rs` lists it, refuses a normal user, a one-factor admin
//! session and a stale one (Kanidm GHSA-xxwr-vvr3-2g9f was a privilege escalation through a
//! path one check missed) — and the actions, through the CLI and the console, each in the
//! audit trail, with the last admin kept.

use std::process::Command;

use reqwest::StatusCode;

use crate::helpers::{TestApp, TestUser};
use crate::web::{browser, csrf_of};

const BIN: &str = env!("CARGO_BIN_EXE_twofold");

/// Runs `twofold ARGS…` on the test server's database; its exit code and output.
pub(crate) fn cli(app: &TestApp, args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("USER", "ops")
        .env("TWOFOLD_DATA_DIR", app.data_dir.path())
        .env("TWOFOLD_DATABASE_URL", &app.config.database_url)
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// A user with the authentication app on: the user and the app's secret.
pub(crate) async fn two_factor_user(app: &TestApp) -> (TestUser, String) {
    let user = app.signup().await;
    let token = app.login(&user).await;
    let (secret, _) = app.enable_totp(&token).await;
    (user, secret)
}

/// Logs in through the pages; with `secret`, the second step too.
pub(crate) async fn browser_login(
    app: &TestApp,
    user: &TestUser,
    secret: Option<&str>,
) -> reqwest::Client {
    let (b, res) = crate::web::log_in_through_the_pages(app, user).await;
    if let Some(secret) = secret {
        let to = res.headers()["location"].to_str().unwrap().to_owned();
        let html = b
            .get(app.url(&to))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let res = b
            .post(app.url("/login/two-factor"))
            .form(&[
                ("csrf", csrf_of(&html).as_str()),
                ("method", "totp"),
                ("code", &app.totp(secret, 0)),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "second step");
        app.clock.advance(30);
    }
    b
}

/// Every console route, with its path parameters filled in.
fn console_requests(target: &str) -> Vec<(&'static str, String)> {
    twofold::http::web::CONSOLE_ROUTES
        .iter()
        .map(|(m, p)| {
            let p = p
                .replace("{username}", target)
                .replace("{action}", "disable")
                .replace("{name}", "staff")
                .replace("{id}", "inv_0123")
                .replace("{client_id}", "tf_x");
            (*m, p)
        })
        // Paths the table does not list are the gate's too.
        .chain([
            ("GET", "/admin/nothing-here".to_owned()),
            ("PUT", "/admin".to_owned()),
        ])
        .collect()
}

async fn send(b: &reqwest::Client, app: &TestApp, method: &str, path: &str) -> reqwest::Response {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    b.request(m, app.url(path))
        .form(&[("csrf", "x"), ("reason", "test"), ("name", "x")])
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_console_route_refuses_everyone_but_a_fresh_two_factor_admin() {
    let app = TestApp::spawn().await;
    let (admin, secret) = two_factor_user(&app).await;
    let normal = app.signup().await;
    // A one-factor session of the admin: logged in before 2FA was on, still alive.
    let late = app.signup().await;
    let one_factor = browser_login(&app, &late, None).await;
    let token = app.login(&late).await;
    app.enable_totp(&token).await;
    for name in [&admin.username, &late.username] {
        let (code, out) = cli(&app, &["user", "grant-admin", name, "--reason", "test"]);
        assert_eq!(code, 0, "{out}");
    }
    let fresh = browser_login(&app, &admin, Some(&secret)).await;
    let stranger = browser();
    let normal_b = browser_login(&app, &normal, None).await;
    let not_found = stranger
        .get(app.url("/no-such-page"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (method, path) in console_requests(&normal.username) {
        for (who, b) in [
            ("a stranger", &stranger),
            ("a normal user", &normal_b),
            ("a one-factor admin", &one_factor),
        ] {
            let res = send(b, &app, method, &path).await;
            assert_eq!(
                res.status(),
                StatusCode::NOT_FOUND,
                "{who}: {method} {path}"
            );
            assert!(
                res.headers().get("set-cookie").is_none(),
                "{who}: {method} {path}"
            );
            assert_eq!(
                res.text().await.unwrap(),
                not_found,
                "{who}: {method} {path}"
            );
        }
    }
    let (status, html) = {
        let r = fresh.get(app.url("/admin")).send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    };
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Latest security events"));
    // Stale: the password was confirmed longer ago than --recent-auth-secs.
    app.clock.advance(app.config.recent_auth_secs + 1);
    for (method, path) in console_requests(&normal.username) {
        let res = send(&fresh, &app, method, &path).await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "stale: {method} {path}"
        );
        let to = res.headers()["location"].to_str().unwrap();
        assert!(to.starts_with("/reauth?"), "stale: {method} {path} → {to}");
    }
    let (_, out) = cli(&app, &["user", "show", &normal.username]);
    assert!(
        out.contains("status:         active"),
        "nothing was done: {out}"
    );
}

/// A fresh admin console session: the browser and its CSRF token.
pub(crate) async fn console(app: &TestApp) -> (TestUser, reqwest::Client, String) {
    let (admin, secret) = two_factor_user(app).await;
    let (code, out) = cli(app, &["user", "grant-admin", &admin.username]);
    assert_eq!(code, 0, "{out}");
    let b = browser_login(app, &admin, Some(&secret)).await;
    let html = b
        .get(app.url("/admin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&html);
    (admin, b, csrf)
}

pub(crate) async fn act(
    b: &reqwest::Client,
    app: &TestApp,
    csrf: &str,
    path: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![("csrf", csrf), ("reason", "ticket 42")];
    form.extend_from_slice(extra);
    b.post(app.url(path)).form(&form).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_actions_go_through_the_lifecycle_and_the_audit_trail() {
    let app = TestApp::spawn().await;
    let (admin, b, csrf) = console(&app).await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let u = &user.username;
    // Search by prefix finds them; a tampered page key is a 400 with a sentence.
    let html = b
        .get(app.url(&format!("/admin/users?q={}", &u[..7])))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(u.as_str()));
    let res = b
        .get(app.url("/admin/users?q=u&after=%00%FF%27"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("start the search again"));
    for q in [
        "%00",
        "%FF%FE",
        "%27%20OR%201%3D1",
        "%2B1",
        "a%40",
        "%E2%80%AE",
    ] {
        let res = b
            .get(app.url(&format!("/admin/users?q={q}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "q={q}");
    }
    let res = b
        .get(app.url("/admin/users/nobody_at_all"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // Disable: the person's token dies at once, and they are told (a notice queued).
    let res = act(&b, &app, &csrf, &format!("/admin/users/{u}/disable"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = act(&b, &app, &csrf, &format!("/admin/users/{u}/enable"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let token = app.login(&user).await;
    let res = act(&b, &app, &csrf, &format!("/admin/users/{u}/logout"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let token = app.login(&user).await;
    let body: serde_json::Value = app
        .get("/api/v1/me/activity", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for k in [
        "account_disabled",
        "account_enabled",
        "logged_out_by_operator",
    ] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    // The last admin cannot be demoted or deleted, nor themself without the box ticked.
    let me = &admin.username;
    let res = act(&b, &app, &csrf, &format!("/admin/users/{me}/delete"), &[]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("your own account"));
    let res = act(
        &b,
        &app,
        &csrf,
        &format!("/admin/users/{me}/revoke-admin"),
        &[("myself", "yes")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("last admin"));
    let (code, out) = cli(&app, &["user", "revoke-admin", me]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("last admin"), "{out}");
    // Delete: the account and its credentials are gone.
    let res = act(&b, &app, &csrf, &format!("/admin/users/{u}/delete"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.try_login(&user, &user.password).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // The audit trail has every action: who, from where, what, on whom, why.
    let html = b
        .get(app.url(&format!("/admin/audit?target={u}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for what in [
        "disable",
        "enable",
        "logout",
        "delete",
        "ticket 42",
        "127.0.0.1",
    ] {
        assert!(html.contains(what), "{what} in the audit page");
    }
    let html = b
        .get(app.url("/admin/audit?action=grant_admin"))
        .send()
        .await
        .unwrap();
    let html = html.text().await.unwrap();
    assert!(
        html.contains("ops") && html.contains("(CLI)"),
        "the CLI's grant is there"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_account_with_two_factor_can_be_an_admin_and_unknown_names_are_told() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let (code, out) = cli(&app, &["user", "grant-admin", &user.username]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("two-factor"), "{out}");
    let (code, out) = cli(&app, &["user", "grant-admin", "nobody_here"]);
    assert_eq!(code, 2, "{out}");
    let (code, out) = cli(&app, &["user", "delete", "nobody_here", "--yes"]);
    assert_eq!(code, 2, "{out}");
    let token = app.login(&user).await;
    let (code, out) = cli(&app, &["user", "delete", &user.username, "--yes"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_from_the_cli_and_the_console() {
    let app = TestApp::spawn().await;
    let (_admin, b, csrf) = console(&app).await;
    let user = app.signup().await;
    assert_eq!(cli(&app, &["group", "add", "Staff"]).0, 0);
    let (code, out) = cli(&app, &["group", "add", "staff"]);
    assert_eq!(code, 1, "a second staff: {out}");
    assert_eq!(cli(&app, &["group", "add", "bad,name"]).0, 1);
    assert_eq!(
        cli(&app, &["group", "add-member", "staff", &user.username]).0,
        0
    );
    assert_eq!(
        cli(&app, &["group", "add-member", "nope", &user.username]).0,
        2
    );
    assert_eq!(
        cli(&app, &["group", "add-member", "staff", "nobody_here"]).0,
        2
    );
    let (_, out) = cli(&app, &["group", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        v,
        serde_json::json!([{"name": "staff", "members": [user.username]}])
    );
    // The console: a new group, a member, an unknown member told, then removal.
    let res = act(&b, &app, &csrf, "/admin/groups", &[("name", "ops")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = act(&b, &app, &csrf, "/admin/groups", &[("name", "ops")]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let res = act(
        &b,
        &app,
        &csrf,
        "/admin/groups/ops/members",
        &[("name", "nobody_here")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.text().await.unwrap().contains("no account called"));
    let res = act(
        &b,
        &app,
        &csrf,
        "/admin/groups/ops/members",
        &[("name", &user.username)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let path = format!("/admin/groups/staff/members/{}/remove", user.username);
    assert_eq!(
        act(&b, &app, &csrf, &path, &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        act(&b, &app, &csrf, "/admin/groups/staff/remove", &[])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let (_, out) = cli(&app, &["group", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        v,
        serde_json::json!([{"name": "ops", "members": [user.username]}])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_come_in_pages_of_fifty_by_key() {
    let app = TestApp::spawn().await;
    let (_admin, b, _) = console(&app).await;
    for _ in 0..55 {
        app.signup().await;
    }
    let page = |path: String| {
        let b = b.clone();
        let url = app.url(&path);
        async move { b.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let count = |html: &str| html.matches("<a href=\"/admin/users/user_").count();
    let first = page("/admin/users?q=user_".into()).await;
    assert_eq!(count(&first), 50);
    let at = first.find("&amp;after=").expect("a next page") + 11;
    let key: String = first[at..].chars().take_while(|c| *c != '"').collect();
    let second = page(format!("/admin/users?q=user_&after={key}")).await;
    assert_eq!(count(&second), 6, "55 people and the admin");
    assert!(!second.contains("&amp;after="), "no third page");
    // The pages do not overlap: the key is the first page's last name.
    assert!(first.contains(&format!("/admin/users/{key}\"")));
    assert!(!second.contains(&format!("/admin/users/{key}\"")));
}
