//! Bad input of every kind gets a clear 4xx in the fixed shape; never a 500, and the
//! server keeps serving.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, assert_error};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_get_clear_errors() {
    let app = TestApp::spawn().await;
    let post_raw = |body: &'static str, ct: Option<&'static str>| {
        let mut req = app.http.post(app.url("/api/v1/accounts")).body(body);
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        req.send()
    };
    let res = post_raw("{\"username\": \"a\",", Some("application/json"))
        .await
        .unwrap();
    assert_error(res, StatusCode::BAD_REQUEST, "malformed_json").await;
    let res = post_raw("not json at all", Some("application/json"))
        .await
        .unwrap();
    assert_error(res, StatusCode::BAD_REQUEST, "malformed_json").await;
    let res = post_raw(
        "{\"username\":\"a\",\"password\":\"b\"}",
        Some("text/plain"),
    )
    .await
    .unwrap();
    assert_error(
        res,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let res = post_raw("{\"username\":\"a\",\"password\":\"b\"}", None)
        .await
        .unwrap();
    assert_error(
        res,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let res = post_raw("{\"username\":\"alice\"}", Some("application/json"))
        .await
        .unwrap();
    let body = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("password"),
        "names the missing field: {body}"
    );
    let res = post_raw("[1,2,3]", Some("application/json")).await.unwrap();
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request").await;
    let res = post_raw(
        "{\"username\":\"alice\",\"password\":12345678901}",
        Some("application/json"),
    )
    .await
    .unwrap();
    let body = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_request").await;
    assert!(
        !body.to_string().contains("12345678901"),
        "a wrongly-typed value is not echoed: {body}"
    );
    let res = app
        .http
        .post(app.url("/api/v1/accounts"))
        .header("content-type", "application/json")
        .body(vec![0xff, 0xfe, 0x7b])
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::BAD_REQUEST, "malformed_json").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_64_kib_is_refused() {
    let app = TestApp::spawn().await;
    let huge = "x".repeat(70 * 1024);
    let res = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"username": "alice", "password": huge}),
        )
        .await;
    assert_error(res, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let res = app
        .post(
            "/api/v1/accounts",
            None,
            json!({"username": huge, "password": "correct horse battery"}),
        )
        .await;
    assert_error(res, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    // Just under the limit is read, and a too-long username is a normal validation error.
    let big = "x".repeat(60 * 1024);
    let res = app
        .post(
            "/api/v1/accounts",
            None,
            json!({"username": big, "password": "correct horse battery"}),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_username").await;
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_and_methods_answer_in_the_fixed_shape() {
    let app = TestApp::spawn().await;
    assert_error(
        app.get("/api/v1/nope", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.get("/api/v2/me", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let res = app
        .call(reqwest::Method::PUT, "/api/v1/me", None, None)
        .await;
    assert_error(res, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    let res = app.get("/api/v1/accounts", None).await;
    assert_error(res, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    // Web paths answer with a page.
    let res = app.get("/no/such/page", None).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(res.text().await.unwrap().contains("Page not found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_keeps_serving_after_a_barrage_of_garbage() {
    let app = TestApp::spawn().await;
    let user = app.signup().await;
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"{".to_vec(),
        b"null".to_vec(),
        b"{\"username\":null,\"password\":null}".to_vec(),
        b"{\"username\":[],\"password\":{}}".to_vec(),
        vec![0xc3, 0x28],
        "{\"username\":\"\u{0}\",\"password\":\"\u{0}\"}"
            .as_bytes()
            .to_vec(),
        format!(
            "{{\"username\":\"{}\",\"password\":\"x\"}}",
            "🦀".repeat(1000)
        )
        .into_bytes(),
    ];
    for path in [
        "/api/v1/accounts",
        "/api/v1/sessions",
        "/api/v1/me/reauth",
        "/api/v1/me/password",
    ] {
        for b in &bodies {
            let res = app
                .http
                .post(app.url(path))
                .header("content-type", "application/json")
                .body(b.clone())
                .send()
                .await
                .unwrap();
            assert!(
                res.status().is_client_error(),
                "{path} {:?} -> {}",
                String::from_utf8_lossy(b),
                res.status()
            );
            let body: serde_json::Value = res.json().await.unwrap();
            assert!(body["error"]["code"].is_string());
        }
    }
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    assert_eq!(
        app.try_login(&user, &user.password).await.status(),
        StatusCode::CREATED
    );
}
