//! Settings → … → Additional methods → Backup codes: view, Get new codes (with its
//! confirmation page), the save page right after a batch is made, Copy codes and Print (the files behind Download and Save as image are [`super::downloads`]'). Every
//! response carries `Cache-Control: no-store`.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::PageContext;
use super::continue_to::ContinueTo;
use super::csrf::{CsrfForm, NoFields};
use super::downloads::Links;
use crate::auth::{AuthError, BackupCodesView, CurrentSession};
use crate::domain::BackupCode;
use crate::http::AppState;
use crate::http::error::WebError;
use crate::http::extract::{Client, RecentWebSession, Site};
use crate::http::sheet::CodesLabel;

/// The codes page.
const PAGE: &str = "/settings/two-factor/backup-codes";
/// The page that shows a batch right after it was made.
const SAVE: &str = "/settings/two-factor/backup-codes/save";

/// The batch as both codes pages show it (`templates/backup_codes_sheet.html`), with the
/// Copy / Save as image / Download / Print buttons (`backup_codes_actions.html`).
struct Sheet<'a> {
    username: &'a str,
    /// "Twofold backup codes for @alice", and the server and date: the print heading.
    title: String,
    subtitle: String,
    made: String,
    codes: Option<Vec<(String, bool)>>,
    copy_text: String,
    remaining: usize,
    total: usize,
    txt_href: String,
    png_href: String,
}

/// Settings → … → Backup codes: the batch, and Get new codes.
#[derive(Template)]
#[template(path = "backup_codes.html")]
struct CodesPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    sheet: Sheet<'a>,
    batch_size: usize,
}

/// The save-your-codes moment, right after a batch was made: the save buttons first, then
/// the codes, then "Done"; nothing that would make another batch.
#[derive(Template)]
#[template(path = "backup_codes_save.html")]
struct SavePage<'a> {
    user: Option<&'a str>,
    csrf: String,
    sheet: Sheet<'a>,
    viewable: bool,
    /// Where "Done — I've saved them" leads: back to the app that asked for two-factor
    /// authentication ([`super::continue_to`]), or the security settings.
    done_href: &'static str,
    notice: Option<&'static str>,
}

fn no_store(html: String) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

/// The codes page, or with `fresh` the save page (`notice` saying why the batch was made).
fn render(
    state: &AppState,
    s: &CurrentSession,
    (csrf, site, then): (String, Site, &ContinueTo),
    v: &BackupCodesView,
    fresh: bool,
    notice: Option<&'static str>,
) -> Result<Response, WebError> {
    let label = CodesLabel::new(&s.username, site, v.generated_at);
    let unused = v
        .codes
        .iter()
        .flatten()
        .filter(|(_, used)| !used)
        .map(|(c, _)| (c.as_str(), false));
    let copy_text = label.text(unused);
    let links = Links::for_batch(state, &label, v)?;
    let sheet = Sheet {
        username: &s.username,
        title: label.title(),
        subtitle: label.subtitle(),
        made: v.generated_at.human(),
        codes: v.codes.clone(),
        copy_text,
        remaining: v.remaining,
        total: v.total,
        txt_href: links.txt,
        png_href: links.png,
    };
    let user = Some(s.username.as_str());
    let html = if fresh {
        SavePage {
            user,
            csrf,
            sheet,
            viewable: state.auth.two_factor_policy().backup_codes_viewable,
            done_href: then.done_href(),
            notice,
        }
        .render()?
    } else {
        CodesPage {
            user,
            csrf,
            sheet,
            batch_size: state.auth.two_factor_policy().backup_code_count,
        }
        .render()?
    };
    Ok(no_store(html))
}

/// Why a batch was just made: the notice on the page that shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Made {
    /// Two-factor authentication was turned on: its first batch.
    On,
    /// "Get new codes".
    New,
}

impl Made {
    fn parse(s: Option<&str>) -> Option<Self> {
        match s {
            Some("on") => Some(Self::On),
            Some("new") => Some(Self::New),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::On => "on",
            Self::New => "new",
        }
    }

    fn notice(self) -> &'static str {
        match self {
            Self::On => "Two-factor authentication is on.",
            Self::New => "Here are your new backup codes. The old ones no longer work.",
        }
    }
}

/// The answer to a form that just made a batch (turning 2FA on, "Get new codes").
///
/// Post/redirect/get: the browser is sent (`303`) to the save page, which reads the batch back
/// from the store, so a reload shows the same codes and never makes another batch. Only when
/// codes are shown once (`backup_codes.viewable = false`) can nothing read them back: then they
/// are shown in the answer to the form itself.
pub(crate) fn just_made(
    state: &AppState,
    s: &CurrentSession,
    at: (String, Site, &ContinueTo),
    codes: &[BackupCode],
    why: Made,
) -> Result<Response, WebError> {
    if state.auth.two_factor_policy().backup_codes_viewable {
        return Ok(Redirect::to(&format!("{SAVE}?made={}", why.as_str())).into_response());
    }
    let v = BackupCodesView {
        generated_at: state.auth.now(),
        codes: Some(codes.iter().map(|c| (c.display(), false)).collect()),
        remaining: codes.len(),
        total: codes.len(),
    };
    render(state, s, at, &v, true, Some(why.notice()))
}

/// `GET /settings/two-factor/backup-codes`.
pub async fn page(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: RecentWebSession(s),
        site,
    }: PageContext<RecentWebSession>,
) -> Result<Response, WebError> {
    match state.auth.backup_codes().view(&s).await {
        Ok(v) => render(&state, &s, (csrf, site, &ContinueTo(None)), &v, false, None),
        Err(AuthError::NoBackupCodes) => {
            Ok(Redirect::to("/settings/two-factor#additional").into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `?made=on|new`
#[derive(Deserialize, Default)]
pub struct SaveQuery {
    made: Option<String>,
}

/// `GET /settings/two-factor/backup-codes/save?made=…`: the batch just made, read back from
/// the store. A batch older than the recent-password window is not "just made" any more:
/// the browser goes to the codes page instead (so an old link cannot say "new codes").
pub async fn save_page(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: RecentWebSession(s),
        site,
    }: PageContext<RecentWebSession>,
    then: ContinueTo,
    Query(q): Query<SaveQuery>,
) -> Result<Response, WebError> {
    let v = match state.auth.backup_codes().view(&s).await {
        Ok(v) => v,
        Err(AuthError::NoBackupCodes) => {
            return Ok(Redirect::to("/settings/two-factor#additional").into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let age = state.auth.now().0 - v.generated_at.0;
    if v.codes.is_none() || age > state.auth.policy().recent_auth_secs {
        return Ok(Redirect::to(PAGE).into_response());
    }
    let notice = Made::parse(q.made.as_deref()).map(Made::notice);
    render(&state, &s, (csrf, site, &then), &v, true, notice)
}

/// "Get new codes?": what it will do, and the form that does it.
#[derive(Template)]
#[template(path = "backup_codes_new.html")]
struct ConfirmPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    /// Unused codes that will stop working.
    remaining: usize,
    batch_size: usize,
}

/// `GET /settings/two-factor/backup-codes/new`: the confirmation step of "Get new codes",
/// a page of its own so that it works without JavaScript.
pub async fn confirm_page(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: RecentWebSession(s),
        ..
    }: PageContext<RecentWebSession>,
) -> Result<Response, WebError> {
    let v = match state.auth.backup_codes().view(&s).await {
        Ok(v) => v,
        Err(AuthError::NoBackupCodes) => {
            return Ok(Redirect::to("/settings/two-factor#additional").into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let page = ConfirmPage {
        user: Some(&s.username),
        csrf,
        remaining: v.remaining,
        batch_size: state.auth.two_factor_policy().backup_code_count,
    };
    Ok(no_store(page.render()?))
}

/// `POST /settings/two-factor/backup-codes`: "Get new codes", confirmed.
pub async fn regenerate(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: RecentWebSession(s),
        site,
    }: PageContext<RecentWebSession>,
    Client(client): Client,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, WebError> {
    let (_, codes) = state
        .auth
        .backup_codes()
        .regenerate_backup_codes(&s, &client)
        .await?;
    just_made(
        &state,
        &s,
        (csrf, site, &ContinueTo(None)),
        &codes,
        Made::New,
    )
}
