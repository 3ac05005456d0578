//! `/api/v1/me/apps`: the apps the account signed in to with Twofold (OpenID Connect
//! consents), and disconnecting one.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::AppState;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{ApiSession, Client};

/// A connected app.
#[derive(Serialize, ToSchema)]
pub struct AppItem {
    client_id: String,
    name: String,
    scopes: Vec<String>,
    authorized_at: String,
}

/// The connected apps, newest first.
#[derive(Serialize, ToSchema)]
pub struct AppList {
    apps: Vec<AppItem>,
}

/// Lists the apps the account allowed to sign it in.
#[utoipa::path(get, path = "/api/v1/me/apps", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = AppList), (status = 401, body = ErrorBody)))]
pub async fn list_apps(
    State(state): State<AppState>,
    ApiSession(session): ApiSession,
) -> Result<Json<AppList>, ApiError> {
    let apps = state
        .oidc
        .authorization()
        .connected_apps(&session)
        .await?
        .into_iter()
        .map(|a| AppItem {
            client_id: a.client_id,
            name: a.name,
            scopes: a.scopes,
            authorized_at: a.authorized_at.rfc3339(),
        })
        .collect();
    Ok(Json(AppList { apps }))
}

/// Disconnects an app: its consent goes and its refresh and access tokens stop working.
#[utoipa::path(delete, path = "/api/v1/me/apps/{client_id}", tag = "me", security(("bearer" = [])),
    params(("client_id" = String, Path, description = "The app's client_id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, description = "not_found: not a connected app", body = ErrorBody)))]
pub async fn revoke_app(
    State(state): State<AppState>,
    ApiSession(session): ApiSession,
    Client(client): Client,
    Path(client_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .oidc
        .authorization()
        .revoke_app(&session, &client_id, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
