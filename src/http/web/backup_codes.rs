//! Settings → … → Additional methods → Backup codes: view, Get new codes, Copy codes and
//! Print (the files behind Download and Save as image are [`super::downloads`]'). Every
//! response carries `Cache-Control: no-store`.

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};

use super::PageContext;
use super::csrf::{CsrfForm, NoFields};
use super::downloads::Links;
use crate::auth::{AuthError, BackupCodesView, CurrentSession};
use crate::domain::{BackupCode, UnixTime};
use crate::http::AppState;
use crate::http::error::WebError;
use crate::http::extract::{Client, RecentWebSession};

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
    csrf: String,
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
    let links = Links::for_batch(state, s, v)?;
    let page = CodesPage {
        user: Some(&s.username),
        csrf,
        username: &s.username,
        made: v.generated_at.human(),
        codes: v.codes.clone(),
        copy_text: unused.join("\n"),
        remaining: v.remaining,
        total: v.total,
        fresh,
        viewable,
        notice,
        txt_href: links.txt,
        png_href: links.png,
        batch_size: state.auth.two_factor_policy().backup_code_count,
    };
    Ok(no_store(page.render()?))
}

/// The page right after codes were made (2FA turned on, or "Get new codes").
pub(crate) fn render_fresh(
    state: &AppState,
    s: &CurrentSession,
    csrf: String,
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
    render(state, s, csrf, &v, true, notice)
}

/// `GET /settings/two-factor/backup-codes`.
pub async fn page(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: RecentWebSession(s),
    }: PageContext<RecentWebSession>,
) -> Result<Response, WebError> {
    match state.auth.backup_codes(&s).await {
        Ok(v) => render(&state, &s, csrf, &v, false, None),
        Err(AuthError::NoBackupCodes) => {
            Ok(axum::response::Redirect::to("/settings/two-factor#additional").into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /settings/two-factor/backup-codes`: "Get new codes".
pub async fn regenerate(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: RecentWebSession(s),
    }: PageContext<RecentWebSession>,
    Client(client): Client,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, WebError> {
    let (_, codes) = state.auth.regenerate_backup_codes(&s, &client).await?;
    render_fresh(
        &state,
        &s,
        csrf,
        &codes,
        state.auth.now(),
        Some("Here are your new backup codes. The old ones no longer work."),
    )
}
