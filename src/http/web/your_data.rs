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
use crate::http::error::{WebError, form_error, message, passkey_page_message, sentence};
use crate::http::extract::{Client, RecentWebSession, WebSession};

#[derive(Template)]
#[template(path = "settings_account.html")]
struct AccountPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    two_factor: bool,
    has_app: bool,
    has_phone: bool,
    has_passkey: bool,
    error: Option<String>,
    step: Step,
}

/// Where the deletion's second factor stands on the page.
#[derive(Default)]
struct Step {
    /// `sms` or `webauthn` once asked for: the deletion's challenge rides in the form.
    method: String,
    challenge: String,
    /// The masked number a code was texted to.
    sms_sent_to: Option<String>,
    /// The passkey's options (JSON) for `assets/passkeys.js`.
    options: Option<String>,
}

async fn render(
    state: &AppState,
    s: &crate::auth::CurrentSession,
    csrf: String,
    error: Option<String>,
    step: Step,
) -> Result<String, WebError> {
    let status = state.auth.two_factor().two_factor_status(s).await?;
    let has_passkey = status.enabled && state.auth.passkeys().count(s).await? > 0;
    Ok(AccountPage {
        user: Some(&s.username),
        csrf,
        two_factor: status.enabled,
        has_app: status.totp_added_at.is_some(),
        has_phone: status.phone.is_some(),
        has_passkey,
        error,
        step,
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
    let page = render(&state, &s, csrf, None, Step::default()).await?;
    Ok(Html(page).into_response())
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
    #[serde(default)]
    challenge: String,
    #[serde(default)]
    credential: String,
}

/// `POST /settings/account/delete`: with a code typed at once, or — for a texted code or a
/// passkey — first the method alone (the page comes back with the code sent or the
/// passkey's request), then the answer with the deletion's challenge.
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
    let method = Some(form.method.as_str()).filter(|m| !m.is_empty());
    let code = Some(form.code.trim()).filter(|c| !c.is_empty());
    let challenge = Some(form.challenge.trim()).filter(|c| !c.is_empty());
    let credential = (!form.credential.is_empty())
        .then(|| super::passkeys::credential_of(&form.credential))
        .transpose();
    let asked = (
        form.method.clone(),
        challenge.unwrap_or_default().to_owned(),
    );
    let result = match credential {
        Ok(credential) => {
            let factor = DeletionFactor {
                method,
                code,
                credential: credential.as_ref(),
                challenge,
            };
            state
                .auth
                .console()
                .delete_own_account_with(&s, factor, &client)
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(DeletionOutcome::TwoFactorRequired {
            challenge,
            sms_sent_to,
            public_key,
            ..
        }) => {
            let step = Step {
                method: if challenge.is_some() {
                    form.method
                } else {
                    String::new()
                },
                challenge: challenge.map(|t| t.reveal().to_owned()).unwrap_or_default(),
                sms_sent_to,
                options: public_key.map(|o| o.to_string()),
            };
            let said = (step.method.is_empty()).then(|| {
                "Enter a code from your authentication app or a backup code, or choose another way below.".to_owned()
            });
            let status = if said.is_some() {
                axum::http::StatusCode::FORBIDDEN
            } else {
                axum::http::StatusCode::OK
            };
            let page = render(&state, &s, csrf, said, step).await?;
            Ok((status, Html(page)).into_response())
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
            | AuthError::InvalidCredential(_)
            | AuthError::Console(_)
            | AuthError::RateLimited { .. }
            | AuthError::SmsFailed
            | AuthError::ChallengeExpired
            | AuthError::ChallengeMissing
            | AuthError::ChallengeFailed),
        ) => refused(&state, &s, csrf, &e, asked).await,
        Err(e) => Err(e.into()),
    }
}

/// A deletion refused: the page again, saying why; a wrong texted code keeps its step, so
/// the person types the code again.
async fn refused(
    state: &AppState,
    s: &crate::auth::CurrentSession,
    csrf: String,
    e: &AuthError,
    (method, challenge): (String, String),
) -> Result<Response, WebError> {
    let said = match e {
        AuthError::InvalidMethod(_) => {
            "Enter a code from your authentication app or a backup code, or choose another way below.".to_owned()
        }
        AuthError::InvalidCredential(_) => passkey_page_message(e),
        AuthError::ChallengeExpired | AuthError::ChallengeFailed | AuthError::ChallengeMissing => {
            "That confirmation has ended. Choose a way to confirm again.".to_owned()
        }
        _ => sentence(&message(e)),
    };
    let step = match e {
        AuthError::InvalidCode(_) | AuthError::MalformedCode(_) if method == "sms" => Step {
            method,
            challenge,
            sms_sent_to: Some(String::new()),
            options: None,
        },
        _ => Step::default(),
    };
    let page = Html(render(state, s, csrf, Some(said), step).await?);
    Ok(form_error(e, page))
}
