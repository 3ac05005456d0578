//! Settings → Security → Two-factor authentication: the authentication app first, then text
//! messages (the weaker choice, said so), backup codes. Turning off and removing a method
//! are [`super::two_factor_remove`]; the walk for an app that needs two factors is
//! [`super::two_factor_walk`]. Every page and action needs a recent password confirmation.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine;
use serde::Deserialize;

use super::backup_codes::{Made, just_made};
use super::continue_to::{self, ContinueTo};
use super::csrf::{CsrfForm, NoFields};
use super::{PageContext, kept_code, two_factor_walk};
use crate::auth::{AuthError, CurrentSession, MethodConfirmed, TotpEnrolment};
use crate::http::AppState;
use crate::http::error::{WebError, form_error, message, sentence, status_for};
use crate::http::extract::{Client, RecentWebSession, Site};
use crate::http::images::qr_png;

#[derive(Template)]
#[template(path = "two_factor.html")]
struct SettingsPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    enabled: bool,
    phone: Option<String>,
    phone_added: Option<String>,
    pending_phone: Option<String>,
    phone_value: &'a str,
    phone_error: Option<String>,
    totp_added: Option<String>,
    /// The passkeys and security keys: id, name, added, last used.
    passkeys: Vec<(String, String, String, Option<String>)>,
    backup: Option<(usize, usize, String)>,
    notice: Option<Notice>,
    error: Option<String>,
    /// An app sent the person here to turn two-factor authentication on
    /// ([`super::continue_to`]): say so, and once it is on, offer the way back.
    app_waiting: bool,
}

#[derive(Template)]
#[template(path = "two_factor_sms_verify.html")]
struct SmsVerifyPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    phone: String,
    error: Option<String>,
    /// What was typed, when it was not a code ([`super::kept_code`]).
    typed: String,
}

#[derive(Template)]
#[template(path = "two_factor_totp.html")]
struct TotpPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    qr: String,
    secret: String,
    /// The `otpauth://` URI, for "Open in authenticator app" on the phone itself.
    uri: String,
    error: Option<String>,
    typed: String,
}

/// `?done=…`, or `?required=1&next=…` from an app that needs two factors.
#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
    required: Option<String>,
    next: Option<String>,
}

/// A notice at the top of the settings page: its kind (the CSS class: `ok` for what was
/// added, `info` for a removal, `warn` when two-factor authentication is off) and its text.
struct Notice {
    kind: &'static str,
    text: &'static str,
}

const PASSWORD_ONLY: &str =
    "Two-factor authentication is off. Your account is protected by your password only.";

/// The notice for `?done=…`, told apart by whether two-factor authentication is on now: a
/// removal that took it off says so, never as a success.
fn notice_for(done: Option<&str>, enabled: bool) -> Option<Notice> {
    let (kind, text) = match (done?, enabled) {
        ("sms", _) => (
            "ok",
            "Your phone number is verified. Security codes will be sent to it.",
        ),
        ("totp", _) => ("ok", "Your authentication app is set up."),
        ("passkey", _) => (
            "ok",
            "Your passkey is added. Next time, log in with it instead of typing a code.",
        ),
        ("passkey_removed", true) => (
            "info",
            "The passkey was removed. It no longer works for your account.",
        ),
        ("passkey_removed", false) => (
            "warn",
            "The passkey was removed. Two-factor authentication is off. Your account is protected by your password only.",
        ),
        ("sms_removed", true) => (
            "info",
            "Your phone number was removed. Security codes won't be texted to it any more.",
        ),
        ("sms_removed", false) => (
            "warn",
            "Your phone number was removed. Two-factor authentication is off. Your account is protected by your password only.",
        ),
        ("totp_removed", true) => (
            "info",
            "Your authentication app was removed. Its codes no longer work.",
        ),
        ("totp_removed", false) => (
            "warn",
            "Your authentication app was removed. Two-factor authentication is off. Your account is protected by your password only.",
        ),
        ("off", false) => ("warn", PASSWORD_ONLY),
        _ => return None,
    };
    Some(Notice { kind, text })
}

/// What the settings page shows besides the account's state.
#[derive(Default)]
struct Shown<'a> {
    /// `?done=…`: what was just done ([`notice_for`]).
    done: Option<&'a str>,
    /// The phone field: what was typed, and what was wrong with it.
    phone: (&'a str, Option<String>),
    error: Option<String>,
    app_waiting: bool,
}

async fn settings(
    state: &AppState,
    s: &CurrentSession,
    csrf: String,
    shown: Shown<'_>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let Shown {
        done,
        phone: phone_input,
        error,
        app_waiting,
    } = shown;
    let st = state.auth.two_factor().two_factor_status(s).await?;
    let passkeys = state
        .auth
        .passkeys()
        .list(s)
        .await?
        .into_iter()
        .map(|p| {
            let (added, used) = (p.created_at.human(), p.last_used_at.map(|t| t.human()));
            (p.id.to_string(), p.name, added, used)
        })
        .collect();
    let page = SettingsPage {
        user: Some(&s.username),
        csrf,
        enabled: st.enabled,
        phone_added: st.phone.as_ref().map(|(_, at)| at.human()),
        phone: st.phone.map(|(p, _)| p),
        pending_phone: st.pending_phone,
        phone_value: phone_input.0,
        phone_error: phone_input.1,
        totp_added: st.totp_added_at.map(|t| t.human()),
        passkeys,
        backup: st
            .backup_codes
            .map(|(left, total, at)| (left, total, at.human())),
        notice: notice_for(done, st.enabled),
        error,
        app_waiting,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// `GET /settings/two-factor`; with `?required=1&next=…` from an app or a site that needs
/// two factors, and two-factor authentication off, the walk ([`two_factor_walk`]).
pub async fn page(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: RecentWebSession(s),
        ..
    }: PageContext<RecentWebSession>,
    then: ContinueTo,
    Query(q): Query<DoneQuery>,
) -> Result<Response, WebError> {
    // An app that needs two factors sent the person here: remember where to go back.
    let remembered = match (q.required.as_deref(), q.next.as_deref()) {
        (Some("1"), Some(next)) => continue_to::remember(&state, next),
        _ => None,
    };
    let mut res = match &remembered {
        Some((_, next)) if !state.auth.two_factor().two_factor_enabled(&s).await? => {
            two_factor_walk::walk(&state, &s, csrf, next).await?
        }
        _ => {
            let shown = Shown {
                done: q.done.as_deref(),
                app_waiting: remembered.is_some() || then.0.is_some(),
                ..Shown::default()
            };
            settings(&state, &s, csrf, shown, StatusCode::OK).await?
        }
    };
    if let Some((cookie, _)) = remembered {
        res.headers_mut().append(SET_COOKIE, cookie);
    }
    Ok(res)
}

/// The phone form.
#[derive(Deserialize)]
pub struct PhoneForm {
    #[serde(default)]
    phone: String,
    /// `sms-page` when sent from the text-message page of its own
    /// ([`two_factor_walk::sms_page`]): a mistake is shown there, not on the settings page.
    #[serde(default)]
    from: String,
}

/// `POST /settings/two-factor/sms`: sends a code to the number.
pub async fn start_sms(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: RecentWebSession(s),
        ..
    }: PageContext<RecentWebSession>,
    then: ContinueTo,
    CsrfForm(form): CsrfForm<PhoneForm>,
) -> Result<Response, WebError> {
    let error = match state.auth.two_factor().start_sms(&s, &form.phone).await {
        Ok(_) => return Ok(Redirect::to("/settings/two-factor/sms/verify").into_response()),
        Err(
            e @ (AuthError::InvalidPhone(_)
            | AuthError::PhoneInUse
            | AuthError::RateLimited { .. }
            | AuthError::SmsFailed),
        ) => e,
        Err(e) => return Err(e.into()),
    };
    let status = status_for(&error);
    let phone = (form.phone.trim(), Some(sentence(&message(&error))));
    if form.from == "sms-page" {
        return two_factor_walk::sms_form(&state, &s, (csrf, &then), phone, status).await;
    }
    let shown = Shown {
        phone,
        ..Shown::default()
    };
    settings(&state, &s, csrf, shown, status).await
}

/// `GET /settings/two-factor/sms/verify`.
pub async fn sms_verify_page(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: RecentWebSession(s),
        ..
    }: PageContext<RecentWebSession>,
) -> Result<Response, WebError> {
    let Some(phone) = state
        .auth
        .two_factor()
        .two_factor_status(&s)
        .await?
        .pending_phone
    else {
        return Ok(Redirect::to("/settings/two-factor#sms").into_response());
    };
    let page = SmsVerifyPage {
        user: Some(&s.username),
        csrf,
        phone,
        error: None,
        typed: String::new(),
    };
    Ok(Html(page.render()?).into_response())
}

/// The code form. (No `Debug`.)
#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// After a method is confirmed: the first batch of backup codes, or back to settings.
pub(super) fn confirmed(
    state: &AppState,
    s: &CurrentSession,
    m: MethodConfirmed,
    done: &str,
    at: (String, Site, &ContinueTo),
) -> Result<Response, WebError> {
    match m.backup_codes {
        Some(codes) => just_made(state, s, at, &codes, Made::On),
        None => Ok(Redirect::to(&format!("/settings/two-factor?done={done}")).into_response()),
    }
}

/// `POST /settings/two-factor/sms/verify`.
pub async fn sms_verify(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: RecentWebSession(s),
        site,
    }: PageContext<RecentWebSession>,
    then: ContinueTo,
    Client(client): Client,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<Response, WebError> {
    let error = match state
        .auth
        .two_factor()
        .confirm_sms(&s, &form.code, &client)
        .await
    {
        Ok(m) => return confirmed(&state, &s, m, "sms", (csrf, site, &then)),
        Err(AuthError::NothingPending(_)) => {
            return Ok(Redirect::to("/settings/two-factor#sms").into_response());
        }
        Err(e @ AuthError::PhoneInUse) => {
            let msg = sentence(&message(&e));
            let shown = Shown {
                phone: ("", Some(msg)),
                ..Shown::default()
            };
            return settings(&state, &s, csrf, shown, StatusCode::CONFLICT).await;
        }
        Err(e @ (AuthError::InvalidCode(_) | AuthError::MalformedCode(_))) => e,
        Err(e) => return Err(e.into()),
    };
    let phone = state
        .auth
        .two_factor()
        .two_factor_status(&s)
        .await?
        .pending_phone
        .unwrap_or_default();
    let page = SmsVerifyPage {
        user: Some(&s.username),
        csrf,
        phone,
        error: Some(sentence(&message(&error))),
        typed: kept_code(&error, &form.code),
    };
    Ok(form_error(&error, Html(page.render()?)))
}

fn totp_page(
    s: &CurrentSession,
    csrf: String,
    e: &TotpEnrolment,
    (error, typed): (Option<String>, String),
) -> Result<Html<String>, WebError> {
    let png = qr_png(&e.uri, 6).map_err(|err| WebError::from(AuthError::Internal(err)))?;
    let page = TotpPage {
        user: Some(&s.username),
        csrf,
        qr: base64::engine::general_purpose::STANDARD.encode(png),
        secret: e.secret.base32_grouped(),
        uri: e.uri.clone(),
        error,
        typed,
    };
    Ok(Html(page.render()?))
}

/// `GET /settings/two-factor/totp`: the QR code (the pending one, or a new one).
pub async fn totp_setup(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: RecentWebSession(s),
        ..
    }: PageContext<RecentWebSession>,
) -> Result<Response, WebError> {
    let e = match state.auth.two_factor().pending_totp(&s).await? {
        Some(e) => e,
        None => state.auth.two_factor().start_totp(&s).await?,
    };
    Ok(totp_page(&s, csrf, &e, (None, String::new()))?.into_response())
}

/// `POST /settings/two-factor/totp/restart`: "Get a new QR code".
pub async fn totp_restart(
    State(state): State<AppState>,
    RecentWebSession(s): RecentWebSession,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, WebError> {
    state.auth.two_factor().start_totp(&s).await?;
    Ok(Redirect::to("/settings/two-factor/totp").into_response())
}

/// `POST /settings/two-factor/totp`: confirms the app with a code.
pub async fn totp_confirm(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: RecentWebSession(s),
        site,
    }: PageContext<RecentWebSession>,
    then: ContinueTo,
    Client(client): Client,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<Response, WebError> {
    let error = match state
        .auth
        .two_factor()
        .confirm_totp(&s, &form.code, &client)
        .await
    {
        Ok(m) => return confirmed(&state, &s, m, "totp", (csrf, site, &then)),
        Err(AuthError::NothingPending(_)) => {
            return Ok(Redirect::to("/settings/two-factor/totp").into_response());
        }
        Err(e @ (AuthError::InvalidCode(_) | AuthError::MalformedCode(_))) => e,
        Err(e) => return Err(e.into()),
    };
    let Some(e) = state.auth.two_factor().pending_totp(&s).await? else {
        return Ok(Redirect::to("/settings/two-factor/totp").into_response());
    };
    let message = match &error {
        AuthError::InvalidCode(_) => "That code isn't right. Check the time on your phone is set automatically, and enter the newest code.".to_owned(),
        other => sentence(&message(other)),
    };
    let typed = kept_code(&error, &form.code);
    Ok(form_error(
        &error,
        totp_page(&s, csrf, &e, (Some(message), typed))?,
    ))
}
