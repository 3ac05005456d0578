//! The backup codes as files: "Download" (`.txt`) and "Save as image" (`.png`), and the
//! links to them that the codes page shows. Every response carries `Cache-Control:
//! no-store`. The pictures themselves are drawn by `http::images`.

use axum::extract::State;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::auth::{AuthError, BackupCodesView, CurrentSession};
use crate::http::AppState;
use crate::http::api::attachment;
use crate::http::error::WebError;
use crate::http::extract::{RecentWebSession, Site};
use crate::http::images::backup_codes_png;
use crate::http::sheet::CodesLabel;

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
        label: &CodesLabel,
        v: &BackupCodesView,
    ) -> Result<Self, WebError> {
        let viewable = state.auth.two_factor_policy().backup_codes_viewable;
        match (&v.codes, viewable) {
            (Some(codes), false) => {
                let txt = file_text(label, codes);
                let png = backup_codes_png(label, codes)
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

/// What "Download" saves: the label, every code of the batch (used ones marked) and the
/// advice. (The API's file stays one code a line and nothing else, for scripts.)
fn file_text(label: &CodesLabel, codes: &[(String, bool)]) -> String {
    label.text(codes.iter().map(|(c, used)| (c.as_str(), *used)))
}

/// The current batch with its codes, or a page saying they are shown only once.
async fn current(
    state: &AppState,
    s: &CurrentSession,
) -> Result<(BackupCodesView, Vec<(String, bool)>), WebError> {
    let v = state.auth.backup_codes().view(s).await?;
    let codes = v.codes.clone().ok_or_else(WebError::codes_shown_once)?;
    Ok((v, codes))
}

/// `GET /settings/two-factor/backup-codes.txt`: Download.
pub async fn text_file(
    State(state): State<AppState>,
    RecentWebSession(s): RecentWebSession,
    site: Site,
) -> Result<Response, WebError> {
    let (v, codes) = current(&state, &s).await?;
    let body = file_text(&CodesLabel::new(&s.username, site, v.generated_at), &codes);
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
    site: Site,
) -> Result<Response, WebError> {
    let (v, codes) = current(&state, &s).await?;
    let png = backup_codes_png(&CodesLabel::new(&s.username, site, v.generated_at), &codes)
        .map_err(|e| WebError::from(AuthError::Internal(e)))?;
    Ok(attachment(
        "image/png",
        format!("twofold-backup-codes-{}.png", s.username),
        png,
    ))
}
