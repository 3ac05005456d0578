//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): an app sends the browser to
//! the end-session endpoint with the ID token it holds; Twofold ends its own session — the
//! single sign-on of every app — and sends the browser back to a registered address.

use serde_json::Value;

use super::PageProblem;
use crate::auth::{AuthError, CurrentSession};

/// The end-session request, as sent.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct LogoutRequest {
    /// An ID token Twofold issued (expired ones are fine).
    pub id_token_hint: Option<String>,
    /// Where to go afterwards; must be registered for the client.
    pub post_logout_redirect_uri: Option<String>,
    /// Returned as sent.
    pub state: Option<String>,
    /// The client, when no hint is sent.
    pub client_id: Option<String>,
}

/// What the end-session request leads to.
#[derive(Debug)]
pub enum LogoutStep {
    /// End the session, then go to this address (with `state` added).
    Redirect(String),
    /// End the session and say so on Twofold's own page.
    Done,
    /// Ask first: without a valid hint anyone could log the user out with a link.
    Confirm,
    /// The request is wrong: say why on a page, never redirect.
    ErrorPage(PageProblem),
}

impl super::Authorization<'_> {
    /// Decides an end-session request for the browser's `session` (if any). `confirmed` is
    /// the answer of the confirmation form.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn end_session(
        &self,
        req: &LogoutRequest,
        session: Option<&CurrentSession>,
        confirmed: bool,
    ) -> Result<LogoutStep, AuthError> {
        let hint: Option<Value> = match req.id_token_hint.as_deref().filter(|h| !h.is_empty()) {
            Some(h) => match self.keys().issued_id_token(h).await? {
                Some(c) => Some(c),
                None => {
                    return Ok(LogoutStep::ErrorPage(PageProblem::ForeignIdToken));
                }
            },
            None => None,
        };
        let client_id = match (
            hint.as_ref().and_then(|c| c["aud"].as_str()),
            req.client_id.as_deref(),
        ) {
            (Some(aud), Some(id)) if aud != id => {
                return Ok(LogoutStep::ErrorPage(PageProblem::ClientMismatch));
            }
            (Some(aud), _) => Some(aud.to_owned()),
            (None, id) => id.map(str::to_owned),
        };
        let target = match req.post_logout_redirect_uri.as_deref() {
            None => None,
            Some(uri) => {
                let client = match &client_id {
                    Some(id) => self.clients().client_record(id).await?,
                    None => None,
                };
                let Some(client) = client else {
                    return Ok(LogoutStep::ErrorPage(PageProblem::LogoutWithoutClient));
                };
                if !client.post_logout_uris.iter().any(|u| u == uri) {
                    return Ok(LogoutStep::ErrorPage(PageProblem::UnknownPostLogoutUri));
                }
                let mut url = uri.to_owned();
                if let Some(state) = &req.state {
                    url.push(if url.contains('?') { '&' } else { '?' });
                    url.push_str("state=");
                    url.push_str(&urlencode(state));
                }
                Some(url)
            }
        };
        // Only an unexpired hint that names this browser's own session (its `sid` and
        // `sub`) logs out without asking: any Twofold ID token — another user's, another
        // session's, an old one — would otherwise log anyone out with a link (contract v3).
        let names_this_session = |c: &Value, s: &CurrentSession| {
            c["sid"].as_str() == Some(s.session_id.as_str())
                && c["sub"].as_str() == Some(s.account_id.as_str())
                && c["exp"].as_i64().is_some_and(|exp| exp > self.now().0)
        };
        let silent = match (&hint, session) {
            (Some(c), Some(s)) => names_this_session(c, s),
            // Nobody is logged in here: there is nothing to end, so nothing to ask.
            (Some(_), None) => true,
            (None, _) => false,
        };
        if !silent && !confirmed {
            return Ok(LogoutStep::Confirm);
        }
        Ok(match target {
            Some(url) => LogoutStep::Redirect(url),
            None => LogoutStep::Done,
        })
    }
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|e| e.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}
