//! HTTP: the router, shared state, extractors, the JSON API and the web pages.
//!
//! Owns: turning requests into auth calls and results into responses.
//! Must not: write SQL or decide security policy (that is `auth`'s).

pub mod api;
pub mod authz;
pub mod error;
pub mod extract;
pub mod images;
pub mod metrics;
pub(crate) mod moving_on;
pub mod oidc;
pub mod request_id;
pub(crate) mod scopes;
pub mod sheet;
pub mod web;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::auth::Auth;
use crate::crypto::Keys;
use error::{ApiError, WebError};

/// The largest request body accepted (`413 payload_too_large` above it).
pub const BODY_LIMIT: usize = 64 * 1024;

/// The names of the cookies. Over HTTPS they carry the `__Host-` prefix (or `__Secure-` for
/// the ones scoped to `/login` and `/recover`), which browsers honour only for `Secure`
/// cookies set by this very host with no `Domain`: a sibling subdomain cannot plant or
/// overwrite them. With a `--cookie-domain` the session cookie must carry `Domain`, so it
/// is `__Secure-` (still `Secure`-only); the others stay on this host.
#[derive(Clone, Copy, Debug)]
pub struct CookieNames {
    /// The web session.
    pub session: &'static str,
    /// The CSRF double-submit cookie.
    pub csrf: &'static str,
    /// The login challenge (second step).
    pub challenge: &'static str,
    /// The device cookie of a browser that logged in before.
    pub device: &'static str,
    /// A password reset in progress ("Forgot password?").
    pub recovery: &'static str,
}

impl CookieNames {
    /// The names for a deployment with or without `Secure` cookies, and with the session
    /// cookie on this host only or `shared` with a cookie domain.
    pub fn new(secure: bool, shared: bool) -> Self {
        if secure {
            Self {
                session: if shared {
                    "__Secure-twofold_session"
                } else {
                    "__Host-twofold_session"
                },
                csrf: "__Host-twofold_csrf",
                challenge: "__Secure-twofold_challenge",
                device: "__Host-twofold_device",
                recovery: "__Secure-twofold_recovery",
            }
        } else {
            Self {
                session: "twofold_session",
                csrf: "twofold_csrf",
                challenge: "twofold_challenge",
                device: "twofold_device",
                recovery: "twofold_recovery",
            }
        }
    }
}

/// `Set-Cookie` for one of Twofold's cookies: always `HttpOnly; SameSite=Lax`, `Secure`
/// when served over https, scoped to `path`; `max_age = 0` removes it. The session cookie
/// also carries `Domain` when a cookie domain is set (removing it then needs the same
/// `Domain`, which is why this is the one place the attributes are written).
pub(crate) fn set_cookie(
    web: &WebSettings,
    name: &str,
    value: &str,
    path: &str,
    max_age: i64,
) -> HeaderValue {
    let secure = if web.secure_cookies { "; Secure" } else { "" };
    let domain = match &web.cookie_domain {
        Some(d) if name == web.cookies.session => format!("; Domain={d}"),
        _ => String::new(),
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}{domain}; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// What the web layer needs to know about how it is deployed.
#[derive(Clone, Debug)]
pub struct WebSettings {
    /// Mark cookies `Secure` (served over HTTPS, directly or behind a proxy).
    pub secure_cookies: bool,
    /// Trust `X-Forwarded-For` — from `trusted_proxies` only.
    pub behind_proxy: bool,
    /// The peers whose forwarded headers are believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Send `Strict-Transport-Security` (the public URL is https).
    pub hsts: bool,
    /// Every request is answered within this time (`408` otherwise).
    pub request_timeout: Duration,
    /// Lifetime of the session cookie, in seconds.
    pub session_cookie_secs: i64,
    /// Cookie names.
    pub cookies: CookieNames,
    /// Who people who lost every factor should contact.
    pub operator_contact: Option<String>,
    /// `--public-url`, without a trailing `/`: the address printed on backup-code sheets
    /// (without it, the `Host` the browser used).
    pub public_url: Option<String>,
    /// `--cookie-domain`: the session cookie covers it, and `rd` may lead to any host under it.
    pub cookie_domain: Option<String>,
    /// Serve `/metrics` on the main listener (no `--metrics-listen`).
    pub metrics_on_main: bool,
}

/// Shared state of every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The use cases.
    pub auth: Auth,
    /// The OpenID Connect provider.
    pub oidc: crate::auth::oidc::Oidc,
    /// Derived keys (CSRF).
    pub keys: Arc<Keys>,
    /// Deployment settings.
    pub web: Arc<WebSettings>,
    /// Forward authentication's access rules.
    pub access: crate::auth::Access,
}

/// Builds the whole application: API, pages, assets, health, and the layers around them.
pub fn router(state: AppState) -> Router {
    let hsts = state.web.hsts;
    let timeout = state.web.request_timeout;
    let counted = state.auth.metrics().clone();
    let web = Arc::clone(&state.web);
    let app = if state.web.metrics_on_main {
        metrics::routes()
    } else {
        Router::new()
    };
    let app = app
        .merge(api::router())
        .merge(web::router(state.clone()))
        .merge(oidc::router(state.clone()))
        .merge(authz::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            extract::admin_gate,
        ))
        .layer(axum::middleware::from_fn(metrics::note_route))
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // A request that takes too long (a body trickled in, say) is answered 408 and its
        // connection freed (OWASP ASVS 4.0.3 V11.1.4 on resource exhaustion).
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ));
    // HSTS only when users reach Twofold over https (OWASP ASVS 4.0.3 V14.4.5); over plain
    // http it would be ignored, and wrong.
    let app = if hsts {
        app.layer(header_layer(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000",
        ))
    } else {
        app
    };
    app.layer(header_layer(
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    ))
        .layer(header_layer(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header_layer(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header_layer(header::REFERRER_POLICY, "same-origin"))
        .layer(header_layer(header::CACHE_CONTROL, "no-store"))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a handler panicked");
            (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(serde_json::json!({
                "error": {"code": "internal_error", "message": "something went wrong on our side; try again in a moment"}
            })))
                .into_response()
        }))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    // Path only: query strings and headers (cookies, tokens) are never logged.
                    let id = req
                        .extensions()
                        .get::<request_id::RequestId>()
                        .map_or("", |r| r.0.as_str());
                    tracing::info_span!("request", request_id = %id, method = %req.method(), path = %loggable_path(req.uri().path()))
                })
                .on_request(())
                .on_response(|res: &Response, latency: Duration, _span: &tracing::Span| {
                    tracing::info!(status = res.status().as_u16(), ms = latency.as_millis() as u64, "served");
                }),
        )
        // Outside the others, so a request cut off by the time limit or a panic is timed.
        .layer(axum::middleware::from_fn_with_state(
            counted,
            metrics::time_request,
        ))
        // Outside the trace layer, so the request's span carries its id.
        .layer(axum::middleware::from_fn_with_state(web, request_id::assign))
}

/// The path as it may be logged: a password-reset link carries its token in the path
/// (`/recover/{token}`, as mail clients need it), so that part is left out.
fn loggable_path(path: &str) -> &str {
    match path.strip_prefix("/recover/") {
        Some("code" | "password") | None => path,
        Some(_) => "/recover/…",
    }
}

/// Sets a response header unless the handler set it already.
fn header_layer(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

async fn not_found(req: Request) -> Response {
    if is_api(&req) {
        ApiError::no_route().into_response()
    } else {
        WebError::not_found().into_response()
    }
}

async fn method_not_allowed(req: Request) -> Response {
    if is_api(&req) {
        ApiError::method_not_allowed().into_response()
    } else {
        WebError::page_method_not_allowed().into_response()
    }
}

fn is_api(req: &Request) -> bool {
    req.uri().path().starts_with("/api/")
}
