//! `/signup`: make an account, keep the way the person was going (an app, a protected
//! site), and the sign-up's gate (issue 25): under `--sign-up invite` the page opens only
//! from an invitation link (`/signup?invite=…`) and says who the invitation binds; under
//! `closed` it says that accounts are not made here. A refused invitation says why and what
//! to do, never a bare error.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::PageContext;
use super::account::logged_in;
use super::csrf::CsrfForm;
use super::destination;
use crate::auth::{AuthError, SignUp};
use crate::domain::{InvitationRecord, SessionKind, SignUpMode};
use crate::http::AppState;
use crate::http::error::{WebError, form_error, message, sentence};
use crate::http::extract::{Client, WebSession};

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    username: &'a str,
    next: &'a str,
    next_query: String,
    to_name: Option<String>,
    username_error: Option<String>,
    password_error: Option<String>,
    /// The invitation's token, carried by the form.
    invite: &'a str,
    /// The usable invitation it names.
    invitation: Option<InvitationRecord>,
    /// Why no account can be made from this page (closed, no or a spent invitation).
    gate: Option<String>,
}

/// `?next=…&invite=…`.
#[derive(Deserialize, Default)]
pub struct SignupQuery {
    next: Option<String>,
    invite: Option<String>,
}

/// The sign-up form.
#[derive(Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
    #[serde(default)]
    invite: String,
}

/// What the page shows for this invitation token under the configured mode: the usable
/// invitation, or why the form is not offered.
async fn gate(
    state: &AppState,
    token: &str,
) -> Result<Result<Option<InvitationRecord>, AuthError>, WebError> {
    let invitations = state.auth.invitations();
    if token.is_empty() {
        return Ok(match invitations.mode() {
            SignUpMode::Open => Ok(None),
            SignUpMode::Invite => Err(AuthError::InvitationRequired(
                crate::auth::InvitationProblem::Missing,
            )),
            SignUpMode::Closed => Err(AuthError::SignUpClosed),
        });
    }
    match invitations.usable(token).await {
        Ok(r) => Ok(Ok(Some(r))),
        Err(e @ (AuthError::SignUpClosed | AuthError::InvitationRequired(_))) => Ok(Err(e)),
        Err(e) => Err(e.into()),
    }
}

/// `GET /signup`: from the login page an app or a protected site sent someone to, the
/// sign-up keeps that way and ends there.
pub async fn signup_page(
    State(state): State<AppState>,
    PageContext { csrf, session, .. }: PageContext<Option<WebSession>>,
    q: Result<Query<SignupQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, WebError> {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let next = destination(&state.web, q.next.as_deref());
    if session.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let token: String = q
        .invite
        .unwrap_or_default()
        .trim()
        .chars()
        .take(100)
        .collect();
    let (invitation, refused) = match gate(&state, &token).await? {
        Ok(i) => (i, None),
        Err(e) => (None, Some(e)),
    };
    let page = SignupPage {
        user: None,
        csrf,
        username: "",
        next: &next,
        next_query: super::next_query(&next),
        to_name: super::destination_name(&state, &next).await,
        username_error: None,
        password_error: None,
        invite: &token,
        invitation,
        gate: refused.as_ref().map(|e| sentence(&message(e))),
    };
    let html = Html(page.render()?);
    let mut res = match &refused {
        Some(e) => form_error(e, html),
        None => html.into_response(),
    };
    // The invitation's token is in this page's address: no request the page makes (its
    // script, the password-strength check, a link followed) carries it on in a `Referer`,
    // where a proxy's access log would keep it.
    if !token.is_empty() {
        res.headers_mut().insert(
            axum::http::header::REFERRER_POLICY,
            axum::http::HeaderValue::from_static("no-referrer"),
        );
    }
    Ok(res)
}

/// `POST /signup`: creates the account and logs the browser in.
pub async fn signup(
    State(state): State<AppState>,
    Client(client): Client,
    PageContext { csrf, .. }: PageContext,
    CsrfForm(form): CsrfForm<SignupForm>,
) -> Result<Response, WebError> {
    let next = destination(&state.web, form.next.as_deref());
    let token: String = form.invite.trim().chars().take(100).collect();
    let request = SignUp {
        username: &form.username,
        password: &form.password,
        invitation: Some(token.as_str()).filter(|t| !t.is_empty()),
        email: None,
    };
    let error = match state.auth.accounts().sign_up(&request, &client).await {
        Ok(account) => {
            let session = state
                .auth
                .accounts()
                .session_after_sign_up(&account, SessionKind::Web, &client)
                .await?;
            return Ok(logged_in(&state, &session, &next));
        }
        Err(
            e @ (AuthError::InvalidUsername(_)
            | AuthError::UsernameTaken
            | AuthError::WeakPassword(_)
            | AuthError::RateLimited { .. }
            | AuthError::Busy
            | AuthError::SignUpClosed
            | AuthError::InvitationRequired(_)),
        ) => e,
        Err(e) => return Err(e.into()),
    };
    let text = Some(sentence(&message(&error)));
    let gate_refusal = matches!(
        error,
        AuthError::SignUpClosed | AuthError::InvitationRequired(_)
    );
    let (username_error, password_error) = match &error {
        AuthError::WeakPassword(_) => (None, text.clone()),
        _ if gate_refusal => (None, None),
        _ => (text.clone(), None),
    };
    // The invitation's facts again, so the page says the same as before the mistake.
    let invitation = match (gate_refusal, gate(&state, &token).await?) {
        (false, Ok(i)) => i,
        _ => None,
    };
    let page = SignupPage {
        user: None,
        csrf,
        username: form.username.trim(),
        next: &next,
        next_query: super::next_query(&next),
        to_name: super::destination_name(&state, &next).await,
        username_error,
        password_error,
        invite: &token,
        invitation,
        gate: if gate_refusal { text } else { None },
    };
    Ok(form_error(&error, Html(page.render()?)))
}
