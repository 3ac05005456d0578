//! [`PageContext`]: what every page handler takes from the request besides its form — the
//! CSRF token for the page's forms, the session the page is gated by (`http::extract`), and
//! the address the browser knows this Twofold by.
//!
//! Owns: putting the token and the gate together, so a handler never reads the CSRF cookie
//! or computes a token itself. Must not: decide who may see a page (the session extractors
//! in `http::extract` do) or check a posted token (`CsrfForm` does).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::csrf;
use crate::http::AppState;
use crate::http::extract::Site;

/// The CSRF token for this browser's forms, and the gate `S` the page stands behind:
///
/// - `()` (the default): anyone — sign-up, login, the second step of a login;
/// - `Option<WebSession>`: anyone, with the session when there is one (home, logout);
/// - `WebSession`: a logged-in browser, or a redirect to `/login`;
/// - `RecentWebSession`: a password confirmed recently, or a redirect to "Confirm your
///   password".
///
/// The gate runs first, so a page that turns the request away never computes a token.
pub struct PageContext<S = ()> {
    /// The value for the `csrf` field of every form on the page.
    pub csrf: String,
    /// The gate's result.
    pub session: S,
    /// This Twofold's address as the person knows it (for the backup-code sheets).
    pub site: Site,
}

impl<S> FromRequestParts<AppState> for PageContext<S>
where
    S: FromRequestParts<AppState> + Send,
{
    type Rejection = S::Rejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = S::from_request_parts(parts, state).await?;
        let Ok(site) = Site::from_request_parts(parts, state).await;
        Ok(Self {
            csrf: csrf::form_token(state, &csrf::cookie_of(parts)),
            session,
            site,
        })
    }
}
