//! Where a person goes once two-factor authentication is on, when an app sent them to turn
//! it on: a client registered with `--require-two-factor` only gets users who completed two
//! factors, so `/oidc/authorize` sends a user without them to
//! `/settings/two-factor?required=1&next=/oidc/authorize?…`.
//!
//! A protected site's access rule that wants two factors sends its users here the same way
//! (`next` is then that site's URL, from the forbidden page).
//!
//! The `next` lives in a short-lived cookie (it must survive the set-up pages, the code, and
//! the save-your-codes page) and is checked by [`super::destination`] both when it is set and
//! when it is followed, so it can only ever lead back onto this site or a protected one.
//! `GET /settings/two-factor/continue` follows it once and removes it.

use axum::extract::{FromRequestParts, State};
use axum::http::HeaderValue;
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::destination;
use crate::http::extract::{WebSession, cookie};
use crate::http::{AppState, set_cookie};

/// The cookie's name (path `/settings/two-factor`, so it travels only with the set-up pages).
const NAME: &str = "twofold_continue";
const PATH: &str = "/settings/two-factor";
/// Long enough to set up an app or wait for a text, short enough to be forgotten.
const MAX_AGE: i64 = 30 * 60;

/// `Set-Cookie` remembering `next`, when it is a path on this site or a protected site's
/// URL; with `next` as checked.
pub(crate) fn remember(state: &AppState, next: &str) -> Option<(HeaderValue, String)> {
    let next = destination(&state.web, Some(next));
    (next != "/").then(|| {
        let cookie = destination_cookie(state, NAME, PATH, &next, MAX_AGE);
        (cookie, next)
    })
}

/// `Set-Cookie` keeping a destination under `name` (base64url, so any URL fits); an empty
/// `next` with `max_age` 0 removes it. Shared with the recovery's way on.
pub(crate) fn destination_cookie(
    state: &AppState,
    name: &str,
    path: &str,
    next: &str,
    max_age: i64,
) -> HeaderValue {
    set_cookie(
        &state.web,
        name,
        &URL_SAFE_NO_PAD.encode(next),
        path,
        max_age,
    )
}

/// The destination kept in cookie `name`, checked again by [`destination`] as it is
/// followed; `None` when there is none or it leads home.
pub(crate) fn kept_destination(parts: &Parts, state: &AppState, name: &str) -> Option<String> {
    cookie(parts, name)
        .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .map(|n| destination(&state.web, Some(&n)))
        .filter(|n| n != "/")
}

/// Where the app that asked for two-factor authentication wants the person back, if one did.
pub struct ContinueTo(pub Option<String>);

impl FromRequestParts<AppState> for ContinueTo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ContinueTo(kept_destination(parts, state, NAME)))
    }
}

impl ContinueTo {
    /// Where "Done — I've saved them" leads.
    pub(crate) fn done_href(&self) -> &'static str {
        if self.0.is_some() {
            "/settings/two-factor/continue"
        } else {
            "/settings/security"
        }
    }
}

/// `GET /settings/two-factor/continue`: back to the app (once), or to the security settings.
pub async fn follow(
    State(state): State<AppState>,
    _: WebSession,
    ContinueTo(next): ContinueTo,
) -> Response {
    let to = next.unwrap_or_else(|| "/settings/security".to_owned());
    let clear = set_cookie(&state.web, NAME, "", PATH, 0);
    ([(SET_COOKIE, clear)], Redirect::to(&to)).into_response()
}
