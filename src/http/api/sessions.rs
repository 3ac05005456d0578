//! `POST /api/v1/sessions` (log in) and `DELETE /api/v1/sessions/current` (log out).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::accounts::{AccountBody, Credentials};
use crate::auth::{LoginOutcome, NewSessionToken};
use crate::domain::SessionKind;
use crate::http::AppState;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiSession, AppJson, Client};

/// A new API session.
#[derive(Serialize, ToSchema)]
pub struct SessionCreated {
    /// The bearer token; shown once, keep it secret.
    pub token: String,
    /// Whose session.
    pub account: AccountBody,
    /// After a backup-code login: how many unused codes are left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_codes_remaining: Option<i64>,
}

/// The second step is needed (status 202).
#[derive(Serialize, ToSchema)]
pub struct ChallengeBody {
    /// Always `true`.
    pub two_factor_required: bool,
    /// Opaque; send it back with the code. Lives 10 minutes and takes 5 wrong codes.
    pub challenge: String,
    /// What the account has set up: `sms`, `totp`, `backup_code`.
    pub methods: Vec<&'static str>,
    /// The strongest method set up: `totp` when there is an authentication app, else `sms`.
    /// An SMS code is sent at once only when this is `sms`.
    pub default_method: &'static str,
    /// The masked number an SMS code was sent to, when one was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms_sent_to: Option<String>,
    /// Present when an SMS should have gone out but could not be sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms_error: Option<&'static str>,
    /// When the challenge expires.
    pub expires_at: String,
}

/// Logs in with a username and password.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "sessions", request_body = Credentials,
    responses(
        (status = 201, body = SessionCreated),
        (status = 202, description = "two-factor authentication is on: the challenge", body = ChallengeBody),
        (status = 401, description = "invalid_credentials (unknown user and wrong password alike)", body = ErrorBody),
        (status = 403, description = "account_disabled", body = ErrorBody),
        (status = 429, description = "rate_limited, with Retry-After", body = ErrorBody)))]
pub async fn create_session(
    State(state): State<AppState>,
    Client(client): Client,
    AppJson(body): AppJson<Credentials>,
) -> Result<Response, ApiError> {
    Ok(
        match state
            .auth
            .accounts()
            .login(&body.username, &body.password, SessionKind::Api, &client)
            .await?
        {
            LoginOutcome::LoggedIn(s) => created(s).into_response(),
            LoginOutcome::TwoFactor(c) => (
                StatusCode::ACCEPTED,
                Json(ChallengeBody {
                    two_factor_required: true,
                    challenge: c.token.reveal().to_owned(),
                    methods: c.methods.iter().map(|m| m.as_str()).collect(),
                    default_method: c.default_method.as_str(),
                    sms_sent_to: c.sms_sent_to,
                    sms_error: c
                        .sms_failed
                        .then_some("we couldn't send a text message; try another way"),
                    expires_at: c.expires_at.rfc3339(),
                }),
            )
                .into_response(),
        },
    )
}

pub(super) fn created(s: NewSessionToken) -> (StatusCode, Json<SessionCreated>) {
    (
        StatusCode::CREATED,
        Json(SessionCreated {
            token: s.token.reveal().to_owned(),
            account: AccountBody {
                id: s.account_id.to_string(),
                username: s.username,
            },
            backup_codes_remaining: None,
        }),
    )
}

/// The second step. (No `Debug`: it holds a code.)
#[derive(Deserialize, ToSchema)]
pub struct SecondStep {
    /// The challenge from the 202 answer.
    pub challenge: String,
    /// `sms`, `totp`, `backup_code` or `webauthn`.
    pub method: String,
    /// The code, for every method but `webauthn`; spaces and dashes are ignored.
    pub code: Option<String>,
    /// For `webauthn`: what `navigator.credentials.get` gave, in its JSON form (options from
    /// `POST /api/v1/sessions/two-factor/webauthn`).
    #[schema(value_type = Option<Object>)]
    pub credential: Option<serde_json::Value>,
}

/// Finishes a two-factor login with a code.
#[utoipa::path(post, path = "/api/v1/sessions/two-factor", tag = "sessions", request_body = SecondStep,
    responses(
        (status = 201, body = SessionCreated),
        (status = 401, description = "invalid_code (a refused passkey too)", body = ErrorBody),
        (status = 410, description = "challenge_expired: unknown, finished, expired or 5 wrong codes", body = ErrorBody),
        (status = 422, description = "invalid_method, malformed_code, or invalid_credential (webauthn)", body = ErrorBody),
        (status = 429, description = "rate_limited: the account's second step is locked; Retry-After", body = ErrorBody)))]
pub async fn second_step(
    State(state): State<AppState>,
    Client(client): Client,
    AppJson(body): AppJson<SecondStep>,
) -> Result<(StatusCode, Json<SessionCreated>), ApiError> {
    let second_step = state.auth.second_step();
    let done = if body.method == "webauthn" {
        let credential = body
            .credential
            .ok_or_else(|| ApiError::missing_field("credential"))?;
        second_step
            .complete_webauthn(&body.challenge, &credential, &client)
            .await?
    } else {
        let code = body.code.ok_or_else(|| ApiError::missing_field("code"))?;
        second_step
            .complete_second_step(&body.challenge, &body.method, &code, &client)
            .await?
    };
    let (status, Json(mut created)) = created(done.session);
    created.backup_codes_remaining = done.backup_remaining;
    Ok((status, Json(created)))
}

/// A challenge id.
#[derive(Deserialize, ToSchema)]
pub struct ChallengeRef {
    /// The challenge from the 202 answer.
    pub challenge: String,
}

/// Where a code went.
#[derive(Serialize, ToSchema)]
pub struct SmsSent {
    /// The masked number.
    pub sms_sent_to: String,
}

/// Sends a fresh SMS code for the challenge ("Resend code"): at most every 30 seconds and
/// 5 times per challenge.
#[utoipa::path(post, path = "/api/v1/sessions/two-factor/sms", tag = "sessions", request_body = ChallengeRef,
    responses(
        (status = 202, body = SmsSent),
        (status = 410, description = "challenge_expired", body = ErrorBody),
        (status = 422, description = "invalid_method: the account has no phone", body = ErrorBody),
        (status = 429, description = "rate_limited: wait Retry-After seconds", body = ErrorBody),
        (status = 502, description = "sms_failed: try another way", body = ErrorBody)))]
pub async fn resend_sms(
    State(state): State<AppState>,
    AppJson(body): AppJson<ChallengeRef>,
) -> Result<(StatusCode, Json<SmsSent>), ApiError> {
    let to = state.auth.second_step().resend_sms(&body.challenge).await?;
    Ok((StatusCode::ACCEPTED, Json(SmsSent { sms_sent_to: to })))
}

/// Logs out: the token stops working at once.
#[utoipa::path(delete, path = "/api/v1/sessions/current", tag = "sessions", security(("bearer" = [])),
    responses((status = 204), (status = 401, description = "unauthenticated", body = ErrorBody)))]
pub async fn delete_current_session(
    State(state): State<AppState>,
    ApiSession(session): ApiSession,
    Client(client): Client,
) -> Result<StatusCode, ApiError> {
    state.auth.sessions().logout(&session, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
