//! Sign in with Twofold from an app that runs in the browser: CORS lets any page read
//! discovery and the JWKS, and lets only the origins of registered redirect URIs read the
//! token, userinfo and revocation answers — never with credentials, never introspection.

use reqwest::{Method, Response, StatusCode};

use crate::helpers::TestApp;
use crate::oidc_flow::{Visitor, add_client};

const SPA: &str = "https://spa.example.test";
const EVIL: &str = "https://evil.example.test";

fn header<'a>(res: &'a Response, name: &str) -> Option<&'a str> {
    res.headers().get(name).map(|v| v.to_str().unwrap())
}

async fn preflight(app: &TestApp, path: &str, origin: &str, method: &str) -> Response {
    app.http
        .request(Method::OPTIONS, app.url(path))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn discovery_and_keys_are_readable_from_any_origin() {
    let app = TestApp::spawn().await;
    for path in ["/.well-known/openid-configuration", "/oidc/jwks"] {
        let res = app
            .http
            .get(app.url(path))
            .header("origin", EVIL)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&res, "access-control-allow-origin"), Some("*"));
        assert_eq!(header(&res, "access-control-allow-credentials"), None);
        let res = preflight(&app, path, EVIL, "GET").await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT, "{path}");
        assert_eq!(header(&res, "access-control-allow-origin"), Some("*"));
        assert_eq!(header(&res, "access-control-allow-methods"), Some("GET"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_registered_origins_read_token_answers() {
    let app = TestApp::spawn().await;
    let who = Visitor::sign_up(&app).await;
    let spa = add_client(&app, "Browser app", &format!("{SPA}/callback"), true);

    // Preflights: the registered origin is allowed, without credentials; another is not.
    for (path, method) in [
        ("/oidc/token", "POST"),
        ("/oidc/userinfo", "GET"),
        ("/oidc/revoke", "POST"),
    ] {
        let res = preflight(&app, path, SPA, method).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT, "{path}");
        assert_eq!(header(&res, "access-control-allow-origin"), Some(SPA));
        assert!(
            header(&res, "access-control-allow-methods").is_some_and(|m| m.contains(method)),
            "{path}"
        );
        assert!(
            header(&res, "access-control-allow-headers")
                .is_some_and(|h| h.contains("authorization")),
            "{path}"
        );
        assert_eq!(header(&res, "access-control-allow-credentials"), None);
        assert_eq!(header(&res, "vary"), Some("origin"));
        let res = preflight(&app, path, EVIL, method).await;
        assert_eq!(header(&res, "access-control-allow-origin"), None, "{path}");
        assert_eq!(header(&res, "access-control-allow-methods"), None, "{path}");
        // The same site on another port, or over http, is another origin.
        let res = preflight(&app, path, "http://spa.example.test", method).await;
        assert_eq!(header(&res, "access-control-allow-origin"), None, "{path}");
    }

    // The real exchange, as a browser app does it: its answer is readable by the app…
    let (code, pkce) = who.code(&app, &spa, "openid profile").await;
    let exchange = |origin: &'static str, code: String| {
        app.http
            .post(app.url("/oidc/token"))
            .header("origin", origin)
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &spa.redirect),
                ("code_verifier", &pkce.verifier),
                ("client_id", &spa.id),
            ])
            .send()
    };
    let res = exchange(SPA, code.clone()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "access-control-allow-origin"), Some(SPA));
    assert_eq!(header(&res, "access-control-allow-credentials"), None);
    let tokens: serde_json::Value = res.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    // …and so is an error (the code is used now), with no other site able to read either.
    let res = exchange(SPA, code.clone()).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(header(&res, "access-control-allow-origin"), Some(SPA));
    let res = exchange(EVIL, code).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(header(&res, "access-control-allow-origin"), None);

    // userinfo from the app, with the reason for a refusal readable.
    let res = app
        .http
        .get(app.url("/oidc/userinfo"))
        .header("origin", SPA)
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&res, "access-control-allow-origin"), Some(SPA));
    assert!(
        header(&res, "access-control-expose-headers")
            .is_some_and(|h| h.contains("www-authenticate"))
    );

    // Introspection is for resource servers, not browsers: no CORS at all.
    let res = app
        .http
        .post(app.url("/oidc/introspect"))
        .header("origin", SPA)
        .form(&[("token", access.as_str()), ("client_id", &spa.id)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(&res, "access-control-allow-origin"), None);
    let res = preflight(&app, "/oidc/introspect", SPA, "POST").await;
    assert_eq!(header(&res, "access-control-allow-origin"), None);
}
