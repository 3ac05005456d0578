//! Turning two-factor authentication off, and removing the phone or the app: nothing that
//! removes a way to log in happens in one tap. Each has a confirmation page of its own
//! (`GET`, so it works without JavaScript) that names what will be lost, with a red button
//! and the way to keep it; the `POST` behind the button does it, and the settings page then
//! says what happened as what it is (see `notice_for` in [`super::two_factor`]), never as
//! a green success. Every page and action needs a recent password confirmation.

use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::PageContext;
use super::csrf::{CsrfForm, NoFields};
use crate::auth::{AuthError, CurrentSession};
use crate::http::AppState;
use crate::http::error::WebError;
use crate::http::extract::{Client, RecentWebSession};

/// What the confirmation page is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum What {
    /// Turning two-factor authentication off: every method and code.
    Off,
    /// Removing the phone.
    Sms,
    /// Removing the authentication app.
    Totp,
}

impl What {
    fn title(self) -> &'static str {
        match self {
            Self::Off => "Turn off two-factor authentication?",
            Self::Sms => "Remove your phone number?",
            Self::Totp => "Remove your authentication app?",
        }
    }

    fn lead(self) -> &'static str {
        match self {
            Self::Off => "Anyone who learns your password will be able to log in as you.",
            Self::Sms => "Security codes won't be texted to you any more.",
            Self::Totp => "The codes your authentication app makes will stop working here.",
        }
    }

    /// The other way in, when this one goes and two-factor authentication stays on.
    fn still(self) -> &'static str {
        match self {
            Self::Sms => "your authentication app and your backup codes",
            Self::Off | Self::Totp => "codes texted to your phone and your backup codes",
        }
    }

    fn is_method(self) -> bool {
        self != Self::Off
    }

    fn action(self) -> &'static str {
        match self {
            Self::Off => "/settings/two-factor/disable",
            Self::Sms => "/settings/two-factor/sms/remove",
            Self::Totp => "/settings/two-factor/totp/remove",
        }
    }

    fn confirm(self) -> &'static str {
        match self {
            Self::Off => "Turn off two-factor authentication",
            Self::Sms => "Remove phone number",
            Self::Totp => "Remove authentication app",
        }
    }

    fn keep(self) -> &'static str {
        match self {
            Self::Off => "Keep two-factor authentication on",
            Self::Sms => "Keep my phone number",
            Self::Totp => "Keep my authentication app",
        }
    }
}

#[derive(Template)]
#[template(path = "two_factor_remove.html")]
struct ConfirmPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    what: What,
    /// Two-factor authentication goes too (turning it off, or its last method).
    turns_off: bool,
    /// What will be lost: the phone (masked), the app, the unused backup codes.
    phone: Option<String>,
    totp: bool,
    backup_left: Option<usize>,
}

/// The confirmation page for `what`, or back to the settings when there is nothing to remove.
async fn confirm(
    state: &AppState,
    s: &CurrentSession,
    csrf: String,
    what: What,
) -> Result<Response, WebError> {
    let st = state.auth.two_factor().two_factor_status(s).await?;
    let has_phone = st.phone.is_some();
    let has_totp = st.totp_added_at.is_some();
    let there = match what {
        What::Off => st.enabled,
        What::Sms => has_phone,
        What::Totp => has_totp,
    };
    if !there {
        return Ok(Redirect::to("/settings/two-factor").into_response());
    }
    let turns_off = match what {
        What::Off => true,
        What::Sms => !has_totp,
        What::Totp => !has_phone,
    };
    let page = ConfirmPage {
        user: Some(&s.username),
        csrf,
        what,
        turns_off,
        phone: st.phone.map(|(p, _)| p).filter(|_| what != What::Totp),
        totp: has_totp && what != What::Sms,
        backup_left: st
            .backup_codes
            .map(|(left, _, _)| left)
            .filter(|left| turns_off && *left > 0),
    };
    Ok(Html(page.render()?).into_response())
}

/// `GET /settings/two-factor/disable`: "Turn off two-factor authentication?".
pub async fn confirm_off(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: RecentWebSession(s),
        ..
    }: PageContext<RecentWebSession>,
) -> Result<Response, WebError> {
    confirm(&state, &s, csrf, What::Off).await
}

/// `GET /settings/two-factor/sms/remove`: "Remove your phone number?".
pub async fn confirm_remove_sms(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: RecentWebSession(s),
        ..
    }: PageContext<RecentWebSession>,
) -> Result<Response, WebError> {
    confirm(&state, &s, csrf, What::Sms).await
}

/// `GET /settings/two-factor/totp/remove`: "Remove your authentication app?".
pub async fn confirm_remove_totp(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: RecentWebSession(s),
        ..
    }: PageContext<RecentWebSession>,
) -> Result<Response, WebError> {
    confirm(&state, &s, csrf, What::Totp).await
}

/// `POST /settings/two-factor/sms/remove`: confirmed.
pub async fn remove_sms(
    State(state): State<AppState>,
    RecentWebSession(s): RecentWebSession,
    Client(client): Client,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, WebError> {
    match state.auth.two_factor().remove_sms(&s, &client).await {
        Ok(()) | Err(AuthError::NotFound) => {
            Ok(Redirect::to("/settings/two-factor?done=sms_removed").into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /settings/two-factor/totp/remove`: confirmed.
pub async fn remove_totp(
    State(state): State<AppState>,
    RecentWebSession(s): RecentWebSession,
    Client(client): Client,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, WebError> {
    match state.auth.two_factor().remove_totp(&s, &client).await {
        Ok(()) | Err(AuthError::NotFound) => {
            Ok(Redirect::to("/settings/two-factor?done=totp_removed").into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /settings/two-factor/disable`: confirmed.
pub async fn disable(
    State(state): State<AppState>,
    RecentWebSession(s): RecentWebSession,
    Client(client): Client,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, WebError> {
    state
        .auth
        .two_factor()
        .disable_two_factor(&s, &client)
        .await?;
    Ok(Redirect::to("/settings/two-factor?done=off").into_response())
}
