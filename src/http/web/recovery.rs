//! "Forgot password?" pages: `/recover` (ask), `/recover/code` (a texted code),
//! `/recover/{token}` (the emailed link), `/recover/password` (the new password). The link's
//! token (or the token a right code is exchanged for) moves into an HttpOnly cookie scoped
//! to `/recover` at once, so it leaves the address bar and the history. With two-factor
//! authentication on, the new password leads to the login's own second-step pages, which
//! set it only with a right factor.

use askama::Template;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderValue, StatusCode, request::Parts};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::PageContext;
use super::account::logged_in;
use super::csrf::CsrfForm;
use super::login_two_factor::started;
use crate::auth::{AuthError, RecoveryProof};
use crate::http::error::{WebError, form_error, message, sentence};
use crate::http::extract::{Client, cookie};
use crate::http::{AppState, set_cookie};

#[derive(Template)]
#[template(path = "recover.html")]
struct AskPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    identifier: &'a str,
    notice: Option<String>,
    error: Option<String>,
    contact: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "recover_sent.html")]
struct SentPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    identifier: &'a str,
    error: Option<String>,
    typed: String,
}

#[derive(Template)]
#[template(path = "recover_password.html")]
struct PasswordPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    username: &'a str,
    two_factor: bool,
    error: Option<String>,
}

/// The cookie's life: the recovery's own.
const COOKIE_SECS: i64 = 30 * 60;

fn recovery_cookie(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    set_cookie(
        &state.web,
        state.web.cookies.recovery,
        value,
        "/recover",
        max_age,
    )
}

/// `?identifier=…` and `?next=…` (kept from the login page) and `?expired=1`.
#[derive(Deserialize, Default)]
pub struct AskQuery {
    identifier: Option<String>,
    expired: Option<String>,
    next: Option<String>,
}

/// Where the person was going when they chose "Forgot password?" (an app, a protected
/// site): kept in a cookie scoped to `/recover` beside the recovery's own, because the
/// emailed link opens a page with nothing else to carry it, and checked by `destination`
/// when it is set and when it is followed.
const NEXT_COOKIE: &str = "twofold_recover_next";

fn next_cookie(state: &AppState, next: &str, max_age: i64) -> HeaderValue {
    super::continue_to::destination_cookie(state, NEXT_COOKIE, "/recover", next, max_age)
}

/// The destination kept by [`NEXT_COOKIE`], if any.
pub struct RecoveryNext(Option<String>);

impl FromRequestParts<AppState> for RecoveryNext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let next = super::continue_to::kept_destination(parts, state, NEXT_COOKIE);
        Ok(Self(next))
    }
}

fn ask_page(
    state: &AppState,
    csrf: String,
    identifier: &str,
    notice: Option<String>,
    error: Option<&AuthError>,
) -> Result<Response, WebError> {
    let page = AskPage {
        user: None,
        csrf,
        identifier,
        notice,
        error: error.map(|e| sentence(&message(e))),
        contact: state.web.operator_contact.as_deref(),
    };
    let html = Html(page.render()?);
    Ok(match error {
        Some(e) => form_error(e, html),
        None => html.into_response(),
    })
}

fn expired_notice() -> String {
    sentence(&message(&AuthError::RecoveryInvalid))
}

/// `GET /recover`.
pub async fn ask(
    State(state): State<AppState>,
    PageContext { csrf, .. }: PageContext,
    Query(q): Query<AskQuery>,
) -> Result<Response, WebError> {
    let notice = q.expired.map(|_| expired_notice());
    let identifier = q.identifier.unwrap_or_default();
    let mut res = ask_page(&state, csrf, identifier.trim(), notice, None)?;
    let next = super::destination(&state.web, q.next.as_deref());
    if next != "/" {
        res.headers_mut()
            .append(SET_COOKIE, next_cookie(&state, &next, COOKIE_SECS));
    }
    Ok(res)
}

/// The ask form.
#[derive(Deserialize)]
pub struct AskForm {
    #[serde(default)]
    identifier: String,
}

/// `POST /recover`: the same page whether or not anything matched.
pub async fn request(
    State(state): State<AppState>,
    PageContext { csrf, .. }: PageContext,
    Client(client): Client,
    CsrfForm(form): CsrfForm<AskForm>,
) -> Result<Response, WebError> {
    let identifier = form.identifier.trim();
    match state
        .auth
        .recovery()
        .request_recovery(identifier, &client)
        .await
    {
        Ok(()) => {}
        Err(e @ (AuthError::MissingIdentifier | AuthError::RateLimited { .. })) => {
            return ask_page(&state, csrf, identifier, None, Some(&e));
        }
        Err(e) => return Err(e.into()),
    }
    let page = SentPage {
        user: None,
        csrf,
        identifier,
        error: None,
        typed: String::new(),
    };
    Ok(Html(page.render()?).into_response())
}

/// The code form. (No `Debug`: it holds a code.)
#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    identifier: String,
    #[serde(default)]
    code: String,
}

/// `POST /recover/code`: a right texted code becomes the recovery cookie.
pub async fn code(
    State(state): State<AppState>,
    PageContext { csrf, .. }: PageContext,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<Response, WebError> {
    let identifier = form.identifier.trim();
    let error = match state
        .auth
        .recovery()
        .exchange_recovery_code(identifier, &form.code)
        .await
    {
        Ok(token) => return Ok(to_password_page(&state, token.reveal())),
        Err(e @ (AuthError::InvalidCode(_) | AuthError::MalformedCode(_))) => e,
        Err(AuthError::RecoveryInvalid) => {
            return Ok(Redirect::to("/recover?expired=1").into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let page = SentPage {
        user: None,
        csrf,
        identifier,
        error: Some(sentence(&message(&error))),
        typed: super::kept_code(&error, &form.code),
    };
    Ok(form_error(&error, Html(page.render()?)))
}

/// Keeps the recovery's token in its cookie and goes to the new-password page.
fn to_password_page(state: &AppState, token: &str) -> Response {
    let mut res = Redirect::to("/recover/password").into_response();
    res.headers_mut()
        .append(SET_COOKIE, recovery_cookie(state, token, COOKIE_SECS));
    res
}

/// `GET /recover/{token}`: the emailed link. Nothing is used up here (mail scanners open
/// links too); a dead link says so and offers a new one.
pub async fn link(
    State(state): State<AppState>,
    PageContext { csrf, .. }: PageContext,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    match state
        .auth
        .recovery()
        .recovery_view(RecoveryProof::Token(&token))
        .await
    {
        Ok(_) => Ok(to_password_page(&state, &token)),
        Err(AuthError::RecoveryInvalid) => {
            let mut res = ask_page(&state, csrf, "", Some(expired_notice()), None)?;
            *res.status_mut() = StatusCode::GONE;
            Ok(res)
        }
        Err(e) => Err(e.into()),
    }
}

/// The gate of the new-password page: the recovery cookie's token. Without one, back to
/// `/recover`, told why.
pub struct LiveRecovery(String);

impl FromRequestParts<AppState> for LiveRecovery {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        cookie(parts, state.web.cookies.recovery)
            .filter(|t| !t.is_empty())
            .map(|t| Self(t.to_owned()))
            .ok_or_else(|| gone(state))
    }
}

fn gone(state: &AppState) -> Response {
    let mut res = Redirect::to("/recover?expired=1").into_response();
    res.headers_mut()
        .append(SET_COOKIE, recovery_cookie(state, "", 0));
    res
}

/// `GET /recover/password`.
pub async fn password_page(
    State(state): State<AppState>,
    PageContext { csrf, .. }: PageContext,
    LiveRecovery(token): LiveRecovery,
) -> Result<Response, WebError> {
    let view = match state
        .auth
        .recovery()
        .recovery_view(RecoveryProof::Token(&token))
        .await
    {
        Ok(v) => v,
        Err(AuthError::RecoveryInvalid) => return Ok(gone(&state)),
        Err(e) => return Err(e.into()),
    };
    let page = PasswordPage {
        user: None,
        csrf,
        username: &view.username,
        two_factor: view.two_factor,
        error: None,
    };
    Ok(Html(page.render()?).into_response())
}

/// The new-password form. (No `Debug`: it holds a password.)
#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    new_password: String,
}

/// `POST /recover/password`: sets the password (no 2FA), or goes on to the second step.
pub async fn set_password(
    State(state): State<AppState>,
    PageContext { csrf, .. }: PageContext,
    LiveRecovery(token): LiveRecovery,
    Client(client): Client,
    next: RecoveryNext,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<Response, WebError> {
    let error = match state
        .auth
        .recovery()
        .recover_on_pages(&token, &form.new_password, &client)
        .await
    {
        Ok(Ok(session)) => {
            let mut res = logged_in(
                &state,
                &session,
                next.0.as_deref().unwrap_or("/?recovered=1"),
            );
            res.headers_mut()
                .append(SET_COOKIE, recovery_cookie(&state, "", 0));
            res.headers_mut()
                .append(SET_COOKIE, next_cookie(&state, "", 0));
            return Ok(res);
        }
        Ok(Err(challenge)) => {
            // The second step carries the destination on (its pages keep `next`).
            let mut res = started(&state, &challenge, next.0.as_deref().unwrap_or("/"));
            res.headers_mut()
                .append(SET_COOKIE, next_cookie(&state, "", 0));
            return Ok(res);
        }
        Err(AuthError::RecoveryInvalid) => return Ok(gone(&state)),
        Err(
            e @ (AuthError::WeakPassword(_) | AuthError::Busy | AuthError::RecoveryPasswordChosen),
        ) => e,
        Err(e) => return Err(e.into()),
    };
    let view = match state
        .auth
        .recovery()
        .recovery_view(RecoveryProof::Token(&token))
        .await
    {
        Ok(v) => v,
        Err(_) => return Ok(gone(&state)),
    };
    let page = PasswordPage {
        user: None,
        csrf,
        username: &view.username,
        two_factor: view.two_factor,
        error: Some(sentence(&message(&error))),
    };
    Ok(form_error(&error, Html(page.render()?)))
}
