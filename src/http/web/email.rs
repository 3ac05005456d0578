//! Settings → Email: the account's address for security notices and account recovery
//! ("Forgot password?"). Adding or changing it sends a 6-digit code to the new address;
//! adding and removing need a recent password confirmation, like the other sign-in settings.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{PageContext, kept_code};
use crate::auth::{AuthError, CurrentSession};
use crate::http::AppState;
use crate::http::error::{WebError, form_error, message, sentence};
use crate::http::extract::{Client, RecentWebSession, WebSession};
use crate::http::web::csrf::{CsrfForm, NoFields};

#[derive(Template)]
#[template(path = "email.html")]
struct EmailPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    confirmed: Option<String>,
    pending: Option<String>,
    notice: Option<&'static str>,
    /// The address field: what was typed, and what was wrong with it.
    typed_email: &'a str,
    email_error: Option<String>,
    /// The code field: what was kept, and what was wrong.
    typed_code: String,
    code_error: Option<String>,
}

/// `?done=…`.
#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

/// What the page shows besides the account's addresses.
#[derive(Default)]
struct Shown<'a> {
    notice: Option<&'static str>,
    typed_email: &'a str,
    email_error: Option<String>,
    typed_code: String,
    code_error: Option<String>,
}

async fn render(
    state: &AppState,
    s: &CurrentSession,
    csrf: String,
    shown: Shown<'_>,
) -> Result<String, WebError> {
    let st = state.auth.email().email_status(s).await?;
    Ok(EmailPage {
        user: Some(&s.username),
        csrf,
        confirmed: st.confirmed.map(|e| e.as_str().to_owned()),
        pending: st.pending.map(|e| e.as_str().to_owned()),
        notice: shown.notice,
        typed_email: shown.typed_email,
        email_error: shown.email_error,
        typed_code: shown.typed_code,
        code_error: shown.code_error,
    }
    .render()?)
}

/// `GET /settings/email`.
pub async fn page(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: WebSession(s),
        ..
    }: PageContext<WebSession>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, WebError> {
    let notice = match q.done.as_deref() {
        Some("sent") => Some("We sent a 6-digit code to the new address. Enter it below."),
        Some("confirmed") => Some("Your email address is confirmed. Security notices go to it."),
        Some("removed") => Some("The email address was removed."),
        _ => None,
    };
    let shown = Shown {
        notice,
        ..Shown::default()
    };
    Ok(Html(render(&state, &s, csrf, shown).await?).into_response())
}

/// The address form.
#[derive(Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    email: String,
}

/// `POST /settings/email`: sends a code to the address.
pub async fn start(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: RecentWebSession(s),
        ..
    }: PageContext<RecentWebSession>,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> Result<Response, WebError> {
    let error = match state.auth.email().start_email(&s, &form.email).await {
        Ok(_) => return Ok(Redirect::to("/settings/email?done=sent#code").into_response()),
        Err(
            e
            @ (AuthError::InvalidEmail(_) | AuthError::RateLimited { .. } | AuthError::MailFailed),
        ) => e,
        Err(e) => return Err(e.into()),
    };
    let shown = Shown {
        typed_email: form.email.trim(),
        email_error: Some(sentence(&message(&error))),
        ..Shown::default()
    };
    let page = render(&state, &s, csrf, shown).await?;
    Ok(form_error(&error, Html(page)))
}

/// The code form. (No `Debug`.)
#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// `POST /settings/email/confirm`.
pub async fn confirm(
    State(state): State<AppState>,
    Client(client): Client,
    PageContext {
        csrf,
        session: WebSession(s),
        ..
    }: PageContext<WebSession>,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<Response, WebError> {
    let error = match state
        .auth
        .email()
        .confirm_email(&s, &form.code, &client)
        .await
    {
        Ok(_) => return Ok(Redirect::to("/settings/email?done=confirmed").into_response()),
        Err(
            e @ (AuthError::InvalidCode(_)
            | AuthError::MalformedCode(_)
            | AuthError::NothingPending(_)),
        ) => e,
        Err(e) => return Err(e.into()),
    };
    let shown = Shown {
        typed_code: kept_code(&error, &form.code),
        code_error: Some(sentence(&message(&error))),
        ..Shown::default()
    };
    let page = render(&state, &s, csrf, shown).await?;
    Ok(form_error(&error, Html(page)))
}

/// `POST /settings/email/remove`.
pub async fn remove(
    State(state): State<AppState>,
    Client(client): Client,
    RecentWebSession(s): RecentWebSession,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, WebError> {
    state.auth.email().remove_email(&s, &client).await?;
    Ok((
        StatusCode::SEE_OTHER,
        [("location", "/settings/email?done=removed")],
    )
        .into_response())
}
