//! CSRF protection for every form: a signed double-submit token.
//!
//! Each browser gets a random `twofold_csrf` cookie (HttpOnly, SameSite=Lax); every form
//! carries `csrf = HMAC-SHA-256(csrf key, cookie)`. A cross-site page can neither read the
//! cookie nor compute the MAC, and the comparison is constant-time (OWASP ASVS 4.0.3 V4.2.2).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderValue, request::Parts};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use crate::http::AppState;
use crate::http::error::WebError;
use crate::http::extract::cookie;

/// The browser's CSRF cookie value, put into request extensions by `ensure_cookie`.
#[derive(Clone, Debug)]
pub struct CsrfCookie(String);

/// The token to put in this browser's forms (pages get it from [`super::PageContext`]).
pub(super) fn form_token(state: &AppState, parts_cookie: &CsrfCookie) -> String {
    hex::encode(state.keys.csrf_mac(parts_cookie.0.as_bytes()))
}

/// The CSRF cookie of a request (always present behind [`ensure_cookie`]).
pub(super) fn cookie_of(parts: &Parts) -> CsrfCookie {
    parts
        .extensions
        .get::<CsrfCookie>()
        .cloned()
        .unwrap_or(CsrfCookie(String::new()))
}

/// Middleware: makes sure the browser has a CSRF cookie, setting one when it is missing.
pub async fn ensure_cookie(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let existing = cookie(&parts, state.web.cookies.csrf)
        .filter(|v| {
            v.len() == 43
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_owned);
    req = Request::from_parts(parts, body);
    let fresh = existing.is_none();
    let value =
        existing.unwrap_or_else(|| URL_SAFE_NO_PAD.encode(crate::domain::random_bytes::<32>()));
    req.extensions_mut().insert(CsrfCookie(value.clone()));
    let mut res = next.run(req).await;
    if fresh {
        let secure = if state.web.secure_cookies {
            "; Secure"
        } else {
            ""
        };
        let c = format!(
            "{}={value}; Path=/; HttpOnly; SameSite=Lax{secure}",
            state.web.cookies.csrf
        );
        if let Ok(v) = HeaderValue::from_str(&c) {
            res.headers_mut().append(SET_COOKIE, v);
        }
    }
    res
}

/// A form whose `csrf` field matched this browser's cookie; `T` is the rest of the form.
pub struct CsrfForm<T>(pub T);

/// A form with nothing but its CSRF token (logout, "Log out this session").
#[derive(serde::Deserialize)]
pub struct NoFields {}

#[derive(serde::Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (bytes, checked) = read_form(req, state).await?;
        if !checked {
            tracing::warn!("a form was refused: its CSRF token did not match the browser's cookie");
            return Err(WebError::csrf());
        }
        serde_urlencoded::from_bytes(&bytes)
            .map(CsrfForm)
            .map_err(|_| unreadable())
    }
}

/// A form that may or may not carry the browser's CSRF token, with whether it did: for
/// `POST /oidc/authorize`, which is both an app's authorization request sent by POST (OIDC
/// Core §3.1.2.1: no token, and no more power than the same request by GET) and the consent
/// page's answer (which must carry it).
pub struct MaybeCsrfForm {
    /// The fields, in order.
    pub pairs: Vec<(String, String)>,
    /// Whether it carried the browser's CSRF token.
    pub checked: bool,
}

impl FromRequest<AppState> for MaybeCsrfForm {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (bytes, checked) = read_form(req, state).await?;
        let pairs = serde_urlencoded::from_bytes(&bytes).map_err(|_| unreadable())?;
        Ok(Self { pairs, checked })
    }
}

/// A form's bytes, and whether its `csrf` field matches the browser's cookie.
async fn read_form(req: Request, state: &AppState) -> Result<(Bytes, bool), WebError> {
    let (parts, body) = req.into_parts();
    let expected = form_token(state, &cookie_of(&parts));
    let is_form = parts
        .headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(unreadable());
    }
    let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
        .await
        .map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                WebError::form_too_large()
            } else {
                unreadable()
            }
        })?;
    // Invalid UTF-8 is decoded lossily by the form parser, never a panic or a 500.
    let CsrfField { csrf } = serde_urlencoded::from_bytes(&bytes).map_err(|_| unreadable())?;
    let checked = !csrf.is_empty() && bool::from(csrf.as_bytes().ct_eq(expected.as_bytes()));
    Ok((bytes, checked))
}

fn unreadable() -> WebError {
    WebError::form_unreadable()
}
