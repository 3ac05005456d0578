//! Turning two-factor authentication off, and removing the phone or the app: nothing that
//! removes a way to log in happens in one tap. Each has a confirmation page of its own
//! (`GET`, so it works without JavaScript) that names what will be lost, with a red button
//! and the way to keep it; the `POST` behind the button does it, and the settings page then
//! says what happened as what it is (see `notice_for` in [`super::two_factor`]), never as
//! a green success. Every page and action needs a recent password confirmation.

use askama::Template;
use axum::extract::{Path, State};
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
    /// Removing one passkey or security key.
    Passkey,
}

impl What {
    fn title(self) -> &'static str {
        match self {
            Self::Off => "Turn off two-factor authentication?",
            Self::Sms => "Remove your phone number?",
            Self::Totp => "Remove your authentication app?",
            Self::Passkey => "Remove this passkey?",
        }
    }

    fn lead(self) -> &'static str {
        match self {
            Self::Off => "Anyone who learns your password will be able to log in as you.",
            Self::Sms => "Security codes won't be texted to you any more.",
            Self::Totp => "The codes your authentication app makes will stop working here.",
            Self::Passkey => "You won't be able to confirm it's you with it any more.",
        }
    }

    fn is_method(self) -> bool {
        self != Self::Off
    }

    fn confirm(self) -> &'static str {
        match self {
            Self::Off => "Turn off two-factor authentication",
            Self::Sms => "Remove phone number",
            Self::Totp => "Remove authentication app",
            Self::Passkey => "Remove passkey",
        }
    }

    fn keep(self) -> &'static str {
        match self {
            Self::Off => "Keep two-factor authentication on",
            Self::Sms => "Keep my phone number",
            Self::Totp => "Keep my authentication app",
            Self::Passkey => "Keep this passkey",
        }
    }
}

#[derive(Template)]
#[template(path = "two_factor_remove.html")]
struct ConfirmPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    what: What,
    /// Where the red button posts.
    action: String,
    /// Two-factor authentication goes too (turning it off, or its last method).
    turns_off: bool,
    /// What will be lost: the phone (masked), the app, passkeys by name, the unused backup
    /// codes.
    phone: Option<String>,
    totp: bool,
    passkeys: Vec<String>,
    backup_left: Option<usize>,
    /// The ways in that stay, when two-factor authentication stays on.
    still: String,
}

/// The ways in left after the removal, in words.
fn still_text(phone: bool, totp: bool, passkeys: usize) -> String {
    let mut ways = Vec::new();
    if passkeys == 1 {
        ways.push("your other passkey".to_owned());
    } else if passkeys > 1 {
        ways.push("your other passkeys".to_owned());
    }
    if totp {
        ways.push("your authentication app".to_owned());
    }
    if phone {
        ways.push("codes texted to your phone".to_owned());
    }
    ways.push("your backup codes".to_owned());
    let last = ways.pop().unwrap_or_default();
    match ways.len() {
        0 => last,
        1 => format!("{} and {last}", ways[0]),
        _ => format!("{}, and {last}", ways.join(", ")),
    }
}

/// The confirmation page for `what` (with `passkey`: the id of the one to remove), or back
/// to the settings when there is nothing to remove.
async fn confirm(
    state: &AppState,
    s: &CurrentSession,
    csrf: String,
    what: What,
    passkey: Option<&str>,
) -> Result<Response, WebError> {
    let st = state.auth.two_factor().two_factor_status(s).await?;
    let keys = state.auth.passkeys().list(s).await?;
    let chosen = passkey.and_then(|id| keys.iter().find(|p| p.id.as_str() == id));
    let has_phone = st.phone.is_some();
    let has_totp = st.totp_added_at.is_some();
    let there = match what {
        What::Off => st.enabled,
        What::Sms => has_phone,
        What::Totp => has_totp,
        What::Passkey => chosen.is_some(),
    };
    if !there {
        return Ok(Redirect::to("/settings/two-factor").into_response());
    }
    // What stays after the removal.
    let phone_stays = has_phone && what != What::Sms;
    let totp_stays = has_totp && what != What::Totp;
    let passkeys_stay = keys.len() - usize::from(what == What::Passkey);
    let turns_off = what == What::Off || !(phone_stays || totp_stays || passkeys_stay > 0);
    let lost = |kept: bool| turns_off || !kept;
    let page = ConfirmPage {
        user: Some(&s.username),
        csrf,
        what,
        action: match (what, chosen) {
            (What::Off, _) => "/settings/two-factor/disable".to_owned(),
            (What::Sms, _) => "/settings/two-factor/sms/remove".to_owned(),
            (What::Totp, _) => "/settings/two-factor/totp/remove".to_owned(),
            (What::Passkey, p) => format!(
                "/settings/two-factor/passkeys/{}/remove",
                p.map(|p| p.id.as_str()).unwrap_or_default()
            ),
        },
        turns_off,
        phone: st.phone.map(|(p, _)| p).filter(|_| lost(phone_stays)),
        totp: has_totp && lost(totp_stays),
        passkeys: keys
            .iter()
            .filter(|p| turns_off || chosen.is_some_and(|c| c.id == p.id))
            .map(|p| p.name.clone())
            .collect(),
        backup_left: st
            .backup_codes
            .map(|(left, _, _)| left)
            .filter(|left| turns_off && *left > 0),
        still: still_text(phone_stays, totp_stays, passkeys_stay),
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
    confirm(&state, &s, csrf, What::Off, None).await
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
    confirm(&state, &s, csrf, What::Sms, None).await
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
    confirm(&state, &s, csrf, What::Totp, None).await
}

/// `GET /settings/two-factor/passkeys/{id}/remove`: "Remove this passkey?".
pub async fn confirm_remove_passkey(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: RecentWebSession(s),
        ..
    }: PageContext<RecentWebSession>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    confirm(&state, &s, csrf, What::Passkey, Some(&id)).await
}

/// `POST /settings/two-factor/passkeys/{id}/remove`: confirmed.
pub async fn remove_passkey(
    State(state): State<AppState>,
    RecentWebSession(s): RecentWebSession,
    Client(client): Client,
    Path(id): Path<String>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, WebError> {
    match state.auth.passkeys().remove(&s, &id, &client).await {
        Ok(()) | Err(AuthError::NotFound) => {
            Ok(Redirect::to("/settings/two-factor?done=passkey_removed").into_response())
        }
        Err(e) => Err(e.into()),
    }
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
