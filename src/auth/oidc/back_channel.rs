//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0): when a session an app holds
//! tokens from ends — logout, a session revoked, a security event, an operator's command —
//! `end_credentials` queues a row in that transaction (`store/lifecycle.rs`); this module
//! claims each row, signs a `logout_token` for it and POSTs it to the app's
//! `backchannel_logout_uri`, retrying with back-off for two days. The worker in `server.rs`
//! runs it on every node; a claim is a conditional update, so each goes out once at a time.
//!
//! Must not: follow a redirect (the token goes where the operator registered it), or log
//! the token.

use serde_json::json;

use crate::auth::AuthError;
use crate::crypto::Token;
use crate::domain::UnixTime;
use crate::store::LogoutRecord;

/// The event a logout token carries (Back-Channel Logout 1.0 §2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// A claimed logout is held this long by its worker before another may take it.
const LEASE_SECS: i64 = 60;
/// The first retry after a failure; each one after waits twice as long, up to an hour.
const FIRST_RETRY_SECS: i64 = 30;
const MAX_RETRY_SECS: i64 = 3600;
/// Past this age a logout is given up (and the failure logged): two days of retries.
const GIVE_UP_SECS: i64 = 2 * 86_400;
/// A logout token is good this long (§2.4: short-lived; the app checks `iat`/`exp`).
const TOKEN_SECS: i64 = 120;
/// Delivered logouts are kept this long for the record, then housekeeping deletes them.
pub(super) const KEEP_SECS: i64 = 7 * 86_400;

impl super::BackChannel<'_> {
    /// Sends every due logout token, stopping before claiming another once `go_on` says no.
    /// Returns how many were handled.
    pub async fn deliver_while(&self, go_on: impl Fn() -> bool) -> usize {
        let mut handled = 0;
        while go_on() {
            let now = self.now();
            let logout = match self.auth.store.logouts().claim(now, LEASE_SECS).await {
                Ok(Some(l)) => l,
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the back-channel logout queue; it is read again shortly");
                    break;
                }
            };
            handled += 1;
            let outcome = self.send(&logout, now).await.err();
            let (retry_at, note) = match outcome {
                None => (None, "sent".to_owned()),
                Some(why) if now.0 - logout.created_at >= GIVE_UP_SECS => {
                    tracing::warn!(client = %logout.client_id, why = %why, "a back-channel logout was given up after two days");
                    (None, format!("given up: {why}"))
                }
                Some(why) => {
                    let wait = FIRST_RETRY_SECS
                        .saturating_mul(1 << logout.attempts.clamp(0, 20))
                        .min(MAX_RETRY_SECS);
                    tracing::info!(client = %logout.client_id, why = %why, wait, "a back-channel logout failed; it is tried again");
                    (Some(now.plus(wait)), format!("retrying: {why}"))
                }
            };
            if let Err(e) = self
                .auth
                .store
                .logouts()
                .finish(logout.id, now, retry_at, &note)
                .await
            {
                tracing::warn!(error = %e, "could not record a back-channel logout; it may be sent again");
            }
        }
        handled
    }

    /// Signs and POSTs one logout token; the reason when the app did not take it.
    async fn send(&self, l: &LogoutRecord, now: UnixTime) -> Result<(), String> {
        let token = self.logout_token(l, now).await.map_err(|e| {
            tracing::warn!(error = %e, "could not sign a logout token");
            "could not sign".to_owned()
        })?;
        let Some(http) = &self.http else {
            return Err("no HTTP client".into());
        };
        let res = http
            .post(&l.uri)
            .header(reqwest::header::CACHE_CONTROL, "no-store")
            .form(&[("logout_token", token.as_str())])
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    "timed out".to_owned()
                } else {
                    "could not connect".to_owned()
                }
            })?;
        // §2.8: the app answers 200 (or 204) once it logged the session out.
        if res.status().is_success() {
            tracing::info!(client = %l.client_id, "back-channel logout delivered");
            Ok(())
        } else {
            Err(format!("the app answered {}", res.status().as_u16()))
        }
    }

    /// The `logout_token` (§2.4): `iss`, `aud`, `iat`, `exp`, `jti`, `sub`, `sid` and the
    /// event, no `nonce`, header `typ` `logout+jwt`.
    async fn logout_token(&self, l: &LogoutRecord, now: UnixTime) -> Result<String, AuthError> {
        let key = self.keys().signing_key().await?;
        let jti = Token::generate().hash().as_str()[..32].to_owned();
        let claims = json!({
            "iss": self.policy.issuer,
            "aud": l.client_id,
            "iat": now.0,
            "exp": now.0 + TOKEN_SECS,
            "jti": jti,
            "sub": l.account_id,
            "sid": l.session_id,
            "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
        });
        Ok(key.sign_typed(&claims, "logout+jwt")?)
    }
}
