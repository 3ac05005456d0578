//! Settings → … → Additional methods → Backup codes: view, Get new codes, Copy codes, Save
//! as image, Download, Print. Every response carries `Cache-Control: no-store`.

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::csrf::{CsrfCookie, CsrfForm, NoFields, form_token};
use crate::auth::{AuthError, BackupCodesView, CurrentSession};
use crate::domain::{BackupCode, UnixTime};
use crate::http::AppState;
use crate::http::api::{attachment, codes_text};
use crate::http::error::WebError;
use crate::http::extract::{Client, RecentWebSession};
use crate::http::images::backup_codes_png;

#[derive(Template)]
#[template(path = "backup_codes.html")]
struct CodesPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    username: &'a str,
    made: String,
    codes: Option<Vec<(String, bool)>>,
    copy_text: String,
    remaining: usize,
    total: usize,
    fresh: bool,
    viewable: bool,
    notice: Option<&'static str>,
    txt_href: String,
    png_href: String,
    batch_size: usize,
}

fn no_store(html: String) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

fn render(
    state: &AppState,
    s: &CurrentSession,
    c: &CsrfCookie,
    v: &BackupCodesView,
    fresh: bool,
    notice: Option<&'static str>,
) -> Result<Response, WebError> {
    let viewable = state.auth.two_factor_policy().backup_codes_viewable;
    let unused: Vec<&str> = v
        .codes
        .iter()
        .flatten()
        .filter(|(_, used)| !used)
        .map(|(c, _)| c.as_str())
        .collect();
    // Codes that can be fetched again are linked; a batch shown only now is embedded.
    let (txt_href, png_href) = match (&v.codes, viewable) {
        (Some(codes), false) => {
            let txt = codes_text(codes);
            let png = backup_codes_png(&s.username, &v.generated_at.human(), codes)
                .map_err(|e| WebError::from(AuthError::Internal(e)))?;
            (
                format!("data:text/plain;base64,{}", STANDARD.encode(txt)),
                format!("data:image/png;base64,{}", STANDARD.encode(png)),
            )
        }
        _ => (
            "/settings/two-factor/backup-codes.txt".to_owned(),
            "/settings/two-factor/backup-codes.png".to_owned(),
        ),
    };
    let page = CodesPage {
        user: Some(&s.username),
        csrf: form_token(state, c),
        username: &s.username,
        made: v.generated_at.human(),
        codes: v.codes.clone(),
        copy_text: unused.join("\n"),
        remaining: v.remaining,
        total: v.total,
        fresh,
        viewable,
        notice,
        txt_href,
        png_href,
        batch_size: state.auth.two_factor_policy().backup_code_count,
    };
    Ok(no_store(page.render()?))
}

/// The page right after codes were made (2FA turned on, or "Get new codes").
pub(crate) fn render_fresh(
    state: &AppState,
    s: &CurrentSession,
    c: &CsrfCookie,
    codes: &[BackupCode],
    now: UnixTime,
    notice: Option<&'static str>,
) -> Result<Response, WebError> {
    let v = BackupCodesView {
        generated_at: now,
        codes: Some(codes.iter().map(|c| (c.display(), false)).collect()),
        remaining: codes.len(),
        total: codes.len(),
    };
    render(state, s, c, &v, true, notice)
}

/// `GET /settings/two-factor/backup-codes`.
pub async fn page(
    State(state): State<AppState>,
    RecentWebSession(s): RecentWebSession,
    axum::Extension(c): axum::Extension<CsrfCookie>,
) -> Result<Response, WebError> {
    match state.auth.backup_codes(&s).await {
        Ok(v) => render(&state, &s, &c, &v, false, None),
        Err(AuthError::NoBackupCodes) => {
            Ok(axum::response::Redirect::to("/settings/two-factor#additional").into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /settings/two-factor/backup-codes`: "Get new codes".
pub async fn regenerate(
    State(state): State<AppState>,
    RecentWebSession(s): RecentWebSession,
    Client(client): Client,
    axum::Extension(c): axum::Extension<CsrfCookie>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, WebError> {
    let (_, codes) = state.auth.regenerate_backup_codes(&s, &client).await?;
    render_fresh(
        &state,
        &s,
        &c,
        &codes,
        state.auth.now(),
        Some("Here are your new backup codes. The old ones no longer work."),
    )
}

async fn current(
    state: &AppState,
    s: &CurrentSession,
) -> Result<(BackupCodesView, Vec<(String, bool)>), WebError> {
    let v = state.auth.backup_codes(s).await?;
    let codes = v.codes.clone().ok_or_else(|| {
        WebError::new(
            axum::http::StatusCode::NOT_FOUND,
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
