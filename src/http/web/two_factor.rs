//! Settings → Security → Two-factor authentication: text message, authentication app,
//! turning off. Every page and action needs a recent password confirmation.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine;
use serde::Deserialize;

use super::PageContext;
use super::backup_codes::{Made, just_made};
use super::csrf::{CsrfForm, NoFields};
use crate::auth::{AuthError, CurrentSession, MethodConfirmed, TotpEnrolment};
use crate::http::AppState;
use crate::http::error::{WebError, form_error, message, sentence, status_for};
use crate::http::extract::{Client, RecentWebSession};
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
    backup: Option<(usize, usize, String)>,
    notice: Option<&'static str>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "two_factor_sms_verify.html")]
struct SmsVerifyPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    phone: String,
    error: Option<String>,
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
}

/// `?done=…`
#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

async fn settings(
    state: &AppState,
    s: &CurrentSession,
    csrf: String,
    notice: Option<&'static str>,
    phone_input: (&str, Option<String>),
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let st = state.auth.two_factor_status(s).await?;
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
        backup: st
            .backup_codes
            .map(|(left, total, at)| (left, total, at.human())),
        notice,
        error,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// `GET /settings/two-factor`.
pub async fn page(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: RecentWebSession(s),
    }: PageContext<RecentWebSession>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, WebError> {
    let notice = match q.done.as_deref() {
        Some("sms") => Some("Your phone number is verified. Security codes will be sent to it."),
        Some("totp") => Some("Your authentication app is set up."),
        Some("sms_removed") => Some("The phone number was removed."),
        Some("totp_removed") => Some("The authentication app was removed."),
        Some("off") => Some("Two-factor authentication is off. Your backup codes no longer work."),
        _ => None,
    };
    settings(&state, &s, csrf, notice, ("", None), None, StatusCode::OK).await
}

/// The phone form.
#[derive(Deserialize)]
pub struct PhoneForm {
    #[serde(default)]
    phone: String,
}

/// `POST /settings/two-factor/sms`: sends a code to the number.
pub async fn start_sms(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: RecentWebSession(s),
    }: PageContext<RecentWebSession>,
    CsrfForm(form): CsrfForm<PhoneForm>,
) -> Result<Response, WebError> {
    let error = match state.auth.start_sms(&s, &form.phone).await {
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
    settings(
        &state,
        &s,
        csrf,
        None,
        (form.phone.trim(), Some(sentence(&message(&error)))),
        None,
        status,
    )
    .await
}

/// `GET /settings/two-factor/sms/verify`.
pub async fn sms_verify_page(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: RecentWebSession(s),
    }: PageContext<RecentWebSession>,
) -> Result<Response, WebError> {
    let Some(phone) = state.auth.two_factor_status(&s).await?.pending_phone else {
        return Ok(Redirect::to("/settings/two-factor#sms").into_response());
    };
    let page = SmsVerifyPage {
        user: Some(&s.username),
        csrf,
        phone,
        error: None,
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
fn confirmed(
    state: &AppState,
    s: &CurrentSession,
    m: MethodConfirmed,
    done: &str,
) -> Result<Response, WebError> {
    match m.backup_codes {
        Some(codes) => just_made(state, s, &codes, Made::On),
        None => Ok(Redirect::to(&format!("/settings/two-factor?done={done}")).into_response()),
    }
}

/// `POST /settings/two-factor/sms/verify`.
pub async fn sms_verify(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: RecentWebSession(s),
    }: PageContext<RecentWebSession>,
    Client(client): Client,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<Response, WebError> {
    let error = match state.auth.confirm_sms(&s, &form.code, &client).await {
        Ok(m) => return confirmed(&state, &s, m, "sms"),
        Err(AuthError::NothingPending(_)) => {
            return Ok(Redirect::to("/settings/two-factor#sms").into_response());
        }
        Err(e @ AuthError::PhoneInUse) => {
            let msg = sentence(&message(&e));
            return settings(
                &state,
                &s,
                csrf,
                None,
                ("", Some(msg)),
                None,
                StatusCode::CONFLICT,
            )
            .await;
        }
        Err(e @ (AuthError::InvalidCode(_) | AuthError::MalformedCode(_))) => e,
        Err(e) => return Err(e.into()),
    };
    let phone = state
        .auth
        .two_factor_status(&s)
        .await?
        .pending_phone
        .unwrap_or_default();
    let page = SmsVerifyPage {
        user: Some(&s.username),
        csrf,
        phone,
        error: Some(sentence(&message(&error))),
    };
    Ok(form_error(&error, Html(page.render()?)))
}

fn totp_page(
    s: &CurrentSession,
    csrf: String,
    e: &TotpEnrolment,
    error: Option<String>,
) -> Result<Html<String>, WebError> {
    let png = qr_png(&e.uri, 6).map_err(|err| WebError::from(AuthError::Internal(err)))?;
    let page = TotpPage {
        user: Some(&s.username),
        csrf,
        qr: base64::engine::general_purpose::STANDARD.encode(png),
        secret: e.secret.base32_grouped(),
        uri: e.uri.clone(),
        error,
    };
    Ok(Html(page.render()?))
}

/// `GET /settings/two-factor/totp`: the QR code (the pending one, or a new one).
pub async fn totp_setup(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: RecentWebSession(s),
    }: PageContext<RecentWebSession>,
) -> Result<Response, WebError> {
    let e = match state.auth.pending_totp(&s).await? {
        Some(e) => e,
        None => state.auth.start_totp(&s).await?,
    };
    Ok(totp_page(&s, csrf, &e, None)?.into_response())
}

/// `POST /settings/two-factor/totp/restart`: "Get a new QR code".
pub async fn totp_restart(
    State(state): State<AppState>,
    RecentWebSession(s): RecentWebSession,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, WebError> {
    state.auth.start_totp(&s).await?;
    Ok(Redirect::to("/settings/two-factor/totp").into_response())
}

/// `POST /settings/two-factor/totp`: confirms the app with a code.
pub async fn totp_confirm(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: RecentWebSession(s),
    }: PageContext<RecentWebSession>,
    Client(client): Client,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<Response, WebError> {
    let error = match state.auth.confirm_totp(&s, &form.code, &client).await {
        Ok(m) => return confirmed(&state, &s, m, "totp"),
        Err(AuthError::NothingPending(_)) => {
            return Ok(Redirect::to("/settings/two-factor/totp").into_response());
        }
        Err(e @ (AuthError::InvalidCode(_) | AuthError::MalformedCode(_))) => e,
        Err(e) => return Err(e.into()),
    };
    let Some(e) = state.auth.pending_totp(&s).await? else {
        return Ok(Redirect::to("/settings/two-factor/totp").into_response());
    };
    let message = match error {
        AuthError::InvalidCode(_) => "That code isn't right. Check the time on your phone is set automatically, and enter the newest code.".to_owned(),
        other => sentence(&message(&other)),
    };
    Ok((
        StatusCode::UNAUTHORIZED,
        totp_page(&s, csrf, &e, Some(message))?,
    )
        .into_response())
}

/// `POST /settings/two-factor/sms/remove`.
pub async fn remove_sms(
    State(state): State<AppState>,
    RecentWebSession(s): RecentWebSession,
    Client(client): Client,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, WebError> {
    match state.auth.remove_sms(&s, &client).await {
        Ok(()) | Err(AuthError::NotFound) => {
            Ok(Redirect::to("/settings/two-factor?done=sms_removed").into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /settings/two-factor/totp/remove`.
pub async fn remove_totp(
    State(state): State<AppState>,
    RecentWebSession(s): RecentWebSession,
    Client(client): Client,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, WebError> {
    match state.auth.remove_totp(&s, &client).await {
        Ok(()) | Err(AuthError::NotFound) => {
            Ok(Redirect::to("/settings/two-factor?done=totp_removed").into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /settings/two-factor/disable`.
pub async fn disable(
    State(state): State<AppState>,
    RecentWebSession(s): RecentWebSession,
    Client(client): Client,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, WebError> {
    state.auth.disable_two_factor(&s, &client).await?;
    Ok(Redirect::to("/settings/two-factor?done=off").into_response())
}
