//! Passkeys and security keys on the pages (issue 24): adding one
//! (`/settings/two-factor/passkeys/add`, recent), removing one (a confirmation page, in
//! [`super::two_factor_remove`]), and "Log in with a passkey" with passkey autofill on
//! `/login` (`POST /login/passkey`). The browser's part is `assets/passkeys.js`: it hands the
//! server's options to `navigator.credentials` and posts the answer in a hidden field, so
//! every decision stays here and on the server; without JavaScript the pages say so.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use super::PageContext;
use super::account::{logged_in, login_refused};
use super::continue_to::ContinueTo;
use super::csrf::CsrfForm;
use super::destination;
use super::two_factor::confirmed;
use crate::auth::{AuthError, CredentialProblem, CurrentSession, MethodConfirmed};
use crate::domain::SessionKind;
use crate::http::AppState;
use crate::http::error::{WebError, form_error, passkey_page_message};
use crate::http::extract::{Client, RecentWebSession, WebSession};

#[derive(Template)]
#[template(path = "passkey_add.html")]
struct AddPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    /// The flow to send back, and the options for `navigator.credentials.create` (JSON).
    flow: String,
    options: String,
    /// The name typed (kept after a refusal), and what went wrong.
    name: &'a str,
    error: Option<String>,
    /// Why no passkey can be added now (the most an account may have, or a login without
    /// the second factor); then the page has no form.
    blocked: Option<String>,
}

/// The add page with fresh options (each flow works once, for 5 minutes).
async fn add_page(
    state: &AppState,
    s: &CurrentSession,
    csrf: String,
    name: &str,
    error: Option<&AuthError>,
) -> Result<Response, WebError> {
    let (flow, options, blocked) = match state.auth.passkeys().registration_options(s).await {
        Ok(o) => (o.flow.reveal().to_owned(), o.public_key.to_string(), None),
        Err(e @ (AuthError::TooManyPasskeys { .. } | AuthError::TwoFactorLoginRequired)) => {
            (String::new(), String::new(), Some(passkey_page_message(&e)))
        }
        Err(e) => return Err(e.into()),
    };
    let page = AddPage {
        user: Some(&s.username),
        csrf,
        flow,
        options,
        name,
        error: error.map(passkey_page_message),
        blocked,
    };
    let html = Html(page.render()?);
    Ok(match error {
        Some(e) => form_error(e, html),
        None => (StatusCode::OK, html).into_response(),
    })
}

/// `GET /settings/two-factor/passkeys/add`.
pub async fn add_form(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: RecentWebSession(s),
        ..
    }: PageContext<RecentWebSession>,
) -> Result<Response, WebError> {
    add_page(&state, &s, csrf, "", None).await
}

/// The add form: the flow, a name, and what the authenticator made. (No `Debug`.)
#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    flow: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    credential: String,
}

/// What the hidden credential field holds, as JSON: anything else is a malformed credential
/// (nothing is used up).
pub(super) fn credential_of(field: &str) -> Result<Value, AuthError> {
    if field.len() > crate::auth::MAX_CREDENTIAL_BYTES {
        return Err(AuthError::InvalidCredential(CredentialProblem::TooLarge));
    }
    serde_json::from_str(field)
        .map_err(|_| AuthError::InvalidCredential(CredentialProblem::Malformed))
}

/// `POST /settings/two-factor/passkeys/add`: the flow was started by this session's recent
/// add page, so the session itself is enough here.
pub async fn add(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: WebSession(s),
        site,
    }: PageContext<WebSession>,
    then: ContinueTo,
    Client(client): Client,
    CsrfForm(form): CsrfForm<AddForm>,
) -> Result<Response, WebError> {
    let name = form.name.trim();
    let result = match credential_of(&form.credential) {
        Ok(credential) => {
            state
                .auth
                .passkeys()
                .register(&s, &form.flow, name, &credential, &client)
                .await
        }
        Err(e) => Err(e),
    };
    let error = match result {
        Ok(added) => {
            let m = MethodConfirmed {
                enabled_now: added.backup_codes.is_some(),
                backup_codes: added.backup_codes,
            };
            return confirmed(&state, &s, m, "passkey", (csrf, site, &then));
        }
        Err(
            e @ (AuthError::InvalidPasskeyName(_)
            | AuthError::InvalidCredential(_)
            | AuthError::FlowExpired
            | AuthError::PasskeyNotVerified
            | AuthError::AuthenticatorNotAllowed
            | AuthError::TooManyPasskeys { .. }
            | AuthError::PasskeyExists),
        ) => e,
        Err(e) => return Err(e.into()),
    };
    add_page(&state, &s, csrf, name, Some(&error)).await
}

/// The passwordless login form. (No `Debug`.)
#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    flow: String,
    #[serde(default)]
    credential: String,
    next: Option<String>,
}

/// `POST /login/passkey`: "Log in with a passkey" or passkey autofill answered. With user
/// verification the session counts as two factors; without, as one.
pub async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    PageContext { csrf, .. }: PageContext,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<Response, WebError> {
    let next = destination(&state.web, form.next.as_deref());
    let result = match credential_of(&form.credential) {
        Ok(credential) => {
            state
                .auth
                .passkeys()
                .login(&form.flow, &credential, SessionKind::Web, &client)
                .await
        }
        Err(e) => Err(e),
    };
    let error = match result {
        Ok(session) => return Ok(logged_in(&state, &session, &next)),
        Err(
            e @ (AuthError::InvalidCredential(_)
            | AuthError::FlowExpired
            | AuthError::PasskeyRefused { .. }
            | AuthError::AccountDisabled
            | AuthError::RateLimited { .. }
            | AuthError::SecondStepBlocked),
        ) => e,
        Err(e) => return Err(e.into()),
    };
    login_refused(
        &state,
        csrf,
        None,
        &next,
        &error,
        passkey_page_message(&error),
    )
    .await
}
