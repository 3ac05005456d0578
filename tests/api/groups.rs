//! Groups outside the console (issue 25): the `groups` scope and claim in the ID token and
//! userinfo (only for a client registered with it), discovery, forward authentication's
//! `group:NAME` subject and the `Remote-Groups` header.

use reqwest::StatusCode;
use serde_json::{Value, json};
use twofold::config::{Config, Location, Overrides};

use crate::helpers::TestApp;
use crate::oidc_flow::{REDIRECT, Visitor, add_client_with, claims_of, redeem, userinfo};

fn group(app: &TestApp, args: &[&str]) {
    let args: Vec<&str> = std::iter::once("group")
        .chain(args.iter().copied())
        .collect();
    let (code, out) = crate::console::cli(app, &args);
    assert_eq!(code, 0, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_groups_claim_goes_to_clients_registered_for_it() {
    let app = TestApp::spawn().await;
    let who = Visitor::sign_up(&app).await;
    group(&app, &["add", "staff"]);
    group(&app, &["add", "ops"]);
    group(&app, &["add-member", "staff", &who.user.username]);
    group(&app, &["add-member", "ops", &who.user.username]);
    let with = add_client_with(
        &app,
        "Groups app",
        REDIRECT,
        &["--scopes", "openid profile groups"],
    );
    let (code, pkce) = who.code(&app, &with, "openid groups").await;
    let t = redeem(&app, &with, &code, &pkce).await;
    assert_eq!(t["scope"], "groups openid", "{t}");
    let id = claims_of(t["id_token"].as_str().unwrap());
    assert_eq!(id["groups"], json!(["ops", "staff"]), "{id}");
    let info: Value = userinfo(&app, t["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["groups"], json!(["ops", "staff"]), "{info}");
    // A client registered without it never receives it, even when it asks.
    let without = add_client_with(&app, "Plain app", REDIRECT, &[]);
    let (code, pkce) = who.code(&app, &without, "openid groups").await;
    let t = redeem(&app, &without, &code, &pkce).await;
    assert_eq!(t["scope"], "openid", "{t}");
    assert!(claims_of(t["id_token"].as_str().unwrap())["groups"].is_null());
    let d: Value = app
        .http
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for key in ["scopes_supported", "claims_supported"] {
        assert!(
            d[key].as_array().unwrap().contains(&json!("groups")),
            "{key}"
        );
    }
}

const RULES: &str = r#"
[access_control]
default_policy = "deny"

[[access_control.rules]]
domain = "staff.twofold.test"
subject = ["group:staff"]
policy = "one_factor"

[[access_control.rules]]
domain = "open.twofold.test"
policy = "one_factor"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_auth_lets_group_members_in_and_names_their_groups() {
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
    let app = TestApp::spawn_with(move |c| c.access_control = rules).await;
    let member = app.signup().await;
    let other = app.signup().await;
    group(&app, &["add", "staff"]);
    group(&app, &["add", "a.b-c"]);
    group(&app, &["add-member", "staff", &member.username]);
    group(&app, &["add-member", "a.b-c", &member.username]);
    let ask = |token: String, url: &'static str| {
        app.http
            .get(app.url("/api/authz/auth-request"))
            .header("x-original-url", url)
            .header("x-original-method", "GET")
            .bearer_auth(token)
            .send()
    };
    let res = ask(app.login(&member).await, "https://staff.twofold.test/")
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["remote-groups"], "a.b-c,staff");
    let res = ask(app.login(&other).await, "https://staff.twofold.test/")
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "not a member");
    let res = ask(app.login(&other).await, "https://open.twofold.test/")
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["remote-groups"],
        "",
        "no groups: empty, never absent"
    );
    // An unknown group in a rule is a start-up error, like any other mistake in a rule.
    let bad = "[access_control]\n[[access_control.rules]]\ndomain = \"x.test\"\nsubject = [\"group:a,b\"]\npolicy = \"deny\"\n";
    std::fs::write(dir.path().join("bad.toml"), bad).unwrap();
    let loc = Location {
        config: Some(dir.path().join("bad.toml")),
        ..Default::default()
    };
    let err = format!(
        "{:#}",
        Config::resolve(&loc, &Overrides::default()).unwrap_err()
    );
    assert!(err.contains("group name"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn your_data_is_exported_without_secrets() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let (secret, codes) = app.enable_totp(&token).await;
    group(&app, &["add", "staff"]);
    group(&app, &["add-member", "staff", &user.username]);
    let res = app.get("/api/v1/me/export", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("twofold-data.json")
    );
    let text = res.text().await.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["account"]["username"], user.username.as_str());
    assert_eq!(v["groups"], json!(["staff"]));
    assert!(v["two_factor"]["authenticator_app"]["added_at"].is_i64());
    assert_eq!(v["two_factor"]["backup_codes_left"], codes.len());
    assert!(
        v["activity"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "totp_added")
    );
    assert_eq!(v["sessions"].as_array().unwrap().len(), 1);
    // Nothing secret: not the password, its hash, the app's secret, a code or a token.
    for s in [&user.password, &secret, &token, &"argon2id".to_owned()] {
        assert!(!text.contains(s.as_str()), "the export holds a secret");
    }
    for c in &codes {
        assert!(!text.contains(c.as_str()), "the export holds a backup code");
    }
    assert_eq!(
        app.get("/api/v1/me/export", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

/// `DELETE /api/v1/me` (issue 25): recent, a second factor when 2FA is on (checked and
/// counted like a login's, used once), then every credential ends and the account is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_ones_own_account_needs_recent_and_a_second_factor() {
    let app = TestApp::spawn().await;
    let plain = app.signup().await;
    let token = app.login(&plain).await;
    let del = |token: String, body: Value| {
        app.http
            .delete(app.url("/api/v1/me"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    app.clock.advance(app.config.recent_auth_secs + 1);
    let res = del(token.clone(), json!({})).await.unwrap();
    crate::helpers::assert_error(res, StatusCode::FORBIDDEN, "reauth_required").await;
    let token = app.login(&plain).await;
    assert_eq!(
        del(token.clone(), json!({})).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.try_login(&plain, &plain.password).await.status(),
        StatusCode::UNAUTHORIZED
    );

    let user = app.signup().await;
    let token = app.login(&user).await;
    let (secret, codes) = app.enable_totp(&token).await;
    let res = del(token.clone(), json!({})).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "two_factor_required", "{body}");
    assert_eq!(body["methods"], json!(["totp", "backup_code"]));
    assert!(body.get("challenge").is_none(), "{body}");
    let res = del(
        token.clone(),
        json!({"method": "carrier_pigeon", "code": "1"}),
    )
    .await
    .unwrap();
    crate::helpers::assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_method").await;
    let wrong = if app.totp(&secret, 0) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let res = del(token.clone(), json!({"method": "totp", "code": wrong}))
        .await
        .unwrap();
    crate::helpers::assert_error(res, StatusCode::UNAUTHORIZED, "invalid_code").await;
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.status(),
        StatusCode::OK
    );
    let res = del(
        token.clone(),
        json!({"method": "backup_code", "code": codes[0]}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
