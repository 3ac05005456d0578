//! CORS (the Fetch standard's CORS protocol) for apps that run in the browser (SPAs, public
//! clients): discovery and the JWKS are public, so any origin may read them; the token,
//! userinfo and revocation endpoints answer only origins of redirect URIs registered for
//! some client (`oidc.clients().cors_origin_allowed`). Never
//! `Access-Control-Allow-Credentials`: these endpoints take no cookies, and a browser then
//! sends none.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http::AppState;

/// How long a browser may keep a preflight's answer.
const PREFLIGHT_MAX_AGE: &str = "600";

/// The request headers a browser may send: `Authorization` (Basic client authentication,
/// a Bearer token) and `Content-Type`.
const ALLOWED_HEADERS: &str = "authorization, content-type";

fn is_preflight(req: &Request) -> bool {
    req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

fn allow(headers: &mut HeaderMap, origin: HeaderValue, methods: &'static str, preflight: bool) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    if preflight {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(methods),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOWED_HEADERS),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(PREFLIGHT_MAX_AGE),
        );
    } else {
        // So that an app can read why a Bearer token or its client authentication failed.
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("www-authenticate"),
        );
    }
}

/// `OPTIONS` on these endpoints: the middleware answers a preflight; anything else that
/// arrives here is an `OPTIONS` without `Access-Control-Request-Method`, answered alike.
pub async fn preflight() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// Middleware for discovery and the JWKS: any origin may read them (`*`).
pub async fn public(req: Request, next: Next) -> Response {
    let preflight = is_preflight(&req);
    let mut res = if preflight {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(req).await
    };
    allow(
        res.headers_mut(),
        HeaderValue::from_static("*"),
        "GET",
        preflight,
    );
    res
}

/// Middleware for the token, userinfo and revocation endpoints: the request's `Origin` is
/// allowed only when it is a registered redirect URI's origin. `methods` is what the
/// endpoint takes.
pub async fn for_clients(
    State((state, methods)): State<(AppState, &'static str)>,
    req: Request,
    next: Next,
) -> Response {
    let preflight = is_preflight(&req);
    let origin = req.headers().get(header::ORIGIN).cloned();
    let allowed = match origin.as_ref().and_then(|o| o.to_str().ok()) {
        Some(o) => match state.oidc.clients().cors_origin_allowed(o).await {
            Ok(allowed) => allowed,
            Err(e) => {
                tracing::warn!(error = %e, "could not check a CORS origin; it is not allowed");
                false
            }
        },
        None => false,
    };
    // A preflight is answered here, allowed or not (a refused one carries no CORS headers,
    // so the browser sends nothing); the endpoint itself never sees it.
    let mut res = if preflight {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(req).await
    };
    // The answer depends on the Origin: caches must keep them apart.
    res.headers_mut()
        .append(header::VARY, HeaderValue::from_static("origin"));
    if let (true, Some(origin)) = (allowed, origin) {
        allow(res.headers_mut(), origin, methods, preflight);
    }
    res
}
