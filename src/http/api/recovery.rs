//! `/api/v1/recovery…`: "Forgot password?" for apps. Asking always answers `202` the same
//! way; finishing needs the link's token (or the texted code) and, with two-factor
//! authentication on, a second factor too.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::sessions::{SessionCreated, created};
use crate::auth::{AuthError, RecoveryFactor, RecoveryOutcome, RecoveryProof};
use crate::http::AppState;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{AppJson, Client};

/// Who forgot their password.
#[derive(Deserialize, ToSchema)]
pub struct RecoveryRequest {
    /// A username, the account's email address or its phone number.
    identifier: String,
}

/// The same answer whether or not an account matched.
#[derive(Serialize, ToSchema)]
pub struct RecoveryAccepted {
    /// Always `"accepted"`.
    status: &'static str,
    /// What happens next.
    message: &'static str,
}

/// Sends a reset link by email, or a 6-digit code by text when the account has no email
/// address, if the identifier matches an account. The answer never says whether it did.
#[utoipa::path(post, path = "/api/v1/recovery", tag = "recovery", request_body = RecoveryRequest,
    responses((status = 202, body = RecoveryAccepted),
        (status = 422, description = "invalid_identifier: nothing typed", body = ErrorBody),
        (status = 429, description = "rate_limited, with Retry-After", body = ErrorBody)))]
pub async fn request(
    State(state): State<AppState>,
    Client(client): Client,
    AppJson(body): AppJson<RecoveryRequest>,
) -> Result<(StatusCode, Json<RecoveryAccepted>), ApiError> {
    state
        .auth
        .recovery()
        .request_recovery(&body.identifier, &client)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(RecoveryAccepted {
            status: "accepted",
            message: "if an account matches, a reset link is on its way to its email address, or a code to its phone; it works for 30 minutes",
        }),
    ))
}

/// Finishing a recovery. (No `Debug`: it holds secrets.)
#[derive(Deserialize, ToSchema)]
pub struct RecoveryComplete {
    /// The token from the emailed link (`/recover/<token>`).
    token: Option<String>,
    /// With `code`: the username or phone number the code was asked for.
    identifier: Option<String>,
    /// The texted 6-digit code.
    code: Option<String>,
    /// The new password.
    new_password: String,
    /// With two-factor authentication on: `totp`, `sms`, `backup_code` or `webauthn`.
    method: Option<String>,
    /// The second factor's code (`sms` without one texts a code).
    factor_code: Option<String>,
    /// With `webauthn`: what `navigator.credentials.get` gave, in its JSON form, for options
    /// asked with the `challenge` of the `403` (`webauthn` without it answers that `403`).
    #[schema(value_type = Option<Object>)]
    credential: Option<serde_json::Value>,
}

/// A second factor is needed (`403`): the error, and what may be used.
#[derive(Serialize, ToSchema)]
pub struct TwoFactorNeeded {
    /// `{"code":"two_factor_required","message"}`.
    error: serde_json::Value,
    /// What may be used: `webauthn`, `totp`, `sms`, `backup_code`.
    methods: Vec<&'static str>,
    /// The masked number a code was just texted to.
    #[serde(skip_serializing_if = "Option::is_none")]
    sms_sent_to: Option<String>,
    /// With `webauthn` among the methods, when this recovery's second step began or
    /// `webauthn` was asked for: the challenge for `POST /api/v1/sessions/two-factor/webauthn`
    /// (an earlier one stops working).
    #[serde(skip_serializing_if = "Option::is_none")]
    challenge: Option<String>,
}

/// Sets the new password with the link's token (or the texted code). On an account with
/// two-factor authentication on, the request must carry a second factor too; without one,
/// nothing changes and the answer is `403 two_factor_required`. Every session ends; the
/// answer is a new session.
#[utoipa::path(post, path = "/api/v1/recovery/complete", tag = "recovery", request_body = RecoveryComplete,
    responses((status = 200, body = SessionCreated),
        (status = 400, description = "invalid_request: neither a token nor an identifier and code", body = ErrorBody),
        (status = 401, description = "invalid_code: the texted code or the second factor is wrong", body = ErrorBody),
        (status = 403, description = "two_factor_required", body = TwoFactorNeeded),
        (status = 410, description = "recovery_expired: used, expired or the password changed since", body = ErrorBody),
        (status = 422, description = "weak_password, malformed_code or invalid_method", body = ErrorBody),
        (status = 429, description = "rate_limited: the account's second step is locked; Retry-After", body = ErrorBody)))]
pub async fn complete(
    State(state): State<AppState>,
    Client(client): Client,
    AppJson(body): AppJson<RecoveryComplete>,
) -> Result<Response, ApiError> {
    let proof = match (&body.token, &body.identifier, &body.code) {
        (Some(t), _, _) => RecoveryProof::Token(t),
        (None, Some(identifier), Some(code)) => RecoveryProof::Code { identifier, code },
        _ => {
            return Err(ApiError::recovery_proof_missing());
        }
    };
    let factor = body.method.as_deref().map(|method| RecoveryFactor {
        method,
        code: body.factor_code.as_deref(),
        credential: body.credential.as_ref(),
    });
    match state
        .auth.recovery()
        .complete_recovery(proof, &body.new_password, factor, &client)
        .await
    {
        Ok(RecoveryOutcome::Done(session)) => {
            let (_, json) = created(session);
            Ok((StatusCode::OK, json).into_response())
        }
        Ok(RecoveryOutcome::TwoFactorRequired {
            methods,
            sms_sent_to,
            challenge,
        }) => Ok((
            StatusCode::FORBIDDEN,
            Json(TwoFactorNeeded {
                error: serde_json::json!({
                    "code": "two_factor_required",
                    "message": "two-factor authentication is on: send a second factor too (method and factor_code, or webauthn and credential)",
                }),
                methods: methods.iter().map(|m| m.as_str()).collect(),
                sms_sent_to,
                challenge: challenge.map(|t| t.reveal().to_owned()),
            }),
        )
            .into_response()),
        Err(e @ AuthError::ChallengeExpired) | Err(e @ AuthError::ChallengeFailed) => {
            // The second step of this recovery ended (its wrong codes): a new try starts one.
            tracing::info!(error = %e, "a recovery's second step ended");
            Err(AuthError::RecoveryInvalid.into())
        }
        Err(e) => Err(e.into()),
    }
}
