//! The short walk for a person whom an app or a protected site sent to turn two-factor
//! authentication on (`/settings/two-factor?required=1&next=…`, see [`super::continue_to`]):
//! one sentence of why, "Set up an authentication app" first, "Use text messages instead"
//! second, and where they'll go afterwards. Not the whole settings page.
//!
//! "Use text messages instead" is `GET /settings/two-factor/sms`: the phone form on its own,
//! said to be the weaker choice (NIST SP 800-63B's "restricted" authenticator: a texted
//! code can be intercepted).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::PageContext;
use super::continue_to::ContinueTo;
use crate::auth::CurrentSession;
use crate::http::AppState;
use crate::http::error::WebError;
use crate::http::extract::RecentWebSession;

#[derive(Template)]
#[template(path = "two_factor_required.html")]
struct WalkPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    /// The app's name or the site's host, when known.
    back_to: Option<String>,
}

#[derive(Template)]
#[template(path = "two_factor_sms.html")]
struct SmsPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    /// The phone field: what was typed, and what was wrong with it.
    phone_value: &'a str,
    phone_error: Option<String>,
    /// An app or site is waiting ([`super::continue_to`]): say where the person goes after.
    waiting: bool,
    back_to: Option<String>,
}

/// What to call the place `next` leads back to: the app's name for an OpenID Connect
/// request, a protected site's host, or `None` ("the page you asked for").
async fn back_to(state: &AppState, next: &str) -> Result<Option<String>, WebError> {
    if !next.starts_with('/') {
        return Ok(url::Url::parse(next)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned)));
    }
    let Some(query) = next.strip_prefix("/oidc/authorize?") else {
        return Ok(None);
    };
    let Some(id) = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "client_id")
        .map(|(_, v)| v.into_owned())
    else {
        return Ok(None);
    };
    Ok(state
        .oidc
        .clients()
        .list_clients()
        .await?
        .into_iter()
        .find(|c| c.client_id == id)
        .map(|c| c.name))
}

/// The walk, for `next` (already checked by [`super::destination`]).
pub(super) async fn walk(
    state: &AppState,
    s: &CurrentSession,
    csrf: String,
    next: &str,
) -> Result<Response, WebError> {
    let page = WalkPage {
        user: Some(&s.username),
        csrf,
        back_to: back_to(state, next).await?,
    };
    Ok(Html(page.render()?).into_response())
}

/// The text-message page: empty, or with what was typed and what was wrong with it.
pub(super) async fn sms_form(
    state: &AppState,
    s: &CurrentSession,
    (csrf, then): (String, &ContinueTo),
    (phone_value, phone_error): (&str, Option<String>),
    status: StatusCode,
) -> Result<Response, WebError> {
    let back_to = match &then.0 {
        Some(next) => back_to(state, next).await?,
        None => None,
    };
    let page = SmsPage {
        user: Some(&s.username),
        csrf,
        phone_value,
        phone_error,
        waiting: then.0.is_some(),
        back_to,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// `GET /settings/two-factor/sms`: "Use text messages instead".
pub async fn sms_page(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: RecentWebSession(s),
        ..
    }: PageContext<RecentWebSession>,
    then: ContinueTo,
) -> Result<Response, WebError> {
    sms_form(&state, &s, (csrf, &then), ("", None), StatusCode::OK).await
}
