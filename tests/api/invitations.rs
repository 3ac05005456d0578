//! Who may sign up (issue 25): `--sign-up open | invite | closed` and invitations —
//! single use (one account even when two sign-ups race with one link), 7 days, bound to an
//! address when given (the account gets it, confirmed), optionally into a group; made and
//! revoked in the console and at the CLI, each in the audit trail; refused with
//! `403 invitation_required` (or `sign_up_closed`) and a sentence that says what to do.

use reqwest::StatusCode;
use serde_json::{Value, json};
use twofold::domain::SignUpMode;

use crate::console::{act, browser_login, cli, two_factor_user};
use crate::helpers::{TestApp, TestUser, assert_error};
use crate::web::{browser, csrf_of};

/// Makes an invitation in the console; returns the link's token.
async fn invite(
    app: &TestApp,
    b: &reqwest::Client,
    csrf: &str,
    email: &str,
    group: &str,
) -> String {
    let res = act(
        b,
        app,
        csrf,
        "/admin/invitations",
        &[("email", email), ("group", group)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let html = res.text().await.unwrap();
    let start = html.find("/signup?invite=").expect("the link is shown") + "/signup?invite=".len();
    html[start..start + 43].to_owned()
}

/// A `403 invitation_required` whose sentence says `why`.
async fn refused_saying(res: reqwest::Response, why: &str) {
    let body = assert_error(res, StatusCode::FORBIDDEN, "invitation_required").await;
    let said = body["error"]["message"].as_str().unwrap();
    assert!(said.contains(why), "{said}");
}

async fn sign_up(app: &TestApp, user: &TestUser, extra: Value) -> reqwest::Response {
    let mut body = json!({"username": user.username, "password": user.password});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    app.post("/api/v1/accounts", None, body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_only_sign_up_takes_one_usable_invitation_per_account() {
    let (app, admin, b, csrf) = invite_only_with_admin().await;

    // No invitation, an unknown one, a mangled one: 403 with what to do.
    let ann = TestUser::generate();
    let body = assert_error(
        sign_up(&app, &ann, json!({})).await,
        StatusCode::FORBIDDEN,
        "invitation_required",
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("invitation"),
        "{body}"
    );
    for token in [
        "A".repeat(43),
        "short".to_owned(),
        "<script>".to_owned(),
        "é".repeat(50),
    ] {
        let res = sign_up(&app, &ann, json!({"invitation": token})).await;
        assert_error(res, StatusCode::FORBIDDEN, "invitation_required").await;
    }

    // Bound to an address and into a group: another address is refused, then the account
    // is made with the address confirmed and in the group; the link is spent.
    let token = invite(&app, &b, &csrf, "Ann@Example.COM", "staff").await;
    let res = sign_up(
        &app,
        &ann,
        json!({"invitation": token, "email": "eve@example.com"}),
    )
    .await;
    let body = assert_error(res, StatusCode::FORBIDDEN, "invitation_required").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("another email address")
    );
    let res = sign_up(
        &app,
        &ann,
        json!({"invitation": token, "email": "Ann@example.com"}),
    )
    .await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "{}",
        res.text().await.unwrap()
    );
    let t = app.login(&ann).await;
    let me: Value = app.get("/api/v1/me", Some(&t)).await.json().await.unwrap();
    assert!(
        me["email"]
            .as_str()
            .is_some_and(|e| e.ends_with("@example.com")),
        "{me}"
    );
    let (_, groups) = cli(&app, &["group", "list", "--json"]);
    let groups: Value = serde_json::from_str(groups.trim()).unwrap();
    assert_eq!(groups[0]["members"], json!([ann.username]), "{groups}");
    let bob = TestUser::generate();
    refused_saying(
        sign_up(&app, &bob, json!({"invitation": token})).await,
        "already used",
    )
    .await;

    // A username taken leaves the invitation unused.
    let token = invite(&app, &b, &csrf, "", "").await;
    let taken = TestUser {
        username: ann.username.clone(),
        password: bob.password.clone(),
    };
    let res = sign_up(&app, &taken, json!({"invitation": token})).await;
    assert_error(res, StatusCode::CONFLICT, "username_taken").await;
    // Two sign-ups race with the link: one account.
    let (c1, c2) = (TestUser::generate(), TestUser::generate());
    let (r1, r2) = tokio::join!(
        sign_up(&app, &c1, json!({"invitation": token})),
        sign_up(&app, &c2, json!({"invitation": token}))
    );
    let mut statuses = [r1.status(), r2.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::FORBIDDEN]);

    // The audit trail names who made each invitation, for whom and into which group.
    let (_, html) = crate::web::page(&b, &app, "/admin/audit?action=invitation_create").await;
    assert!(
        html.contains("for Ann@example.com, into group staff"),
        "audit: {html}"
    );
    assert!(html.contains(&admin.username));

    // After 7 days a link no longer works.
    let token = invite(&app, &b, &csrf, "", "").await;
    app.clock.advance(7 * 86_400);
    refused_saying(
        sign_up(&app, &bob, json!({"invitation": token})).await,
        "expired",
    )
    .await;
}

/// An invite-only server with an admin in the console and a group `staff`: the admin
/// signed up while sign-up was open, then the server restarted with `--sign-up invite`.
async fn invite_only_with_admin() -> (TestApp, TestUser, reqwest::Client, String) {
    let open = TestApp::spawn().await;
    let (admin, secret) = two_factor_user(&open).await;
    for args in [
        &["user", "grant-admin", admin.username.as_str()][..],
        &["group", "add", "staff"][..],
    ] {
        let (code, out) = cli(&open, args);
        assert_eq!(code, 0, "{out}");
    }
    let (dir, url) = open.stop().await;
    let app = TestApp::spawn_on(dir, url, |c| c.sign_up = SignUpMode::Invite).await;
    // The restarted server's clock starts where the first one did: past the codes used.
    app.clock.advance(90);
    let b = browser_login(&app, &admin, Some(&secret)).await;
    let (_, html) = crate::web::page(&b, &app, "/admin").await;
    let csrf = csrf_of(&html);
    (app, admin, b, csrf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_open_only_from_an_invitation_and_say_why_not() {
    let (app, _admin, b, csrf) = invite_only_with_admin().await;
    let stranger = browser();
    // The login page offers no sign-up; /signup says it is by invitation, with a 403.
    let (status, html) = crate::web::page(&stranger, &app, "/login").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !html.contains("id=\"sign-up\""),
        "no sign-up link under invite"
    );
    let (status, html) = crate::web::page(&stranger, &app, "/signup").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("by invitation only"), "{html}");
    assert!(
        !html.contains("name=\"password\""),
        "no form without an invitation"
    );
    let (status, html) = crate::web::page(&stranger, &app, "/signup?invite=nonsense").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("not one we know"), "{html}");
    let (status, _) = crate::web::page(&stranger, &app, "/signup?invite=%00%ff&invite=x").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The link opens the form, which says what the invitation binds, and makes the account.
    let token = invite(&app, &b, &csrf, "ann@example.com", "staff").await;
    let res = stranger
        .get(app.url(&format!("/signup?invite={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["referrer-policy"],
        "no-referrer",
        "the token goes no further"
    );
    let status = res.status();
    let html = res.text().await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Its email address will be <strong>ann@example.com</strong>"));
    assert!(html.contains("the group <strong>staff</strong>"));
    let ann = TestUser::generate();
    // A weak password keeps the invitation in the form, and the username typed.
    let res = stranger
        .post(app.url("/signup"))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("username", ann.username.as_str()),
            ("password", "password"),
            ("invite", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains(&format!("name=\"invite\" value=\"{token}\"")));
    assert!(html.contains(&format!("value=\"{}\"", ann.username)));
    assert!(html.contains("You're invited"));
    let res = stranger
        .post(app.url("/signup"))
        .form(&[
            ("csrf", csrf_of(&html).as_str()),
            ("username", ann.username.as_str()),
            ("password", ann.password.as_str()),
            ("invite", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // Used: the same link now says so.
    let (status, html) =
        crate::web::page(&browser(), &app, &format!("/signup?invite={token}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("already used"), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_sign_up_refuses_everyone_and_open_sign_up_spends_a_given_invitation() {
    let app = TestApp::spawn_with(|c| c.sign_up = SignUpMode::Closed).await;
    let ann = TestUser::generate();
    let body = assert_error(
        sign_up(&app, &ann, json!({})).await,
        StatusCode::FORBIDDEN,
        "sign_up_closed",
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not being made")
    );
    let res = sign_up(&app, &ann, json!({"invitation": "A".repeat(43)})).await;
    assert_error(res, StatusCode::FORBIDDEN, "sign_up_closed").await;
    let (status, html) = crate::web::page(&browser(), &app, "/signup").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("not being made here"));
    let (_, html) = crate::web::page(&browser(), &app, "/login").await;
    assert!(!html.contains("id=\"sign-up\""));

    // Open: anyone signs up; an invitation given is still checked and spent.
    let app = TestApp::spawn().await;
    let (_, html) = crate::web::page(&browser(), &app, "/login").await;
    assert!(html.contains("id=\"sign-up\""));
    let (_admin, b, csrf) = crate::console::console(&app).await;
    let token = invite(&app, &b, &csrf, "", "").await;
    let res = sign_up(&app, &ann, json!({"invitation": token})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let bob = TestUser::generate();
    let res = sign_up(&app, &bob, json!({"invitation": token})).await;
    assert_error(res, StatusCode::FORBIDDEN, "invitation_required").await;
    assert_eq!(
        sign_up(&app, &bob, json!({})).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_are_made_listed_and_revoked_in_the_console_and_at_the_cli() {
    let app = TestApp::spawn().await;
    let (admin, b, csrf) = crate::console::console(&app).await;
    // Bad input: the form comes back with what was typed and the reason.
    let res = act(
        &b,
        &app,
        &csrf,
        "/admin/invitations",
        &[("email", "not an address"), ("group", "")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("value=\"not an address\""));
    assert!(html.contains("hat is not an email address"), "{html}");
    assert!(!html.contains("/signup?invite="));
    let res = act(
        &b,
        &app,
        &csrf,
        "/admin/invitations",
        &[("email", "a@example.com"), ("group", "nope")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("here is no group of that name")
    );

    // Made in the console: listed as open, revoked after a confirmation page.
    let token = invite(&app, &b, &csrf, "cy@example.com", "").await;
    let (_, html) = crate::web::page(&b, &app, "/admin/invitations").await;
    assert!(
        !html.contains(&token),
        "the link is shown once, on the form's answer"
    );
    let id_at = html.find("id=\"invitation-inv_").unwrap() + "id=\"invitation-".len();
    let id = html[id_at..].split('"').next().unwrap().to_owned();
    let (status, confirm) =
        crate::web::page(&b, &app, &format!("/admin/invitations/{id}/revoke")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(confirm.contains("Revoke the invitation for cy@example.com?"));
    let res = act(
        &b,
        &app,
        &csrf,
        &format!("/admin/invitations/{id}/revoke"),
        &[],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = sign_up(&app, &TestUser::generate(), json!({"invitation": token})).await;
    assert_error(res, StatusCode::FORBIDDEN, "invitation_required").await;
    // Its confirmation page is gone with it.
    let (status, _) = crate::web::page(&b, &app, &format!("/admin/invitations/{id}/revoke")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Again, or a tampered id: 404 (400 for bytes that are not text), never a 500.
    for (id, status) in [
        (id.as_str(), StatusCode::NOT_FOUND),
        ("inv_nothing", StatusCode::NOT_FOUND),
        (&"x".repeat(500), StatusCode::NOT_FOUND),
        ("%00%ff", StatusCode::BAD_REQUEST),
    ] {
        let res = act(
            &b,
            &app,
            &csrf,
            &format!("/admin/invitations/{id}/revoke"),
            &[],
        )
        .await;
        assert_eq!(res.status(), status, "{id}");
    }

    // The CLI: create (JSON with the link), list, revoke; each in the audit trail.
    let (code, out) = cli(
        &app,
        &[
            "invite",
            "create",
            "--email",
            "dee@example.com",
            "--json",
            "--public-url",
            "https://auth.example.com/",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let made: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    let url = made["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://auth.example.com/signup?invite="),
        "{url}"
    );
    let (code, out) = cli(&app, &["invite", "list", "--json"]);
    assert_eq!(code, 0, "{out}");
    let list: Value = serde_json::from_str(out.trim()).unwrap();
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == made["id"])
        .unwrap();
    assert_eq!(listed["email"], "dee@example.com");
    assert_eq!(listed["state"], "open");
    assert!(
        !out.contains(&url[url.len() - 43..]),
        "the list never shows a link"
    );
    let (code, out) = cli(&app, &["invite", "revoke", made["id"].as_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = cli(&app, &["invite", "revoke", made["id"].as_str().unwrap()]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("no unused invitation has that id"));
    let (code, out) = cli(&app, &["invite", "create", "--group", "nope"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("there is no group of that name"), "{out}");
    let (_, html) = crate::web::page(&b, &app, "/admin/audit").await;
    for action in ["invitation_create", "invitation_revoke"] {
        assert!(html.contains(action), "{action}");
    }
    assert!(
        html.contains(&admin.username) && html.contains("ops"),
        "who acted"
    );
}
