//! Sessions: finding the session behind a token, its lifetimes, recent authentication,
//! listing and ending sessions, and login activity.

use super::AuthError;
use crate::crypto::Token;
use crate::domain::SessionKind;
use crate::domain::{AccountId, ClientInfo, CredentialEvent, EventKind, SessionId, UnixTime};
use crate::store::{EventRecord, NewEvent, SessionRecord};

/// How often (seconds) a session's "last seen" is written back; reads in between are free.
const TOUCH_EVERY_SECS: i64 = 60;

/// A confirmed password: the browser's new session token, when it got one.
#[derive(Debug)]
pub struct Reauthenticated {
    /// The new token of a browser session (set it as the session cookie).
    pub token: Option<Token>,
}

/// One of the account's live sessions, as pages and the API list them.
#[derive(Clone, Debug)]
pub struct SessionSummary {
    /// Its public id.
    pub id: SessionId,
    /// Browser or app.
    pub kind: SessionKind,
    /// When it was created.
    pub created_at: UnixTime,
    /// When it was last used (to a minute).
    pub last_seen_at: UnixTime,
    /// The address it was last seen from.
    pub ip: Option<String>,
    /// The user agent that created it.
    pub user_agent: Option<String>,
}

/// One entry of the login activity.
#[derive(Clone, Debug)]
pub struct ActivityEntry {
    /// The kind's API name (`login`, `password_changed`, …).
    pub kind: String,
    /// When.
    pub at: UnixTime,
    /// From which address.
    pub ip: Option<String>,
    /// From which user agent (the operator's name for admin changes).
    pub user_agent: Option<String>,
    /// A few words more.
    pub detail: Option<String>,
}

impl From<SessionRecord> for SessionSummary {
    fn from(r: SessionRecord) -> Self {
        Self {
            id: r.id,
            kind: r.kind,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            ip: r.ip,
            user_agent: r.user_agent,
        }
    }
}

impl From<EventRecord> for ActivityEntry {
    fn from(r: EventRecord) -> Self {
        Self {
            kind: r.kind,
            at: r.at,
            ip: r.ip,
            user_agent: r.user_agent,
            detail: r.detail,
        }
    }
}

/// The session a request is made in.
#[derive(Clone, Debug)]
pub struct CurrentSession {
    /// The session's public id.
    pub session_id: SessionId,
    /// Whose.
    pub account_id: AccountId,
    /// The account's username.
    pub username: String,
    /// Browser or app.
    pub kind: SessionKind,
    /// When the password was last confirmed in it.
    pub reauth_at: UnixTime,
    /// When its login happened (OpenID Connect `auth_time`).
    pub created_at: UnixTime,
    /// The first factor its login used: the password, or a passkey and no password.
    pub first_factor: crate::domain::FirstFactor,
    /// The second factor its login used; `None` for a password alone.
    pub second_factor: Option<crate::domain::Method>,
    /// The account's confirmed email address (for forward authentication's
    /// `Remote-Email`).
    pub email: Option<String>,
}

impl super::Sessions<'_> {
    /// Finds the live session of this kind behind a token (a browser's cookie is never an
    /// API token, nor the other way round). Expired sessions are deleted on sight.
    ///
    /// # Errors
    /// [`AuthError::Unauthenticated`] for an unknown, expired, other-kind or disabled-account
    /// token.
    pub async fn authenticate(
        &self,
        token: &Token,
        kind: SessionKind,
        client: &ClientInfo,
    ) -> Result<CurrentSession, AuthError> {
        let Some(s) = self
            .store
            .sessions()
            .session_by_token(&token.hash(), kind)
            .await?
        else {
            return Err(AuthError::Unauthenticated);
        };
        let now = self.now();
        if now >= s.expires_at || now.0 - s.last_seen_at.0 >= self.policy.session_idle_secs {
            self.store.sessions().delete_session(&s.id, now).await?;
            return Err(AuthError::Unauthenticated);
        }
        if now.0 - s.last_seen_at.0 >= TOUCH_EVERY_SECS {
            self.store
                .sessions()
                .touch_session(&s.id, now, client.ip.as_deref())
                .await?;
        }
        Ok(CurrentSession {
            session_id: s.id,
            account_id: s.account_id,
            username: s.username,
            kind: s.kind,
            reauth_at: s.reauth_at,
            created_at: s.created_at,
            first_factor: s.first_factor,
            second_factor: s.second_factor,
            email: s.email,
        })
    }

    /// Whether the session's password confirmation is recent enough for sensitive changes.
    pub fn is_recent(&self, session: &CurrentSession) -> bool {
        self.now().0 - session.reauth_at.0 < self.policy.recent_auth_secs
    }

    /// Confirms the password and opens the recent-authentication window on this session. A
    /// browser session also gets a new token (OWASP ASVS 4.0.3 V3.2.1: a token seen before
    /// the confirmation is worth nothing after it); an app keeps its token, as the API's
    /// `204` promises.
    ///
    /// # Errors
    /// [`AuthError::InvalidCredentials`] for a wrong password; [`AuthError::RateLimited`].
    pub async fn reauthenticate(
        &self,
        session: &CurrentSession,
        password: &str,
        client: &ClientInfo,
    ) -> Result<Reauthenticated, AuthError> {
        self.accounts()
            .check_password(session, password, client)
            .await?;
        let now = self.now();
        if session.kind == SessionKind::Web {
            let token = Token::generate();
            self.store
                .sessions()
                .rotate_session_token(&session.session_id, &token.hash(), now)
                .await?;
            return Ok(Reauthenticated { token: Some(token) });
        }
        self.store
            .sessions()
            .set_reauth(&session.session_id, now)
            .await?;
        Ok(Reauthenticated { token: None })
    }

    /// Logs out every other session of the account ("Log out of all other sessions") and
    /// every login in flight. Returns how many sessions ended.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn log_out_others(
        &self,
        session: &CurrentSession,
        client: &ClientInfo,
    ) -> Result<u64, AuthError> {
        let event = NewEvent {
            detail: Some("every other session logged out"),
            ..self.event(session, EventKind::SessionRevoked, client)
        };
        Ok(self
            .store
            .sessions()
            .end_sessions(
                CredentialEvent::OthersLoggedOut,
                Some(&session.session_id),
                &event,
            )
            .await?)
    }

    /// Logs out the current session.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn logout(
        &self,
        session: &CurrentSession,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let event = self.event(session, EventKind::Logout, client);
        self.store
            .sessions()
            .end_session(&session.session_id, &event)
            .await?;
        Ok(())
    }

    /// Logs out one of the account's sessions ("Where you're logged in").
    ///
    /// # Errors
    /// [`AuthError::NotFound`] when the account has no session with that id.
    pub async fn revoke_session(
        &self,
        session: &CurrentSession,
        target: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let target = SessionId::from_stored(target);
        let kind = if target == session.session_id {
            EventKind::Logout
        } else {
            EventKind::SessionRevoked
        };
        let event = self.event(session, kind, client);
        if self.store.sessions().end_session(&target, &event).await? {
            Ok(())
        } else {
            Err(AuthError::NotFound)
        }
    }

    /// The account's live sessions, newest activity first.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list(&self, session: &CurrentSession) -> Result<Vec<SessionSummary>, AuthError> {
        self.live_sessions(&session.account_id).await
    }

    /// The live sessions of an account.
    pub(super) async fn live_sessions(
        &self,
        account: &AccountId,
    ) -> Result<Vec<SessionSummary>, AuthError> {
        let now = self.now();
        let idle = self.policy.session_idle_secs;
        Ok(self
            .store
            .sessions()
            .list_sessions(account)
            .await?
            .into_iter()
            .filter(|s| now < s.expires_at && now.0 - s.last_seen_at.0 < idle)
            .map(SessionSummary::from)
            .collect())
    }

    /// The account's newest activity events, newest first.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn activity(
        &self,
        session: &CurrentSession,
        limit: i64,
    ) -> Result<Vec<ActivityEntry>, AuthError> {
        Ok(self
            .store
            .events()
            .list_events(&session.account_id, limit)
            .await?
            .into_iter()
            .map(ActivityEntry::from)
            .collect())
    }

    fn event<'a>(
        &self,
        session: &'a CurrentSession,
        kind: EventKind,
        client: &'a ClientInfo,
    ) -> NewEvent<'a> {
        NewEvent {
            account_id: &session.account_id,
            kind,
            at: self.now(),
            client,
            detail: None,
        }
    }
}
