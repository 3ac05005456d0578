//! Login, logout, the sessions list, expiry, re-authentication, password change, activity.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, assert_error};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_gives_a_token_that_opens_me() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let res = app.try_login(&user, &user.password).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    let token = body["token"].as_str().unwrap();
    assert_eq!(token.len(), 43, "256 bits, base64url");
    assert_eq!(body["account"]["username"], user.username.as_str());
    let me: Value = app
        .get("/api/v1/me", Some(token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], user.username.as_str());
    assert_eq!(me["id"], body["account"]["id"]);
    assert_eq!(me["two_factor"]["enabled"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let wrong = assert_error(
        app.try_login(&user, "not the password").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    let ghost = TestUser::generate();
    let unknown = assert_error(
        app.try_login(&ghost, &ghost.password).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert_eq!(wrong, unknown);
    let invalid_name = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"username": "no such user!", "password": "x"}),
        )
        .await;
    let invalid = assert_error(
        invalid_name,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert_eq!(wrong, invalid);
    // Logging in is case-insensitive on the username.
    let upper = TestUser {
        username: user.username.to_uppercase(),
        password: user.password.clone(),
    };
    assert_eq!(
        app.try_login(&upper, &user.password).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_bad_tokens_are_refused() {
    let app = TestApp::spawn().await;
    assert_error(
        app.get("/api/v1/me", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_error(
        app.get("/api/v1/me", Some("garbage")).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    let fake = "A".repeat(43);
    assert_error(
        app.get("/api/v1/me", Some(&fake)).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_ends_the_token_at_once() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let other = app.login(&user).await;
    assert_eq!(
        app.delete("/api/v1/sessions/current", Some(&token))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        app.get("/api/v1/me", Some(&token)).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_error(
        app.delete("/api/v1/sessions/current", Some(&token)).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_eq!(
        app.get("/api/v1/me", Some(&other)).await.status(),
        StatusCode::OK,
        "other sessions live on"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_list_marks_the_current_one_and_can_end_others() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let a = app.login(&user).await;
    let b = app.login(&user).await;
    let list: Value = app
        .get("/api/v1/me/sessions", Some(&a))
        .await
        .json()
        .await
        .unwrap();
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    for s in sessions {
        for key in [
            "id",
            "created_at",
            "last_seen_at",
            "ip",
            "user_agent",
            "current",
        ] {
            assert!(s.get(key).is_some(), "{key} in {s}");
        }
        assert_eq!(s["ip"], "127.0.0.1");
        assert!(s["created_at"].as_str().unwrap().ends_with('Z'));
    }
    let other_id = sessions.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.delete(&format!("/api/v1/me/sessions/{other_id}"), Some(&a))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        app.get("/api/v1/me", Some(&b)).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_error(
        app.delete(&format!("/api/v1/me/sessions/{other_id}"), Some(&a))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.delete("/api/v1/me/sessions/ses_nope", Some(&a)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // Another account's session cannot be ended, and does not exist as far as we know.
    let mallory = app.signup().await;
    let m = app.login(&mallory).await;
    let a_list: Value = app
        .get("/api/v1/me/sessions", Some(&a))
        .await
        .json()
        .await
        .unwrap();
    let a_id = a_list["sessions"][0]["id"].as_str().unwrap().to_owned();
    assert_error(
        app.delete(&format!("/api/v1/me/sessions/{a_id}"), Some(&m))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(
        app.get("/api/v1/me", Some(&a)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire_when_idle_and_at_their_absolute_end() {
    let app = TestApp::spawn_with(|c| {
        c.session_idle_secs = 3600;
        c.session_absolute_secs = 3 * 3600;
    })
    .await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    app.clock.advance(3000);
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.status(),
        StatusCode::OK,
        "used within the idle limit"
    );
    app.clock.advance(3000);
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.status(),
        StatusCode::OK,
        "idle time counts from last use"
    );
    app.clock.advance(3601);
    assert_error(
        app.get("/api/v1/me", Some(&token)).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;

    let busy = app.login(&user).await;
    for _ in 0..3 {
        app.clock.advance(3000);
        assert_eq!(
            app.get("/api/v1/me", Some(&busy)).await.status(),
            StatusCode::OK
        );
    }
    app.clock.advance(1801);
    assert_error(
        app.get("/api/v1/me", Some(&busy)).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reauth_checks_the_password() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let res = app
        .post(
            "/api/v1/me/reauth",
            Some(&token),
            json!({"password": user.password}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .post(
            "/api/v1/me/reauth",
            Some(&token),
            json!({"password": "nope nope nope"}),
        )
        .await;
    assert_error(res, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let res = app
        .post(
            "/api/v1/me/reauth",
            None,
            json!({"password": user.password}),
        )
        .await;
    assert_error(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_password_ends_every_other_session() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let keep = app.login(&user).await;
    let other = app.login(&user).await;
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});

    let res = app
        .post(
            "/api/v1/me/password",
            Some(&keep),
            change("wrong wrong", "brand new password"),
        )
        .await;
    assert_error(res, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let res = app
        .post(
            "/api/v1/me/password",
            Some(&keep),
            change(&user.password, "password"),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "weak_password").await;
    assert_eq!(
        app.get("/api/v1/me", Some(&other)).await.status(),
        StatusCode::OK,
        "nothing changed yet"
    );

    let res = app
        .post(
            "/api/v1/me/password",
            Some(&keep),
            change(&user.password, "brand new password"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/v1/me", Some(&keep)).await.status(),
        StatusCode::OK
    );
    assert_error(
        app.get("/api/v1/me", Some(&other)).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    assert_error(
        app.try_login(&user, &user.password).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert_eq!(
        app.try_login(&user, "brand new password").await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activity_records_logins_failures_logouts_and_changes_newest_first() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let _ = app.try_login(&user, "wrong password here").await;
    let second = app.login(&user).await;
    let list: Value = app
        .get("/api/v1/me/sessions", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    let second_id = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()["id"]
        .clone();
    app.delete(
        &format!("/api/v1/me/sessions/{}", second_id.as_str().unwrap()),
        Some(&token),
    )
    .await;
    let _ = second;
    app.post(
        "/api/v1/me/password",
        Some(&token),
        json!({"current_password": user.password, "new_password": "a whole new password"}),
    )
    .await;
    let other = app
        .login(&TestUser {
            password: "a whole new password".into(),
            ..user.clone()
        })
        .await;
    app.delete("/api/v1/sessions/current", Some(&other)).await;

    let body: Value = app
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
    assert_eq!(
        kinds,
        [
            "logout",
            "login",
            "password_changed",
            "session_revoked",
            "login",
            "login_failed",
            "login"
        ]
    );
    let first = &body["events"][0];
    for key in ["kind", "at", "ip", "user_agent", "detail"] {
        assert!(first.get(key).is_some(), "{key} in {first}");
    }
    assert_eq!(first["ip"], "127.0.0.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_openapi_describe_the_server() {
    let app = TestApp::spawn().await;
    let res = app.get("/healthz", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"status": "ok"}));
    let doc: Value = app
        .get("/api/v1/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for (path, method) in [
        ("/healthz", "get"),
        ("/api/v1/accounts", "post"),
        ("/api/v1/sessions", "post"),
        ("/api/v1/sessions/current", "delete"),
        ("/api/v1/me", "get"),
        ("/api/v1/me/reauth", "post"),
        ("/api/v1/me/sessions", "get"),
        ("/api/v1/me/sessions/{id}", "delete"),
        ("/api/v1/me/activity", "get"),
        ("/api/v1/sessions/two-factor", "post"),
        ("/api/v1/sessions/two-factor/sms", "post"),
        ("/api/v1/me/two-factor", "get"),
        ("/api/v1/me/two-factor", "delete"),
        ("/api/v1/me/two-factor/totp", "post"),
        ("/api/v1/me/two-factor/totp", "delete"),
        ("/api/v1/me/two-factor/totp/confirm", "post"),
        ("/api/v1/me/two-factor/sms", "post"),
        ("/api/v1/me/two-factor/sms", "delete"),
        ("/api/v1/me/two-factor/sms/confirm", "post"),
        ("/api/v1/me/backup-codes", "get"),
        ("/api/v1/me/backup-codes", "post"),
        ("/api/v1/me/backup-codes.txt", "get"),
        ("/api/v1/me/backup-codes.png", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is described"
        );
    }
    // Every answer the server can give is described, errors included.
    assert!(doc["paths"]["/api/v1/sessions"]["post"]["responses"]["202"].is_object());
    assert!(doc["paths"]["/api/v1/me"]["get"]["responses"]["401"].is_object());
    for code in ["400", "413", "415", "422", "500"] {
        assert!(
            doc["paths"]["/api/v1/accounts"]["post"]["responses"][code].is_object(),
            "{code}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_hashes_are_remade_when_the_parameters_change() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let (dir, url) = app.stop().await;
    let stored = |url: String, name: String| async move {
        let store = twofold::store::Store::connect(&url, 1).await.unwrap();
        let u = twofold::domain::Username::parse(&name).unwrap();
        let hash = store
            .accounts()
            .account_by_username(&u)
            .await
            .unwrap()
            .unwrap()
            .password_hash;
        store.close().await;
        hash
    };
    assert!(
        stored(url.clone(), user.username.clone())
            .await
            .starts_with("$argon2id$v=19$m=1024,t=1,p=1$")
    );

    let app = TestApp::spawn_on(dir, url.clone(), |c| {
        c.argon2.memory_kib = 2048;
        c.argon2.iterations = 2;
    })
    .await;
    assert_eq!(
        app.try_login(&user, "wrong password!").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert!(
        stored(url.clone(), user.username.clone())
            .await
            .contains("m=1024,t=1"),
        "a wrong password changes nothing"
    );
    let _token = app.login(&user).await;
    let hash = stored(url, user.username.clone()).await;
    assert!(hash.starts_with("$argon2id$v=19$m=2048,t=2,p=1$"), "{hash}");
    assert_eq!(
        app.try_login(&user, &user.password).await.status(),
        StatusCode::CREATED
    );
}

/// Issue 10: a browser's session cookie is not an API token, nor the other way round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_and_api_tokens_do_not_stand_in_for_each_other() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let api_token = app.login(&user).await;
    let b = crate::web::browser();
    let (_, html) = crate::web::page(&b, &app, "/login").await;
    let res = b
        .post(app.url("/login"))
        .form(&[
            ("csrf", crate::web::csrf_of(&html).as_str()),
            ("username", user.username.as_str()),
            ("password", user.password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("twofold_session="))
        .unwrap()
        .to_owned();
    let web_token = cookie["twofold_session=".len()..]
        .split(';')
        .next()
        .unwrap();
    assert_eq!(
        app.get("/api/v1/me", Some(web_token)).await.status(),
        StatusCode::UNAUTHORIZED,
        "a cookie's token is refused as a bearer token"
    );
    let res = app
        .http
        .get(app.url("/"))
        .header("cookie", format!("twofold_session={api_token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "an API token is no cookie"
    );
    assert_eq!(res.headers()["location"], "/login");
    assert_eq!(
        app.get("/api/v1/me", Some(&api_token)).await.status(),
        StatusCode::OK
    );
}

/// Issue 10: "Log out of all other sessions" (recent), and turning 2FA off or removing a
/// method ends every other session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weakening_the_account_ends_the_other_sessions() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let here = app.login(&user).await;
    let elsewhere = app.login(&user).await;
    assert_eq!(
        app.delete("/api/v1/me/sessions", Some(&here))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/api/v1/me", Some(&elsewhere)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/v1/me", Some(&here)).await.status(),
        StatusCode::OK
    );

    let (_, codes) = app.enable_totp(&here).await;
    // A second app session, logged in with a backup code.
    let other = {
        let c = app.challenge(&user).await;
        let res = app.second_step(&c, "backup_code", &codes[0]).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        app.get("/api/v1/me", Some(&other)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.delete("/api/v1/me/two-factor", Some(&here))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get("/api/v1/me", Some(&other)).await.status(),
        StatusCode::UNAUTHORIZED,
        "turning 2FA off logs out everywhere else"
    );
    assert_eq!(
        app.get("/api/v1/me", Some(&here)).await.status(),
        StatusCode::OK
    );

    // Past the recent window, logging out the others needs the password again.
    app.clock.advance(601);
    assert_error(
        app.delete("/api/v1/me/sessions", Some(&here)).await,
        StatusCode::FORBIDDEN,
        "reauth_required",
    )
    .await;
}

/// Issue 10: behind a trusted proxy the client is the right-most address the proxy saw, not
/// what the client wrote at the left of `X-Forwarded-For`; without `behind_proxy` the header
/// is ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_address_is_the_right_most_untrusted_one() {
    for (behind_proxy, expected) in [(true, "198.51.100.9"), (false, "127.0.0.1")] {
        let app = TestApp::spawn_with(|c| c.behind_proxy = behind_proxy).await;
        let user = app.signup().await;
        let res = app
            .http
            .post(app.url("/api/v1/sessions"))
            .header("x-forwarded-for", "6.6.6.6, 198.51.100.9, 127.0.0.1")
            .json(&json!({"username": user.username, "password": user.password}))
            .send()
            .await
            .unwrap();
        let token = res.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let list: Value = app
            .get("/api/v1/me/sessions", Some(&token))
            .await
            .json()
            .await
            .unwrap();
        let current = list["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["current"] == true)
            .unwrap()
            .clone();
        assert_eq!(current["ip"], expected, "behind_proxy = {behind_proxy}");
    }
}

/// The contract lives in the repository: `docs/openapi.json` is what the server serves.
/// After a deliberate change, refresh it with `TWOFOLD_UPDATE_OPENAPI=1 cargo test --test api
/// openapi_snapshot` and review the diff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_snapshot_matches_what_is_served() {
    let app = TestApp::spawn().await;
    let served: Value = app
        .get("/api/v1/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/openapi.json");
    if std::env::var_os("TWOFOLD_UPDATE_OPENAPI").is_some() {
        let text = serde_json::to_string_pretty(&served).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
    }
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(&path).expect("docs/openapi.json is committed"),
    )
    .unwrap();
    assert!(
        served == committed,
        "the served OpenAPI document drifted from docs/openapi.json; if the change is meant, \
         run TWOFOLD_UPDATE_OPENAPI=1 cargo test --test api openapi_snapshot and commit it"
    );
}

/// Review of issue 10: a hop that is not text (a client-written byte above 0x7f) does not
/// hide the address the trusted proxy appended after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbled_forwarded_hop_does_not_hide_the_client() {
    let app = TestApp::spawn_with(|c| c.behind_proxy = true).await;
    let user = app.signup().await;
    let xff = reqwest::header::HeaderValue::from_bytes(b"\x80evil, 198.51.100.9").unwrap();
    let res = app
        .http
        .post(app.url("/api/v1/sessions"))
        .header("x-forwarded-for", xff)
        .json(&json!({"username": user.username, "password": user.password}))
        .send()
        .await
        .unwrap();
    let token = res.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let list: Value = app
        .get("/api/v1/me/sessions", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["sessions"][0]["ip"], "198.51.100.9");
}

/// Issue 21, item 16: activity older than `--activity-retention-days` is purged (the
/// housekeeping of a node started after the time has passed removes it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_activity_is_purged() {
    let app = TestApp::spawn_with(|c| c.activity_retention_days = 30).await;
    let user = app.signup().await;
    let _ = app.try_login(&user, "a wrong password here").await;
    app.login(&user).await;
    app.clock.advance(31 * 86_400);
    // A node starts and runs its housekeeping at once.
    let other = app.second_node().await;
    let token = other.login(&user).await;
    let mut kinds = Vec::new();
    for _ in 0..50 {
        let body: serde_json::Value = other
            .get("/api/v1/me/activity", Some(&token))
            .await
            .json()
            .await
            .unwrap();
        kinds = body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_owned())
            .collect();
        if !kinds.contains(&"login_failed".to_owned()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(kinds, ["login"], "only the new login is left");
}
