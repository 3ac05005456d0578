//! `/api/v1/me/backup-codes…`: view, get new codes, download as text or image.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{AuthError, BackupCodesView};
use crate::http::AppState;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{Client, RecentApiSession, Site};
use crate::http::images::backup_codes_png;
use crate::http::sheet::CodesLabel;

/// One code.
#[derive(Serialize, ToSchema)]
pub struct CodeItem {
    /// `1234 5678`.
    code: String,
    used: bool,
}

/// The current batch.
#[derive(Serialize, ToSchema)]
pub struct Batch {
    /// `null` when codes are only shown at creation (`TWOFOLD_BACKUP_CODES_VIEWABLE=false`).
    codes: Option<Vec<CodeItem>>,
    generated_at: String,
    remaining: usize,
}

fn batch(v: BackupCodesView) -> Batch {
    Batch {
        codes: v.codes.map(|codes| {
            codes
                .into_iter()
                .map(|(code, used)| CodeItem { code, used })
                .collect()
        }),
        generated_at: v.generated_at.rfc3339(),
        remaining: v.remaining,
    }
}

/// The current batch of backup codes.
#[utoipa::path(get, path = "/api/v1/me/backup-codes", tag = "backup-codes", security(("bearer" = [])),
    responses((status = 200, body = Batch), (status = 403, description = "reauth_required", body = ErrorBody),
        (status = 404, description = "no_backup_codes: 2FA is off", body = ErrorBody)))]
pub async fn view(
    State(state): State<AppState>,
    RecentApiSession(session): RecentApiSession,
) -> Result<Json<Batch>, ApiError> {
    Ok(Json(batch(state.auth.backup_codes().view(&session).await?)))
}

/// "Get new codes": a fresh batch; every code of the old batch stops working at once.
#[utoipa::path(post, path = "/api/v1/me/backup-codes", tag = "backup-codes", security(("bearer" = [])),
    responses((status = 201, body = Batch), (status = 403, description = "reauth_required", body = ErrorBody),
        (status = 404, description = "no_backup_codes: 2FA is off", body = ErrorBody)))]
pub async fn regenerate(
    State(state): State<AppState>,
    RecentApiSession(session): RecentApiSession,
    Client(client): Client,
) -> Result<(StatusCode, Json<Batch>), ApiError> {
    let (view, _) = state
        .auth
        .backup_codes()
        .regenerate_backup_codes(&session, &client)
        .await?;
    Ok((StatusCode::CREATED, Json(batch(view))))
}

/// The codes to show in a file or picture, or why there are none.
fn shown(v: &BackupCodesView) -> Result<&[(String, bool)], ApiError> {
    v.codes.as_deref().ok_or_else(ApiError::codes_not_viewable)
}

/// A download: the content type, `attachment; filename=…` and `no-store`.
pub fn attachment(content_type: &'static str, name: String, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

/// The text of the codes file: the current batch, one code a line, used ones marked.
pub fn codes_text(codes: &[(String, bool)]) -> String {
    let mut out = String::new();
    for (code, used) in codes {
        out.push_str(code);
        if *used {
            out.push_str(" (used)");
        }
        out.push('\n');
    }
    out
}

/// The codes as a text file.
#[utoipa::path(get, path = "/api/v1/me/backup-codes.txt", tag = "backup-codes", security(("bearer" = [])),
    responses((status = 200, content_type = "text/plain", description = "the current batch, one code a line"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn text_file(
    State(state): State<AppState>,
    RecentApiSession(session): RecentApiSession,
) -> Result<Response, ApiError> {
    let v = state.auth.backup_codes().view(&session).await?;
    let body = codes_text(shown(&v)?);
    Ok(attachment(
        "text/plain; charset=utf-8",
        format!("twofold-backup-codes-{}.txt", session.username),
        body.into_bytes(),
    ))
}

/// The codes as a PNG image.
#[utoipa::path(get, path = "/api/v1/me/backup-codes.png", tag = "backup-codes", security(("bearer" = [])),
    responses((status = 200, content_type = "image/png", description = "the current batch as a picture"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn image(
    State(state): State<AppState>,
    RecentApiSession(session): RecentApiSession,
    site: Site,
) -> Result<Response, ApiError> {
    let v = state.auth.backup_codes().view(&session).await?;
    let label = CodesLabel::new(&session.username, site, v.generated_at);
    let png =
        backup_codes_png(&label, shown(&v)?).map_err(|e| ApiError::from(AuthError::Internal(e)))?;
    Ok(attachment(
        "image/png",
        format!("twofold-backup-codes-{}.png", session.username),
        png,
    ))
}
