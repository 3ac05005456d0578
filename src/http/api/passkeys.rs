//! Passkeys and security keys (WebAuthn, issue 24): `/api/v1/me/passkeys…` to add, list and
//! remove them, `/api/v1/sessions/passkey…` to log in with one and no password, and
//! `/api/v1/sessions/two-factor/webauthn` for the options of the second step. Credentials
//! travel in the WebAuthn Level 3 JSON form (base64url fields); nothing of them is logged.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::sessions::{ChallengeRef, SessionCreated, created};
use crate::domain::SessionKind;
use crate::http::AppState;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiSession, AppJson, Client, RecentApiSession};

/// Options for `navigator.credentials`, and the flow to send back with the answer.
#[derive(Serialize, ToSchema)]
pub struct FlowOptions {
    /// Opaque; send it back with the credential. Lives 5 minutes, used once.
    flow: String,
    /// `publicKey` for `navigator.credentials.create` (adding) or `.get` (logging in).
    #[serde(rename = "publicKey")]
    #[schema(value_type = Object)]
    public_key: Value,
}

/// Options for the second step.
#[derive(Serialize, ToSchema)]
pub struct StepOptions {
    /// `publicKey` for `navigator.credentials.get`.
    #[serde(rename = "publicKey")]
    #[schema(value_type = Object)]
    public_key: Value,
}

/// A passkey to add. (No `Debug`.)
#[derive(Deserialize, ToSchema)]
pub struct AddPasskey {
    /// The flow from `POST /api/v1/me/passkeys/options`.
    flow: String,
    /// A name to know it by, 1 to 64 characters ("Work laptop").
    name: String,
    /// What `navigator.credentials.create` gave, in its JSON form.
    #[schema(value_type = Object)]
    credential: Value,
}

/// A passkey just added.
#[derive(Serialize, ToSchema)]
pub struct PasskeyAdded {
    id: String,
    name: String,
    /// The first backup codes when adding it turned two-factor authentication on (shown
    /// once), else `null`.
    backup_codes: Option<Vec<String>>,
}

/// A passkey in the list.
#[derive(Serialize, ToSchema)]
pub struct PasskeyItem {
    id: String,
    name: String,
    created_at: String,
    /// `null` until it first logs in.
    last_used_at: Option<String>,
}

/// The account's passkeys and security keys.
#[derive(Serialize, ToSchema)]
pub struct PasskeyList {
    passkeys: Vec<PasskeyItem>,
}

/// A passkey login's answer. (No `Debug`.)
#[derive(Deserialize, ToSchema)]
pub struct PasskeyLogin {
    /// The flow from `POST /api/v1/sessions/passkey/options`.
    flow: String,
    /// What `navigator.credentials.get` gave, in its JSON form.
    #[schema(value_type = Object)]
    credential: Value,
}

/// Options to add a passkey (**recent**; when two-factor authentication is on, this
/// session's login used a second factor). At most 10 per account.
#[utoipa::path(post, path = "/api/v1/me/passkeys/options", tag = "passkeys", security(("bearer" = [])),
    responses(
        (status = 201, body = FlowOptions),
        (status = 403, description = "reauth_required, or two_factor_required: log in with a second factor first", body = ErrorBody),
        (status = 409, description = "too_many_passkeys", body = ErrorBody)))]
pub async fn registration_options(
    State(state): State<AppState>,
    RecentApiSession(session): RecentApiSession,
) -> Result<(StatusCode, Json<FlowOptions>), ApiError> {
    let o = state.auth.passkeys().registration_options(&session).await?;
    Ok((
        StatusCode::CREATED,
        Json(FlowOptions {
            flow: o.flow.reveal().to_owned(),
            public_key: o.public_key,
        }),
    ))
}

/// Adds the passkey the authenticator made. On an account without two-factor authentication
/// it turns it on, and the first backup codes come back (once).
#[utoipa::path(post, path = "/api/v1/me/passkeys", tag = "passkeys", security(("bearer" = [])), request_body = AddPasskey,
    responses(
        (status = 201, body = PasskeyAdded),
        (status = 403, description = "authenticator_not_allowed: this model is not allowed here", body = ErrorBody),
        (status = 409, description = "too_many_passkeys, or passkey_exists", body = ErrorBody),
        (status = 410, description = "flow_expired: unknown, used, expired or another session's", body = ErrorBody),
        (status = 422, description = "invalid_name, or invalid_credential: malformed, over 16 KiB, or not verified for this flow", body = ErrorBody)))]
pub async fn add(
    State(state): State<AppState>,
    ApiSession(session): ApiSession,
    Client(client): Client,
    AppJson(body): AppJson<AddPasskey>,
) -> Result<(StatusCode, Json<PasskeyAdded>), ApiError> {
    let added = state
        .auth
        .passkeys()
        .register(&session, &body.flow, &body.name, &body.credential, &client)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(PasskeyAdded {
            id: added.id.to_string(),
            name: added.name,
            backup_codes: added
                .backup_codes
                .map(|codes| codes.iter().map(|c| c.display()).collect()),
        }),
    ))
}

/// The account's passkeys and security keys, oldest first.
#[utoipa::path(get, path = "/api/v1/me/passkeys", tag = "passkeys", security(("bearer" = [])),
    responses((status = 200, body = PasskeyList)))]
pub async fn list(
    State(state): State<AppState>,
    ApiSession(session): ApiSession,
) -> Result<Json<PasskeyList>, ApiError> {
    let passkeys = state
        .auth
        .passkeys()
        .list(&session)
        .await?
        .into_iter()
        .map(|p| PasskeyItem {
            id: p.id.to_string(),
            name: p.name,
            created_at: p.created_at.rfc3339(),
            last_used_at: p.last_used_at.map(|t| t.rfc3339()),
        })
        .collect();
    Ok(Json(PasskeyList { passkeys }))
}

/// Removes a passkey (**recent**): the owner is told, every other session ends, and the last
/// method turns two-factor authentication off.
#[utoipa::path(delete, path = "/api/v1/me/passkeys/{id}", tag = "passkeys", security(("bearer" = [])),
    params(("id" = String, Path, description = "The passkey's id")),
    responses(
        (status = 204),
        (status = 403, description = "reauth_required", body = ErrorBody),
        (status = 404, description = "not_found: no such passkey on this account", body = ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    RecentApiSession(session): RecentApiSession,
    Client(client): Client,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.auth.passkeys().remove(&session, &id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Options to log in with a passkey and no username or password (discoverable credentials;
/// pages can use them for passkey autofill with `mediation: "conditional"`).
#[utoipa::path(post, path = "/api/v1/sessions/passkey/options", tag = "sessions",
    responses(
        (status = 201, body = FlowOptions),
        (status = 429, description = "rate_limited: this address asked too often; Retry-After", body = ErrorBody)))]
pub async fn login_options(
    State(state): State<AppState>,
    Client(client): Client,
) -> Result<(StatusCode, Json<FlowOptions>), ApiError> {
    let o = state.auth.passkeys().login_options(&client).await?;
    Ok((
        StatusCode::CREATED,
        Json(FlowOptions {
            flow: o.flow.reveal().to_owned(),
            public_key: o.public_key,
        }),
    ))
}

/// Logs in with a passkey. With user verification the session counts as two factors
/// (`amr` `["hwk","user","mfa"]`), without it as one (`["hwk"]`). A refused assertion of a
/// known passkey counts as a wrong code on its account.
#[utoipa::path(post, path = "/api/v1/sessions/passkey", tag = "sessions", request_body = PasskeyLogin,
    responses(
        (status = 201, body = SessionCreated),
        (status = 401, description = "passkey_refused", body = ErrorBody),
        (status = 403, description = "account_disabled", body = ErrorBody),
        (status = 410, description = "flow_expired", body = ErrorBody),
        (status = 422, description = "invalid_credential: malformed or over 16 KiB", body = ErrorBody),
        (status = 429, description = "rate_limited: the account's second step is locked; Retry-After", body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    AppJson(body): AppJson<PasskeyLogin>,
) -> Result<(StatusCode, Json<SessionCreated>), ApiError> {
    let session = state
        .auth
        .passkeys()
        .login(&body.flow, &body.credential, SessionKind::Api, &client)
        .await?;
    Ok(created(session))
}

/// Options to answer the second step with a passkey or security key (method `webauthn`);
/// asking again replaces the earlier options.
#[utoipa::path(post, path = "/api/v1/sessions/two-factor/webauthn", tag = "sessions", request_body = ChallengeRef,
    responses(
        (status = 200, body = StepOptions),
        (status = 410, description = "challenge_expired", body = ErrorBody),
        (status = 422, description = "invalid_method: the account has no passkey", body = ErrorBody),
        (status = 429, description = "rate_limited: the account's second step is locked; Retry-After", body = ErrorBody)))]
pub async fn second_step_options(
    State(state): State<AppState>,
    AppJson(body): AppJson<ChallengeRef>,
) -> Result<Json<StepOptions>, ApiError> {
    let public_key = state
        .auth
        .second_step()
        .webauthn_options(&body.challenge)
        .await?;
    Ok(Json(StepOptions { public_key }))
}
