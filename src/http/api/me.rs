//! `/api/v1/me…`: the account, re-authentication, sessions, activity, password.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{DeletionFactor, DeletionOutcome};
use crate::http::AppState;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiSession, AppJson, Client, RecentApiSession};

/// The account behind the token.
#[derive(Serialize, ToSchema)]
pub struct Me {
    id: String,
    username: String,
    two_factor: TwoFactorStatus,
    /// The confirmed email address, masked (`a•••@example.com`), or `null`.
    email: Option<String>,
    /// How many passkeys and security keys the account has.
    passkeys: i64,
}

/// Whether two-factor authentication is on.
#[derive(Serialize, ToSchema)]
pub struct TwoFactorStatus {
    enabled: bool,
}

/// The account behind the token.
#[utoipa::path(get, path = "/api/v1/me", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(
    State(state): State<AppState>,
    ApiSession(session): ApiSession,
) -> Result<Json<Me>, ApiError> {
    let enabled = state.auth.two_factor().two_factor_enabled(&session).await?;
    let email = state.auth.email().email_status(&session).await?.confirmed;
    let passkeys = state.auth.passkeys().count(&session).await?;
    Ok(Json(Me {
        id: session.account_id.to_string(),
        username: session.username,
        two_factor: TwoFactorStatus { enabled },
        email: email.map(|e| e.masked()),
        passkeys,
    }))
}

/// A password, to confirm it is really you. (No `Debug`.)
#[derive(Deserialize, ToSchema)]
pub struct PasswordBody {
    password: String,
}

/// Confirms the password: opens the recent-authentication window for this session.
#[utoipa::path(post, path = "/api/v1/me/reauth", tag = "me", security(("bearer" = [])), request_body = PasswordBody,
    responses((status = 204), (status = 401, description = "invalid_credentials or unauthenticated", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn reauth(
    State(state): State<AppState>,
    ApiSession(session): ApiSession,
    Client(client): Client,
    AppJson(body): AppJson<PasswordBody>,
) -> Result<StatusCode, ApiError> {
    state
        .auth
        .sessions()
        .reauthenticate(&session, &body.password, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One session in the list.
#[derive(Serialize, ToSchema)]
pub struct SessionItem {
    id: String,
    created_at: String,
    last_seen_at: String,
    ip: Option<String>,
    user_agent: Option<String>,
    /// `true` for the session making this request.
    current: bool,
}

/// Where you're logged in.
#[derive(Serialize, ToSchema)]
pub struct SessionList {
    sessions: Vec<SessionItem>,
}

/// Every live session of the account, browsers and apps.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = SessionList), (status = 401, body = ErrorBody)))]
pub async fn list_sessions(
    State(state): State<AppState>,
    ApiSession(session): ApiSession,
) -> Result<Json<SessionList>, ApiError> {
    let sessions = state
        .auth
        .sessions()
        .list(&session)
        .await?
        .into_iter()
        .map(|s| SessionItem {
            current: s.id == session.session_id,
            id: s.id.to_string(),
            created_at: s.created_at.rfc3339(),
            last_seen_at: s.last_seen_at.rfc3339(),
            ip: s.ip,
            user_agent: s.user_agent,
        })
        .collect();
    Ok(Json(SessionList { sessions }))
}

/// Logs out every other session of the account, and every login in flight (**recent**).
#[utoipa::path(delete, path = "/api/v1/me/sessions", tag = "me", security(("bearer" = [])),
    responses((status = 204), (status = 403, description = "reauth_required", body = ErrorBody)))]
pub async fn delete_other_sessions(
    State(state): State<AppState>,
    RecentApiSession(session): RecentApiSession,
    Client(client): Client,
) -> Result<StatusCode, ApiError> {
    state
        .auth
        .sessions()
        .log_out_others(&session, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Logs out one session of the account.
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "me", security(("bearer" = [])),
    params(("id" = String, Path, description = "a session id from GET /api/v1/me/sessions")),
    responses((status = 204), (status = 404, description = "not_found: unknown id or another account's session", body = ErrorBody)))]
pub async fn delete_session(
    State(state): State<AppState>,
    ApiSession(session): ApiSession,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .auth
        .sessions()
        .revoke_session(&session, &id, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One activity event.
#[derive(Serialize, ToSchema)]
pub struct EventItem {
    /// `login`, `login_failed`, `logout`, `password_changed`, `session_revoked`, …
    kind: String,
    at: String,
    ip: Option<String>,
    user_agent: Option<String>,
    detail: Option<String>,
}

/// Login activity, newest first.
#[derive(Serialize, ToSchema)]
pub struct ActivityList {
    events: Vec<EventItem>,
}

/// The account's login activity, newest first (the latest 100).
#[utoipa::path(get, path = "/api/v1/me/activity", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = ActivityList), (status = 401, body = ErrorBody)))]
pub async fn activity(
    State(state): State<AppState>,
    ApiSession(session): ApiSession,
) -> Result<Json<ActivityList>, ApiError> {
    let events = state
        .auth
        .sessions()
        .activity(&session, 100)
        .await?
        .into_iter()
        .map(|e| EventItem {
            kind: e.kind,
            at: e.at.rfc3339(),
            ip: e.ip,
            user_agent: e.user_agent,
            detail: e.detail,
        })
        .collect();
    Ok(Json(ActivityList { events }))
}

/// The current and the new password. (No `Debug`.)
#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// Changes the password; every other session of the account ends.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "me", security(("bearer" = [])), request_body = PasswordChange,
    responses((status = 204), (status = 401, description = "invalid_credentials: wrong current password", body = ErrorBody),
        (status = 422, description = "weak_password", body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    ApiSession(session): ApiSession,
    Client(client): Client,
    AppJson(body): AppJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    state
        .auth
        .accounts()
        .change_password(
            &session,
            &body.current_password,
            &body.new_password,
            &client,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Everything Twofold keeps about the account (issue 25), as one JSON document, without
/// any secret: the account, its email and phone, its two-factor methods (when each was
/// added, never a secret or code), passkeys by name, sessions, connected apps, groups and
/// the whole activity. Sent as a download (`twofold-data.json`).
#[utoipa::path(get, path = "/api/v1/me/export", tag = "me", security(("bearer" = [])),
    responses((status = 200, description = "the account's data", content_type = "application/json"),
        (status = 401, body = ErrorBody)))]
pub async fn export(
    State(state): State<AppState>,
    ApiSession(session): ApiSession,
) -> Result<Response, ApiError> {
    let data = state.auth.accounts().export(&session).await?;
    Ok((
        [(
            axum::http::header::CONTENT_DISPOSITION,
            "attachment; filename=\"twofold-data.json\"",
        )],
        Json(data),
    )
        .into_response())
}

/// The second factor that confirms deleting the account (when 2FA is on). (No `Debug`.)
#[derive(Deserialize, ToSchema)]
pub struct DeleteAccount {
    /// `totp`, `backup_code`, `sms` or `webauthn`.
    method: Option<String>,
    /// The code (`totp`, `backup_code`; `sms` with the `challenge` its code was texted for).
    code: Option<String>,
    /// With `webauthn`: what `navigator.credentials.get` gave for the `publicKey` of the
    /// `403`, in its JSON form.
    #[schema(value_type = Option<Object>)]
    credential: Option<serde_json::Value>,
    /// With `sms` or `webauthn`: the `challenge` of the `403` that texted the code or gave
    /// the passkey's options.
    challenge: Option<String>,
}

/// A second factor is needed to delete the account (`403`).
#[derive(Serialize, ToSchema)]
pub struct DeletionNeedsFactor {
    /// `{"code":"two_factor_required","message"}`.
    error: serde_json::Value,
    /// What may be used: `webauthn`, `totp`, `sms`, `backup_code`.
    methods: Vec<&'static str>,
    /// With `sms` or `webauthn` asked for: the challenge to send back with the answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    challenge: Option<String>,
    /// The masked number a code was just texted to.
    #[serde(skip_serializing_if = "Option::is_none")]
    sms_sent_to: Option<String>,
    /// With `webauthn` asked for: the options for `navigator.credentials.get`.
    #[serde(rename = "publicKey", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    public_key: Option<serde_json::Value>,
}

/// Deletes the account (issue 25): **recent**, and when two-factor authentication is on a
/// second factor, checked and counted like a login's: `{"method":"totp"|"backup_code","code"}`
/// in one request; for a text or a passkey first `{"method":"sms"}` (a code is texted) or
/// `{"method":"webauthn"}` (options given), answered `403 two_factor_required` with a
/// `challenge`, then `{"method":"sms","challenge","code"}` or
/// `{"method":"webauthn","challenge","credential"}`. `{}` without 2FA. Every session, app
/// token and passkey ends, and everything kept about the account is removed. The last admin
/// cannot (`409 last_admin`).
#[utoipa::path(delete, path = "/api/v1/me", tag = "me", security(("bearer" = [])), request_body = DeleteAccount,
    responses((status = 204),
        (status = 401, description = "invalid_code (a wrong code or a refused passkey)", body = ErrorBody),
        (status = 403, description = "two_factor_required (what may be used; a challenge for sms and webauthn), or reauth_required", body = DeletionNeedsFactor),
        (status = 409, description = "last_admin", body = ErrorBody),
        (status = 410, description = "challenge_expired: the deletion's challenge ended; start again", body = ErrorBody),
        (status = 422, description = "invalid_method, malformed_code, invalid_credential, or invalid_request (a code or credential for sms or webauthn without its challenge)", body = ErrorBody),
        (status = 429, description = "rate_limited: one deletion text per account every 30 seconds, or the account's second step is locked; Retry-After", body = ErrorBody)))]
pub async fn delete_account(
    State(state): State<AppState>,
    ApiSession(session): ApiSession,
    Client(client): Client,
    AppJson(body): AppJson<DeleteAccount>,
) -> Result<Response, ApiError> {
    let factor = DeletionFactor {
        method: body.method.as_deref(),
        code: body.code.as_deref(),
        credential: body.credential.as_ref(),
        challenge: body.challenge.as_deref(),
    };
    match state
        .auth
        .console()
        .delete_own_account_with(&session, factor, &client)
        .await?
    {
        DeletionOutcome::Deleted => Ok(StatusCode::NO_CONTENT.into_response()),
        DeletionOutcome::TwoFactorRequired {
            methods,
            challenge,
            sms_sent_to,
            public_key,
        } => Ok((
            StatusCode::FORBIDDEN,
            Json(DeletionNeedsFactor {
                error: serde_json::json!({
                    "code": "two_factor_required",
                    "message": "two-factor authentication is on: send a second factor too (method and code; for sms and webauthn, first the method alone, then the challenge with the code or credential)",
                }),
                methods: methods.iter().map(|m| m.as_str()).collect(),
                challenge: challenge.map(|t| t.reveal().to_owned()),
                sms_sent_to,
                public_key,
            }),
        )
            .into_response()),
    }
}
