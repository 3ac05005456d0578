//! `/api/v1/me/email…`: the account's email address (add with a code, confirm, remove).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::AppState;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiSession, AppJson, Client, RecentApiSession};

/// An address to add.
#[derive(Deserialize, ToSchema)]
pub struct EmailBody {
    email: String,
}

/// Where the code went.
#[derive(Serialize, ToSchema)]
pub struct CodeSent {
    /// The address, masked (`a•••@example.com`).
    code_sent_to: String,
}

/// A code from the email.
#[derive(Deserialize, ToSchema)]
pub struct EmailCodeBody {
    code: String,
}

/// The confirmed address.
#[derive(Serialize, ToSchema)]
pub struct EmailConfirmed {
    /// The address, masked.
    email: String,
}

/// Sends a 6-digit code to a new address (**recent** password confirmation needed).
#[utoipa::path(post, path = "/api/v1/me/email", tag = "email", security(("bearer" = [])), request_body = EmailBody,
    responses((status = 202, body = CodeSent), (status = 403, description = "reauth_required", body = ErrorBody),
        (status = 422, description = "invalid_email", body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 502, description = "mail_failed", body = ErrorBody)))]
pub async fn start(
    State(state): State<AppState>,
    RecentApiSession(session): RecentApiSession,
    AppJson(body): AppJson<EmailBody>,
) -> Result<(StatusCode, Json<CodeSent>), ApiError> {
    let email = state
        .auth
        .email()
        .start_email(&session, &body.email)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(CodeSent {
            code_sent_to: email.masked(),
        }),
    ))
}

/// Confirms the address with the code it received.
#[utoipa::path(post, path = "/api/v1/me/email/confirm", tag = "email", security(("bearer" = [])), request_body = EmailCodeBody,
    responses((status = 200, body = EmailConfirmed), (status = 401, description = "invalid_code", body = ErrorBody),
        (status = 409, description = "nothing_pending", body = ErrorBody), (status = 422, description = "malformed_code", body = ErrorBody)))]
pub async fn confirm(
    State(state): State<AppState>,
    ApiSession(session): ApiSession,
    Client(client): Client,
    AppJson(body): AppJson<EmailCodeBody>,
) -> Result<Json<EmailConfirmed>, ApiError> {
    let email = state
        .auth
        .email()
        .confirm_email(&session, &body.code, &client)
        .await?;
    Ok(Json(EmailConfirmed {
        email: email.masked(),
    }))
}

/// Removes the account's address (**recent** password confirmation needed).
#[utoipa::path(delete, path = "/api/v1/me/email", tag = "email", security(("bearer" = [])),
    responses((status = 204), (status = 403, description = "reauth_required", body = ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    RecentApiSession(session): RecentApiSession,
    Client(client): Client,
) -> Result<StatusCode, ApiError> {
    state.auth.email().remove_email(&session, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
