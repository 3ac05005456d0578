//! Settings → Security: change password, where you're logged in, login activity; and the
//! "Confirm your password" page that opens the recent-authentication window.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::PageContext;
use super::account::{clear_session_cookie, session_cookie};
use super::csrf::{CsrfForm, NoFields};
use super::safe_next;
use crate::auth::{AuthError, CurrentSession};
use crate::domain::{EventKind, describe_user_agent};
use crate::http::AppState;
use crate::http::error::{WebError, form_error, message, sentence};
use crate::http::extract::{Client, RecentWebSession, WebSession};

struct SessionView {
    id: String,
    device: String,
    kind: &'static str,
    ip: Option<String>,
    last_seen: String,
    created: String,
    current: bool,
}

struct EventView {
    what: String,
    when: String,
    device: String,
    ip: Option<String>,
}

#[derive(Template)]
#[template(path = "security.html")]
struct SecurityPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    username: &'a str,
    /// What was just done, and the section it is shown in (the one the page opens at, so
    /// the notice is in view): `password`, `sessions`.
    notice: Option<(&'static str, &'static str)>,
    sessions: Vec<SessionView>,
    events: Vec<EventView>,
    current_error: Option<String>,
    new_error: Option<String>,
    two_factor: bool,
}

#[derive(Template)]
#[template(path = "reauth.html")]
struct ReauthPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    next: &'a str,
    minutes: i64,
    error: Option<String>,
}

/// `?done=…` after a change.
#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

/// The password-change form. (No `Debug`.)
#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

/// The confirm-password form. (No `Debug`.)
#[derive(Deserialize)]
pub struct ReauthForm {
    #[serde(default)]
    password: String,
    next: Option<String>,
}

/// `?next=…` for the confirm-password page.
#[derive(Deserialize, Default)]
pub struct NextQuery {
    next: Option<String>,
}

async fn render(
    state: &AppState,
    s: &CurrentSession,
    csrf: String,
    notice: Option<(&'static str, &'static str)>,
    errors: (Option<String>, Option<String>),
    status: StatusCode,
) -> Result<Response, WebError> {
    let sessions = state
        .auth
        .sessions()
        .list(s)
        .await?
        .into_iter()
        .map(|r| SessionView {
            current: r.id == s.session_id,
            id: r.id.to_string(),
            device: describe_user_agent(r.user_agent.as_deref()),
            kind: r.kind.describe(),
            ip: r.ip,
            last_seen: r.last_seen_at.human(),
            created: r.created_at.human(),
        })
        .collect();
    let events = state
        .auth
        .sessions()
        .activity(s, 50)
        .await?
        .into_iter()
        .map(|e| EventView {
            what: match &e.detail {
                Some(d) if e.kind == "login_failed" || e.kind == "session_revoked" => {
                    format!("{} ({d})", EventKind::describe(&e.kind))
                }
                _ => EventKind::describe(&e.kind).to_owned(),
            },
            when: e.at.human(),
            device: describe_user_agent(e.user_agent.as_deref()),
            ip: e.ip,
        })
        .collect();
    let page = SecurityPage {
        user: Some(&s.username),
        csrf,
        username: &s.username,
        notice,
        sessions,
        events,
        current_error: errors.0,
        new_error: errors.1,
        two_factor: state.auth.two_factor().two_factor_enabled(s).await?,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// `GET /settings/security`.
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
        Some("password") => Some((
            "password",
            "Your password was changed. You've been logged out everywhere else.",
        )),
        Some("session") => Some(("sessions", "That session was logged out.")),
        Some("others") => Some(("sessions", "You're logged out everywhere else.")),
        _ => None,
    };
    render(&state, &s, csrf, notice, (None, None), StatusCode::OK).await
}

/// `POST /settings/security/password`.
pub async fn change_password(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: WebSession(s),
        ..
    }: PageContext<WebSession>,
    Client(client): Client,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<Response, WebError> {
    let error = match state
        .auth
        .accounts()
        .change_password(&s, &form.current_password, &form.new_password, &client)
        .await
    {
        Ok(()) => {
            return Ok(Redirect::to("/settings/security?done=password#password").into_response());
        }
        Err(
            e @ (AuthError::InvalidCredentials
            | AuthError::RateLimited { .. }
            | AuthError::LoginBlocked
            | AuthError::CredentialChanged
            | AuthError::Busy
            | AuthError::WeakPassword(_)),
        ) => e,
        Err(e) => return Err(e.into()),
    };
    let errors = match &error {
        AuthError::InvalidCredentials => (
            Some("That isn't your current password. Check it and try again.".to_owned()),
            None,
        ),
        AuthError::WeakPassword(_) => (None, Some(sentence(&message(&error)))),
        other => (Some(sentence(&message(other))), None),
    };
    let page = render(&state, &s, csrf, None, errors, StatusCode::OK).await?;
    Ok(form_error(&error, page))
}

/// `POST /settings/security/sessions/{id}/logout`.
pub async fn end_session(
    State(state): State<AppState>,
    WebSession(s): WebSession,
    Client(client): Client,
    Path(id): Path<String>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, WebError> {
    match state.auth.sessions().revoke_session(&s, &id, &client).await {
        Ok(()) if id == s.session_id.as_str() => {
            let mut res = Redirect::to("/login?done=logged_out").into_response();
            res.headers_mut()
                .append(SET_COOKIE, clear_session_cookie(&state));
            Ok(res)
        }
        Ok(()) => Ok(Redirect::to("/settings/security?done=session#sessions").into_response()),
        Err(AuthError::NotFound) => Ok(Redirect::to("/settings/security#sessions").into_response()),
        Err(e) => Err(e.into()),
    }
}

/// `POST /settings/security/sessions/logout-others`: "Log out of all other sessions"
/// (needs a recent password confirmation).
pub async fn end_other_sessions(
    State(state): State<AppState>,
    RecentWebSession(s): RecentWebSession,
    Client(client): Client,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, WebError> {
    state.auth.sessions().log_out_others(&s, &client).await?;
    Ok(Redirect::to("/settings/security?done=others#sessions").into_response())
}

/// `GET /reauth?next=…`: "Confirm your password".
pub async fn reauth_page(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: WebSession(s),
        ..
    }: PageContext<WebSession>,
    Query(q): Query<NextQuery>,
) -> Result<Response, WebError> {
    let next = safe_next(q.next.as_deref());
    let page = ReauthPage {
        user: Some(&s.username),
        csrf,
        next: &next,
        minutes: (state.auth.policy().recent_auth_secs + 59) / 60,
        error: None,
    };
    Ok(Html(page.render()?).into_response())
}

/// `POST /reauth`.
pub async fn reauth(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: WebSession(s),
        ..
    }: PageContext<WebSession>,
    Client(client): Client,
    CsrfForm(form): CsrfForm<ReauthForm>,
) -> Result<Response, WebError> {
    let next = safe_next(form.next.as_deref());
    let error = match state
        .auth
        .sessions()
        .reauthenticate(&s, &form.password, &client)
        .await
    {
        Ok(done) => {
            let mut res = Redirect::to(&next).into_response();
            if let Some(token) = done.token {
                res.headers_mut()
                    .append(SET_COOKIE, session_cookie(&state, token.reveal()));
            }
            return Ok(res);
        }
        Err(
            e @ (AuthError::InvalidCredentials
            | AuthError::RateLimited { .. }
            | AuthError::LoginBlocked
            | AuthError::Busy),
        ) => e,
        Err(e) => return Err(e.into()),
    };
    let message = match &error {
        AuthError::InvalidCredentials => {
            "That isn't your password. Check it and try again.".to_owned()
        }
        other => sentence(&message(other)),
    };
    let page = ReauthPage {
        user: Some(&s.username),
        csrf,
        next: &next,
        minutes: (state.auth.policy().recent_auth_secs + 59) / 60,
        error: Some(message),
    };
    Ok(form_error(&error, Html(page.render()?)))
}
