//! `/api/v1/me/two-factor…`: status, the authentication app, text messages, turning off.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::MethodConfirmed;
use crate::http::AppState;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiSession, AppJson, Client, RecentApiSession};
use crate::http::images::qr_png;

/// The verified phone.
#[derive(Serialize, ToSchema)]
pub struct SmsStatus {
    /// Masked: `+1 *** *** **67`.
    phone: String,
}

/// The authentication app.
#[derive(Serialize, ToSchema)]
pub struct TotpStatus {
    added_at: String,
}

/// Backup codes left.
#[derive(Serialize, ToSchema)]
pub struct BackupStatus {
    remaining: usize,
    total: usize,
    generated_at: String,
}

/// The two-factor state.
#[derive(Serialize, ToSchema)]
pub struct Status {
    enabled: bool,
    sms: Option<SmsStatus>,
    totp: Option<TotpStatus>,
    backup_codes: Option<BackupStatus>,
}

/// The account's two-factor state.
#[utoipa::path(get, path = "/api/v1/me/two-factor", tag = "two-factor", security(("bearer" = [])),
    responses((status = 200, body = Status), (status = 401, body = ErrorBody)))]
pub async fn status(
    State(state): State<AppState>,
    ApiSession(session): ApiSession,
) -> Result<Json<Status>, ApiError> {
    let s = state.auth.two_factor().two_factor_status(&session).await?;
    Ok(Json(Status {
        enabled: s.enabled,
        sms: s.phone.map(|(phone, _)| SmsStatus { phone }),
        totp: s.totp_added_at.map(|t| TotpStatus {
            added_at: t.rfc3339(),
        }),
        backup_codes: s.backup_codes.map(|(remaining, total, at)| BackupStatus {
            remaining,
            total,
            generated_at: at.rfc3339(),
        }),
    }))
}

/// Turns two-factor authentication off: every method and backup code is removed.
#[utoipa::path(delete, path = "/api/v1/me/two-factor", tag = "two-factor", security(("bearer" = [])),
    responses((status = 204), (status = 403, description = "reauth_required", body = ErrorBody)))]
pub async fn disable(
    State(state): State<AppState>,
    RecentApiSession(session): RecentApiSession,
    Client(client): Client,
) -> Result<StatusCode, ApiError> {
    state
        .auth
        .two_factor()
        .disable_two_factor(&session, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new authenticator secret, pending until a code confirms it.
#[derive(Serialize, ToSchema)]
pub struct TotpStarted {
    /// Base32, for typing into the app by hand.
    secret: String,
    /// `otpauth://totp/...`, what the QR code holds.
    otpauth_uri: String,
    /// The QR code as a base64 PNG.
    qr_png: String,
}

/// Starts setting up an authentication app.
#[utoipa::path(post, path = "/api/v1/me/two-factor/totp", tag = "two-factor", security(("bearer" = [])),
    responses((status = 201, body = TotpStarted), (status = 403, description = "reauth_required", body = ErrorBody)))]
pub async fn start_totp(
    State(state): State<AppState>,
    RecentApiSession(session): RecentApiSession,
) -> Result<(StatusCode, Json<TotpStarted>), ApiError> {
    let e = state.auth.two_factor().start_totp(&session).await?;
    let png =
        qr_png(&e.uri, 6).map_err(|err| ApiError::from(crate::auth::AuthError::Internal(err)))?;
    Ok((
        StatusCode::CREATED,
        Json(TotpStarted {
            secret: e.secret.base32(),
            otpauth_uri: e.uri,
            qr_png: base64::engine::general_purpose::STANDARD.encode(png),
        }),
    ))
}

/// Removes the authentication app (the last method turns 2FA off).
#[utoipa::path(delete, path = "/api/v1/me/two-factor/totp", tag = "two-factor", security(("bearer" = [])),
    responses((status = 204), (status = 403, description = "reauth_required", body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove_totp(
    State(state): State<AppState>,
    RecentApiSession(session): RecentApiSession,
    Client(client): Client,
) -> Result<StatusCode, ApiError> {
    state
        .auth
        .two_factor()
        .remove_totp(&session, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A code to confirm. (No `Debug`.)
#[derive(Deserialize, ToSchema)]
pub struct CodeBody {
    /// Six digits; spaces and dashes are ignored.
    code: String,
}

/// A method was confirmed.
#[derive(Serialize, ToSchema)]
pub struct Confirmed {
    /// 2FA is on.
    enabled: bool,
    /// The first batch of backup codes when this turned 2FA on, else `null`.
    backup_codes: Option<Vec<String>>,
}

impl From<MethodConfirmed> for Confirmed {
    fn from(m: MethodConfirmed) -> Self {
        Self {
            enabled: true,
            backup_codes: m
                .backup_codes
                .map(|codes| codes.iter().map(|c| c.display()).collect()),
        }
    }
}

/// Confirms the authentication app with a code from it (**recent**; 5 tries per secret).
#[utoipa::path(post, path = "/api/v1/me/two-factor/totp/confirm", tag = "two-factor", security(("bearer" = [])), request_body = CodeBody,
    responses((status = 200, body = Confirmed), (status = 401, description = "invalid_code", body = ErrorBody),
        (status = 403, description = "reauth_required", body = ErrorBody),
        (status = 409, description = "nothing_pending", body = ErrorBody), (status = 422, description = "malformed_code", body = ErrorBody)))]
pub async fn confirm_totp(
    State(state): State<AppState>,
    RecentApiSession(session): RecentApiSession,
    Client(client): Client,
    AppJson(body): AppJson<CodeBody>,
) -> Result<Json<Confirmed>, ApiError> {
    Ok(Json(
        state
            .auth
            .two_factor()
            .confirm_totp(&session, &body.code, &client)
            .await?
            .into(),
    ))
}

/// A phone number. (International form with `+`; spaces and dashes allowed.)
#[derive(Deserialize, ToSchema)]
pub struct PhoneBody {
    phone: String,
}

/// Sends a verification code to a phone.
#[utoipa::path(post, path = "/api/v1/me/two-factor/sms", tag = "two-factor", security(("bearer" = [])), request_body = PhoneBody,
    responses((status = 202, body = super::sessions::SmsSent), (status = 403, description = "reauth_required", body = ErrorBody),
        (status = 409, description = "phone_in_use", body = ErrorBody), (status = 422, description = "invalid_phone", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody), (status = 502, description = "sms_failed", body = ErrorBody)))]
pub async fn start_sms(
    State(state): State<AppState>,
    RecentApiSession(session): RecentApiSession,
    AppJson(body): AppJson<PhoneBody>,
) -> Result<(StatusCode, Json<super::sessions::SmsSent>), ApiError> {
    let to = state
        .auth
        .two_factor()
        .start_sms(&session, &body.phone)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(super::sessions::SmsSent { sms_sent_to: to }),
    ))
}

/// Confirms the phone with the code sent to it.
#[utoipa::path(post, path = "/api/v1/me/two-factor/sms/confirm", tag = "two-factor", security(("bearer" = [])), request_body = CodeBody,
    responses((status = 200, body = Confirmed), (status = 401, description = "invalid_code", body = ErrorBody),
        (status = 409, description = "phone_in_use or nothing_pending", body = ErrorBody), (status = 422, description = "malformed_code", body = ErrorBody)))]
pub async fn confirm_sms(
    State(state): State<AppState>,
    ApiSession(session): ApiSession,
    Client(client): Client,
    AppJson(body): AppJson<CodeBody>,
) -> Result<Json<Confirmed>, ApiError> {
    Ok(Json(
        state
            .auth
            .two_factor()
            .confirm_sms(&session, &body.code, &client)
            .await?
            .into(),
    ))
}

/// Removes the phone (the last method turns 2FA off).
#[utoipa::path(delete, path = "/api/v1/me/two-factor/sms", tag = "two-factor", security(("bearer" = [])),
    responses((status = 204), (status = 403, description = "reauth_required", body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove_sms(
    State(state): State<AppState>,
    RecentApiSession(session): RecentApiSession,
    Client(client): Client,
) -> Result<StatusCode, ApiError> {
    state
        .auth
        .two_factor()
        .remove_sms(&session, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
