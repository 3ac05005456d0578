//! The backup codes as files: "Download" (`.txt`) and "Save as image" (`.png`), and the
//! links to them that the codes page shows. Every response carries `Cache-Control:
//! no-store`. The pictures themselves are drawn by `http::images`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::auth::{AuthError, BackupCodesView, CurrentSession};
use crate::http::AppState;
use crate::http::api::{attachment, codes_text};
use crate::http::error::WebError;
use crate::http::extract::RecentWebSession;
use crate::http::images::backup_codes_png;

/// Where the page's Download and Save as image links point: the routes below when the batch
/// can be fetched again, or — for a batch shown only now (`backup_codes.viewable = false`) —
/// `data:` URLs with the files themselves.
pub(crate) struct Links {
    pub txt: String,
    pub png: String,
}

impl Links {
    /// The links for `v`, the batch on the page.
    pub(crate) fn for_batch(
        state: &AppState,
        s: &CurrentSession,
        v: &BackupCodesView,
    ) -> Result<Self, WebError> {
        let viewable = state.auth.two_factor_policy().backup_codes_viewable;
        match (&v.codes, viewable) {
            (Some(codes), false) => {
                let txt = codes_text(codes);
                let png = backup_codes_png(&s.username, &v.generated_at.human(), codes)
                    .map_err(|e| WebError::from(AuthError::Internal(e)))?;
                Ok(Self {
                    txt: format!("data:text/plain;base64,{}", STANDARD.encode(txt)),
                    png: format!("data:image/png;base64,{}", STANDARD.encode(png)),
                })
            }
            _ => Ok(Self {
                txt: "/settings/two-factor/backup-codes.txt".to_owned(),
                png: "/settings/two-factor/backup-codes.png".to_owned(),
            }),
        }
    }
}

/// The current batch with its codes, or a page saying they are shown only once.
async fn current(
    state: &AppState,
    s: &CurrentSession,
) -> Result<(BackupCodesView, Vec<(String, bool)>), WebError> {
    let v = state.auth.backup_codes(s).await?;
    let codes = v.codes.clone().ok_or_else(|| {
        WebError::new(
            StatusCode::NOT_FOUND,
            "Codes are shown only once",
            "For your security, backup codes are shown only when they're made. Get new codes to save a new batch.",
        )
    })?;
    Ok((v, codes))
}

/// `GET /settings/two-factor/backup-codes.txt`: Download.
pub async fn text_file(
    State(state): State<AppState>,
    RecentWebSession(s): RecentWebSession,
) -> Result<Response, WebError> {
    let (_, codes) = current(&state, &s).await?;
    let body = codes_text(&codes);
    Ok(attachment(
        "text/plain; charset=utf-8",
        format!("twofold-backup-codes-{}.txt", s.username),
        body.into_bytes(),
    ))
}

/// `GET /settings/two-factor/backup-codes.png`: Save as image.
pub async fn image(
    State(state): State<AppState>,
    RecentWebSession(s): RecentWebSession,
) -> Result<Response, WebError> {
    let (v, codes) = current(&state, &s).await?;
    let png = backup_codes_png(&s.username, &v.generated_at.human(), &codes)
        .map_err(|e| WebError::from(AuthError::Internal(e)))?;
    Ok(attachment(
        "image/png",
        format!("twofold-backup-codes-{}.png", s.username),
        png,
    ))
}
