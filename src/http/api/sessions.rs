//! `POST /api/v1/sessions` (log in) and `DELETE /api/v1/sessions/current` (log out).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::accounts::{AccountBody, Credentials};
use crate::auth::LoginOutcome;
use crate::http::AppState;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiSession, AppJson, Client};
use crate::store::SessionKind;

/// A new API session.
#[derive(Serialize, ToSchema)]
pub struct SessionCreated {
    /// The bearer token; shown once, keep it secret.
    pub token: String,
    /// Whose session.
    pub account: AccountBody,
}

/// Logs in with a username and password.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "sessions", request_body = Credentials,
    responses(
        (status = 201, body = SessionCreated),
        (status = 401, description = "invalid_credentials (unknown user and wrong password alike)", body = ErrorBody),
        (status = 403, description = "account_disabled", body = ErrorBody),
        (status = 429, description = "rate_limited, with Retry-After", body = ErrorBody)))]
pub async fn create_session(
    State(state): State<AppState>,
    Client(client): Client,
    AppJson(body): AppJson<Credentials>,
) -> Result<(StatusCode, Json<SessionCreated>), ApiError> {
    match state
        .auth
        .login(&body.username, &body.password, SessionKind::Api, &client)
        .await?
    {
        LoginOutcome::LoggedIn(s) => Ok((
            StatusCode::CREATED,
            Json(SessionCreated {
                token: s.token.reveal().to_owned(),
                account: AccountBody {
                    id: s.account_id.to_string(),
                    username: s.username,
                },
            }),
        )),
    }
}

/// Logs out: the token stops working at once.
#[utoipa::path(delete, path = "/api/v1/sessions/current", tag = "sessions", security(("bearer" = [])),
    responses((status = 204), (status = 401, description = "unauthenticated", body = ErrorBody)))]
pub async fn delete_current_session(
    State(state): State<AppState>,
    ApiSession(session): ApiSession,
    Client(client): Client,
) -> Result<StatusCode, ApiError> {
    state.auth.logout(&session, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
