//! The console's apps (issue 25): an OpenID Connect client added at `/admin/apps` signs
//! people in through a real authorization-code flow; an edit of its redirect URIs holds at
//! once (the old one refused); a new secret is shown once and the old one stops working at
//! the token endpoint; removing it ends its tokens and its `client_id`. Bad input — a bad
//! URI, an unknown scope, a tampered id, any bytes — gets a clear status and the form back
//! whole, never a 500; every change is in the audit trail, from the console and the CLI.

use reqwest::StatusCode;

use crate::console::{act, cli, console};
use crate::helpers::TestApp;
use crate::oidc_flow::{TestClient, Visitor, html_unescape, location, redeem, refresh, tokens};
use crate::web::page;
use crate::web_two_factor::post;

const WIKI: &str = "https://wiki.example.test/callback";
const WIKI_NEW: &str = "https://wiki.example.test/signed-in";

/// The text of the element with this id (`id="…">text<`), unescaped.
fn text_of(html: &str, id: &str) -> Option<String> {
    let (_, rest) = html.split_once(&format!("id=\"{id}\">"))?;
    rest.split_once('<').map(|(t, _)| html_unescape(t))
}

/// The add or edit form as a browser posts it.
fn app_form<'a>(csrf: &'a str, name: &'a str, redirect: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("name", name),
        ("redirect_uris", redirect),
        ("post_logout_redirect_uris", ""),
        ("backchannel_logout_uri", ""),
        ("kind", "confidential"),
        ("scope", "openid"),
        ("scope", "profile"),
        ("scope", "offline_access"),
    ]
}

/// The confirmation page of `what` (`rotate-secret`, `remove`) — `409` when refused — and
/// then its form, with a reason, as a browser sends them.
async fn confirm_then_act(
    b: &reqwest::Client,
    app: &TestApp,
    csrf: &str,
    id: &str,
    what: &str,
) -> (String, reqwest::Response) {
    let path = format!("/admin/apps/{id}/{what}");
    let (status, html) = page(b, app, &path).await;
    assert!(
        [StatusCode::OK, StatusCode::CONFLICT].contains(&status),
        "{path}: {status}"
    );
    (html, act(b, app, csrf, &path, &[]).await)
}

/// A refresh with this client's credentials: its status.
async fn refresh_status(
    app: &TestApp,
    client: &TestClient,
    token: &str,
) -> (StatusCode, serde_json::Value) {
    let res = refresh(app, client, token).await;
    let status = res.status();
    (status, res.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_added_in_the_console_signs_people_in_until_it_is_removed() {
    let app = TestApp::spawn().await;
    let (_, b, csrf) = console(&app).await;
    // Add: the answer itself shows the id and, once, the secret.
    let res = post(&b, &app, "/admin/apps", &app_form(&csrf, "Wiki", WIKI)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("location").is_none());
    assert_eq!(res.headers()["cache-control"], "no-store");
    let html = res.text().await.unwrap();
    let id = text_of(&html, "client-id").expect("the client id");
    let secret = text_of(&html, "client-secret").expect("the secret");
    assert!(id.starts_with("tf_") && secret.len() >= 40, "{id} {secret}");
    for path in ["/admin/apps".to_owned(), format!("/admin/apps/{id}")] {
        let (status, html) = page(&b, &app, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains(&id), "{path}");
        assert!(!html.contains(&secret), "the secret is shown once: {path}");
    }
    // A real authorization-code flow with it.
    let mut client = TestClient {
        id: id.clone(),
        secret: Some(secret.clone()),
        redirect: WIKI.to_owned(),
    };
    let who = Visitor::sign_up(&app).await;
    let (code, pkce) = who
        .code(&app, &client, "openid profile offline_access")
        .await;
    let t = redeem(&app, &client, &code, &pkce).await;
    assert_eq!(t["scope"], "offline_access openid profile", "{t}");
    let mut refresh_token = t["refresh_token"].as_str().unwrap().to_owned();

    // Edit the redirect URI: the old one is refused at once, the new one works.
    let res = post(
        &b,
        &app,
        &format!("/admin/apps/{id}"),
        &app_form(&csrf, "Wiki", WIKI_NEW),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/admin/apps?done=edited");
    let old = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", id.as_str()),
        ("redirect_uri", WIKI),
        ("scope", "openid"),
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    let (status, html) = page(&who.browser, &app, &format!("/oidc/authorize?{old}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("redirect_uri does not match"), "{html}");
    client.redirect = WIKI_NEW.to_owned();
    let (code, pkce) = who.code(&app, &client, "openid profile").await;
    redeem(&app, &client, &code, &pkce).await;

    // A new secret: a confirmation page first, then the secret once; the old one is
    // refused at the token endpoint and the new one works.
    let (asked, res) = confirm_then_act(&b, &app, &csrf, &id, "rotate-secret").await;
    assert!(asked.contains("Make a new secret"));
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    let new_secret = text_of(&html, "client-secret").expect("the new secret");
    assert_ne!(new_secret, secret);
    let (status, body) = refresh_status(&app, &client, &refresh_token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old secret: {body}");
    assert_eq!(body["error"], "invalid_client");
    client.secret = Some(new_secret.clone());
    let t = tokens(refresh(&app, &client, &refresh_token).await).await;
    refresh_token = t["refresh_token"].as_str().unwrap().to_owned();
    let (_, list) = page(&b, &app, "/admin/apps").await;
    assert!(!list.contains(&new_secret));

    // Remove, after its confirmation page: its tokens and its client_id stop working.
    let (asked, res) = confirm_then_act(&b, &app, &csrf, &id, "remove").await;
    assert!(asked.contains("Remove app"));
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/admin/apps?done=removed");
    let (status, body) = refresh_status(&app, &client, &refresh_token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client");
    let again = old.replace(&urlencode(WIKI), &urlencode(WIKI_NEW));
    let (status, html) = page(&who.browser, &app, &format!("/oidc/authorize?{again}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("unknown client_id"), "{html}");
    let (status, _) = page(&b, &app, &format!("/admin/apps/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The audit trail: each change, who, and why.
    let (_, audit) = page(&b, &app, &format!("/admin/audit?target={id}")).await;
    for what in [
        "client_add",
        "client_edit",
        "client_rotate_secret",
        "client_remove",
        "ticket 42",
    ] {
        assert!(audit.contains(what), "{what} in the audit trail");
    }
    assert!(!audit.contains(&secret) && !audit.contains(&new_secret));
    // The edit's line says what changed: the redirect URI added and the one taken away.
    assert!(
        audit.contains(&format!("redirect URIs added {WIKI_NEW}"))
            && audit.contains(&format!("redirect URIs removed {WIKI}")),
        "the edit's changes in the audit trail"
    );
}

/// The JSON line of a CLI's output (its log lines aside).
fn json_line(out: &str) -> serde_json::Value {
    let line = out
        .lines()
        .find(|l| l.starts_with(['{', '[']))
        .unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apps_forms_refuse_bad_input_by_name_and_keep_what_was_typed() {
    let app = TestApp::spawn().await;
    let (_, b, csrf) = console(&app).await;
    let many = vec![WIKI; 21].join("\n");
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("redirect_uris", "http://wiki.example.test/cb")],
            "Redirect URI http://wiki.example.test/cb: use https",
        ),
        (
            vec![("redirect_uris", "http://localhost:80@evil.example/cb")],
            "must not hold user-info",
        ),
        (
            vec![("redirect_uris", "")],
            "Redirect URI: give at least one",
        ),
        (vec![("redirect_uris", &many)], "Redirect URI: at most 20"),
        (
            vec![(
                "post_logout_redirect_uris",
                "https://wiki.example.test/bye#x",
            )],
            "Post-logout redirect URI https://wiki.example.test/bye#x: must not have a fragment",
        ),
        (
            vec![("backchannel_logout_uri", "http://wiki.example.test/logout")],
            "Back-channel logout URI http://wiki.example.test/logout: use https",
        ),
        (
            vec![("scope", "wallet")],
            "Scopes wallet: not a scope Twofold knows",
        ),
        (
            vec![("name", "   ")],
            "Name: give the app a name of 1 to 100 characters",
        ),
        (
            vec![("kind", "public"), ("allow_no_pkce", "yes")],
            "Sending no PKCE: only for confidential apps",
        ),
    ];
    for (changes, said) in cases {
        let mut form = app_form(&csrf, "Keep me", WIKI);
        for (k, v) in &changes {
            form.retain(|(f, _)| f != k || *k == "scope");
            form.push((*k, *v));
        }
        let res = post(&b, &app, "/admin/apps", &form).await;
        assert_eq!(
            res.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{changes:?}"
        );
        let html = html_unescape(&res.text().await.unwrap());
        assert!(html.contains(said), "{changes:?}: {html}");
        assert!(
            html.contains("class=\"error\""),
            "by its field: {changes:?}"
        );
        if !changes.iter().any(|(k, _)| *k == "name") {
            assert!(html.contains("value=\"Keep me\""), "the name typed is kept");
        }
        assert!(html.contains("name=\"scope\" value=\"offline_access\" checked"));
    }
    // Without openid no one could be logged in.
    let form = vec![
        ("csrf", csrf.as_str()),
        ("name", "X"),
        ("redirect_uris", WIKI),
        ("scope", "profile"),
    ];
    let res = post(&b, &app, "/admin/apps", &form).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("include openid"));
    // Any bytes: a refusal, never a 500 (the form parser decodes lossily).
    for body in [
        format!(
            "csrf={csrf}&name=%FF%FE%00&redirect_uris=%E2%80%AE%0D%0Ahttps://a.example/%00&scope=%FF"
        ),
        format!("csrf={csrf}&name=x&redirect_uris=https%3A%2F%2Fa.example%2F%01cb&scope=openid"),
        format!("csrf={csrf}&name=x&redirect_uris=https://a.example/cb&scope=openid&scope=%22"),
        format!("csrf={csrf}&%%%=&&==&name"),
        "\u{0}\u{1}garbage".to_owned(),
    ] {
        let res = b
            .post(app.url("/admin/apps"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error(), "{body}: {}", res.status());
    }
    let (_, list) = page(&b, &app, "/admin/apps").await;
    assert!(list.contains("No apps yet."), "nothing was added");

    // A tampered or missing id: the page a missing path gets, for every page and action.
    for id in ["tf_nope", "%00%FF", &"x".repeat(300), "..%2F..%2Fadmin"] {
        for (method, path) in [
            ("GET", format!("/admin/apps/{id}")),
            ("POST", format!("/admin/apps/{id}")),
            ("GET", format!("/admin/apps/{id}/rotate-secret")),
            ("POST", format!("/admin/apps/{id}/rotate-secret")),
            ("GET", format!("/admin/apps/{id}/remove")),
            ("POST", format!("/admin/apps/{id}/remove")),
        ] {
            let res = if method == "GET" {
                b.get(app.url(&path)).send().await.unwrap()
            } else {
                post(&b, &app, &path, &app_form(&csrf, "X", WIKI)).await
            };
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "{method} {path}");
        }
    }
    let (_, audit) = page(&b, &app, "/admin/audit?action=client_remove").await;
    assert!(
        audit.contains("Nothing recorded that matches"),
        "nothing done, nothing recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_and_the_cli_manage_the_same_apps_in_one_audit_trail() {
    let app = TestApp::spawn().await;
    let (_, b, csrf) = console(&app).await;
    // An app the CLI registered, with a scope name Twofold does not know (kept, never
    // granted): an edit in the console may keep it, but not add another unknown one.
    let (code, out) = cli(
        &app,
        &[
            "client",
            "add",
            "--name",
            "Legacy",
            "--redirect-uri",
            WIKI,
            "--public",
            "--scopes",
            "openid custom",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let v = json_line(&out);
    let id = v["client_id"].as_str().unwrap().to_owned();
    let (status, html) = page(&b, &app, &format!("/admin/apps/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("name=\"scope\" value=\"custom\" checked"),
        "{html}"
    );
    assert!(!html.contains("name=\"kind\""), "the kind is chosen once");
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("name", "Legacy app"),
        ("redirect_uris", WIKI),
        ("scope", "openid"),
        ("scope", "custom"),
        ("require_two_factor", "yes"),
        ("device", "yes"),
    ];
    let res = post(&b, &app, &format!("/admin/apps/{id}"), &form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    form.push(("scope", "other"));
    let res = post(&b, &app, &format!("/admin/apps/{id}"), &form).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // A public app has no secret to rotate; an edit cannot give it one.
    let (asked, res) = confirm_then_act(&b, &app, &csrf, &id, "rotate-secret").await;
    assert!(asked.contains("it has no secret to rotate"), "{asked}");
    assert_eq!(res.status(), StatusCode::CONFLICT);
    form.retain(|(k, v)| *k != "scope" || *v != "other");
    form.extend([("kind", "confidential"), ("allow_no_pkce", "yes")]);
    let res = post(&b, &app, &format!("/admin/apps/{id}"), &form).await;
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "still public"
    );
    let (_, out) = cli(&app, &["client", "list", "--json"]);
    let list = json_line(&out);
    let c = &list[0];
    assert_eq!(c["name"], "Legacy app");
    assert_eq!(c["public"], true);
    assert_eq!(c["require_two_factor"], true);
    assert_eq!(c["device"], true);
    // The CLI's changes are in the same trail, with the OS user and the reason.
    let (code, out) = cli(&app, &["client", "remove", &id, "--reason", "retired"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = cli(&app, &["client", "remove", &id]);
    assert_eq!(code, 2, "{out}");
    let (code, out) = cli(&app, &["client", "rotate-secret", "tf_nope"]);
    assert_eq!(code, 2, "{out}");
    let (_, audit) = page(&b, &app, &format!("/admin/audit?target={id}")).await;
    let audit = html_unescape(&audit);
    for what in [
        "client_add",
        "client_edit",
        "client_remove",
        "ops</strong> (CLI)",
        "retired",
    ] {
        assert!(audit.contains(what), "{what} in the audit trail: {audit}");
    }
}
