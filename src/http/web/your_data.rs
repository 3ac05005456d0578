//! Settings → Your account (issue 25): download everything Twofold keeps about the account
//! (the same JSON as `GET /api/v1/me/export`), and delete the account — a page of its own
//! that says what goes, asks for a recent password and, with 2FA on, a code from the
//! authentication app or a backup code, checked as `DELETE /api/v1/me` checks it.

use askama::Template;
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, SET_COOKIE};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::PageContext;
use super::csrf::CsrfForm;
use crate::auth::{AuthError, DeletionFactor, DeletionOutcome};
use crate::http::AppState;
use crate::http::error::{WebError, form_error, message};
use crate::http::extract::{Client, RecentWebSession, WebSession};

#[derive(Template)]
#[template(path = "settings_account.html")]
struct AccountPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    two_factor: bool,
    error: Option<String>,
}

async fn render(
    state: &AppState,
    s: &crate::auth::CurrentSession,
    csrf: String,
    error: Option<String>,
) -> Result<String, WebError> {
    let two_factor = state.auth.two_factor().two_factor_enabled(s).await?;
    Ok(AccountPage {
        user: Some(&s.username),
        csrf,
        two_factor,
        error,
    }
    .render()?)
}

/// `GET /settings/account` (a recent password: the page deletes).
pub async fn page(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: RecentWebSession(s),
        ..
    }: PageContext<RecentWebSession>,
) -> Result<Response, WebError> {
    Ok(Html(render(&state, &s, csrf, None).await?).into_response())
}

/// `GET /settings/account/export.json`: the download.
pub async fn export(
    State(state): State<AppState>,
    WebSession(s): WebSession,
) -> Result<Response, WebError> {
    let data = state.auth.accounts().export(&s).await?;
    Ok((
        [(
            CONTENT_DISPOSITION,
            "attachment; filename=\"twofold-data.json\"",
        )],
        axum::Json(data),
    )
        .into_response())
}

/// The deletion form (the code is never shown again).
#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    method: String,
    #[serde(default)]
    code: String,
}

/// `POST /settings/account/delete`.
pub async fn delete(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: RecentWebSession(s),
        ..
    }: PageContext<RecentWebSession>,
    Client(client): Client,
    CsrfForm(form): CsrfForm<DeleteForm>,
) -> Result<Response, WebError> {
    // The page asks for a code typed at once (the app's or a backup code); anything else is
    // a tampered form, answered like no code at all.
    let method = Some(form.method.as_str()).filter(|m| matches!(*m, "totp" | "backup_code"));
    let code = Some(form.code.trim()).filter(|c| !c.is_empty());
    let factor = DeletionFactor {
        method: method.filter(|_| code.is_some()),
        code,
        ..DeletionFactor::default()
    };
    match state
        .auth
        .console()
        .delete_own_account_with(&s, factor, &client)
        .await
    {
        Ok(DeletionOutcome::TwoFactorRequired { .. }) => {
            let said = "enter a code from your authentication app, or one of your backup codes";
            let page = Html(render(&state, &s, csrf, Some(said.to_owned())).await?);
            Ok((axum::http::StatusCode::FORBIDDEN, page).into_response())
        }
        Ok(DeletionOutcome::Deleted) => {
            let mut res = Redirect::to("/login?done=account_deleted").into_response();
            res.headers_mut()
                .append(SET_COOKIE, super::account::clear_session_cookie(&state));
            Ok(res)
        }
        Err(
            e @ (AuthError::InvalidCode(_)
            | AuthError::MalformedCode(_)
            | AuthError::InvalidMethod(_)
            | AuthError::Console(_)
            | AuthError::RateLimited { .. }
            | AuthError::ChallengeFailed),
        ) => {
            let said = match &e {
                AuthError::InvalidMethod(_) => {
                    "enter a code from your authentication app, or one of your backup codes"
                        .to_owned()
                }
                _ => message(&e),
            };
            let page = Html(render(&state, &s, csrf, Some(said)).await?);
            Ok(form_error(&e, page))
        }
        Err(e) => Err(e.into()),
    }
}
