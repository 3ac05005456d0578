//! "A new browser or device logged in": an app is known by its user agent, a browser by its
//! device cookie; the first login after sign-up is no news; the notice goes to the email
//! address and the phone, with where it came from.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser};

async fn login_as(app: &TestApp, user: &TestUser, agent: &str) -> reqwest::Response {
    app.http
        .post(app.url("/api/v1/sessions"))
        .header("user-agent", agent)
        .json(&json!({"username": user.username, "password": user.password}))
        .send()
        .await
        .unwrap()
}

async fn new_device_events(app: &TestApp, token: &str) -> usize {
    let body: Value = app
        .get("/api/v1/me/activity", Some(token))
        .await
        .json()
        .await
        .unwrap();
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "login_new_device")
        .count()
}

#[tokio::test]
async fn a_login_from_a_new_app_is_told_once_and_a_known_one_is_not() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let email = format!("{}@example.com", user.username);
    app.add_email(&token, &email).await;
    assert_eq!(
        new_device_events(&app, &token).await,
        0,
        "the same app as at sign-up"
    );

    let res = login_as(&app, &user, "SyncApp/2.1 (Android 14)").await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(new_device_events(&app, &token).await, 1);
    let mail = app.mail_to(&email, "new browser or device");
    assert_eq!(mail.len(), 1, "{:?}", app.mail());
    let body = mail[0]["body"].as_str().unwrap();
    assert!(body.contains("Android"), "says which device: {body}");
    // The same app again: nothing new.
    login_as(&app, &user, "SyncApp/2.1 (Android 14)").await;
    assert_eq!(new_device_events(&app, &token).await, 1);
}

#[tokio::test]
async fn a_new_browser_is_told_and_the_same_browser_again_is_not() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let token = app.login(&user).await;
    let email = format!("{}@example.com", user.username);
    app.add_email(&token, &email).await;
    // A browser without a device cookie logs in through the pages.
    let (b, _) = crate::web::log_in_through_the_pages(&app, &user).await;
    assert_eq!(new_device_events(&app, &token).await, 1);
    assert_eq!(app.mail_to(&email, "new browser or device").len(), 1);
    // The same browser (it now holds its device cookie) logs out and in again: known.
    let (_, html) = crate::web::page(&b, &app, "/login?again=1").await;
    let res = b
        .post(app.url("/login"))
        .form(&[
            ("csrf", crate::web::csrf_of(&html).as_str()),
            ("username", &user.username),
            ("password", &user.password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(new_device_events(&app, &token).await, 1);
}
