//! Password login: one hash, one lookup, one transaction.
//!
//! An unknown username runs the same argon2id work against a dummy hash and gets the same
//! answer as a wrong password (OWASP ASVS 4.0.3 V2.2.1; no account enumeration by timing).

use super::{Auth, AuthError};
use crate::crypto::{Token, Verification};
use crate::domain::{AccountId, ClientInfo, EventKind, Password, SessionId, Username};
use crate::store::{AccountRecord, NewEvent, NewSession, SessionKind};

/// A freshly created session, with the token the client must keep.
#[derive(Debug)]
pub struct NewSessionToken {
    /// The session's public id.
    pub session_id: SessionId,
    /// The secret token, shown to the client once.
    pub token: Token,
    /// Whose session.
    pub account_id: AccountId,
    /// The account's username.
    pub username: String,
}

/// What a correct password leads to.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Logged in.
    LoggedIn(NewSessionToken),
    /// Two-factor authentication is on: the second step is needed.
    TwoFactor(super::ChallengeStarted),
}

impl Auth {
    /// Logs in with a username and password.
    ///
    /// # Errors
    /// [`AuthError::InvalidCredentials`] for an unknown user or wrong password alike;
    /// [`AuthError::RateLimited`] while password logins are paused;
    /// [`AuthError::AccountDisabled`] for a disabled account (only after a right password).
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        kind: SessionKind,
        client: &ClientInfo,
    ) -> Result<LoginOutcome, AuthError> {
        let password = Password::for_checking(password);
        let account = match Username::parse(username) {
            Ok(u) => self.store.account_by_username(&u).await?,
            Err(_) => None,
        };
        let now = self.now();
        if let Some(until) = account
            .as_ref()
            .and_then(|a| a.locked_until)
            .filter(|u| *u > now)
        {
            return Err(AuthError::RateLimited {
                retry_after: until.0 - now.0,
            });
        }
        let verdict = self
            .hasher
            .verify(
                &password,
                account.as_ref().map(|a| a.password_hash.as_str()),
            )
            .await?;
        let Some(account) = account else {
            return Err(AuthError::InvalidCredentials);
        };
        let rehash = match verdict {
            Verification::Mismatch => return Err(self.record_failure(&account, client).await?),
            Verification::Match => None,
            Verification::MatchRehashed(fresh) => Some(fresh),
        };
        if account.disabled_at.is_some() {
            return Err(AuthError::AccountDisabled);
        }
        // The account row says whether 2FA is on: a password-only login reads nothing more.
        if account.two_factor_since.is_some() {
            let tf = self.store.two_factor(&account.id).await?;
            return self
                .start_challenge(&account, &tf, kind, client, rehash.as_deref())
                .await;
        }
        let session = self
            .start_session(&account, kind, client, EventKind::Login, rehash.as_deref())
            .await?;
        Ok(LoginOutcome::LoggedIn(session))
    }

    /// Opens a session right after sign-up (the password was just chosen, so it is not
    /// hashed a second time).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn session_after_sign_up(
        &self,
        account: &AccountRecord,
        kind: SessionKind,
        client: &ClientInfo,
    ) -> Result<NewSessionToken, AuthError> {
        self.start_session(account, kind, client, EventKind::Login, None)
            .await
    }

    /// Creates a session for an account whose identity was just proven, recording `event`.
    pub(crate) async fn start_session(
        &self,
        account: &AccountRecord,
        kind: SessionKind,
        client: &ClientInfo,
        event: EventKind,
        rehash: Option<&str>,
    ) -> Result<NewSessionToken, AuthError> {
        let now = self.now();
        let token = Token::generate();
        let session_id = SessionId::generate();
        let hash = token.hash();
        let session = NewSession {
            id: &session_id,
            token_hash: &hash,
            account_id: &account.id,
            kind,
            now,
            expires_at: now.plus(self.policy.session_absolute_secs),
            client,
        };
        let event = NewEvent {
            account_id: &account.id,
            kind: event,
            at: now,
            client,
            detail: None,
        };
        let clear = account.failed_logins != 0 || account.locked_until.is_some();
        if !self
            .store
            .complete_login(&session, &event, clear, rehash)
            .await?
        {
            return Err(self.paused(&account.id).await?);
        }
        Ok(NewSessionToken {
            session_id,
            token,
            account_id: account.id.clone(),
            username: account.username.clone(),
        })
    }

    /// The answer for an account whose password logins were paused while its password was
    /// being checked.
    pub(super) async fn paused(&self, account: &AccountId) -> Result<AuthError, AuthError> {
        let now = self.now();
        let until = self
            .store
            .account_by_id(account)
            .await?
            .and_then(|a| a.locked_until)
            .unwrap_or(now.plus(1));
        Ok(AuthError::RateLimited {
            retry_after: (until.0 - now.0).max(1),
        })
    }

    /// Counts a wrong password for an existing account, atomically in the database, and
    /// gives the answer: `InvalidCredentials`, or `RateLimited` when logins were already
    /// paused (then the guess is neither counted nor told apart from a right one).
    pub(super) async fn record_failure(
        &self,
        account: &AccountRecord,
        client: &ClientInfo,
    ) -> Result<AuthError, AuthError> {
        let event = NewEvent {
            account_id: &account.id,
            kind: EventKind::LoginFailed,
            at: self.now(),
            client,
            detail: None,
        };
        let policy = &self.policy;
        let failure = self
            .store
            .record_login_failure(&account.id, &event, policy.login_lock_threshold, |n| {
                policy.lock_for(n)
            })
            .await?;
        if let Some(until) = failure.paused_until {
            return Ok(AuthError::RateLimited {
                retry_after: (until.0 - self.now().0).max(1),
            });
        }
        if failure.consecutive % policy.login_lock_threshold.max(1) == 0 {
            tracing::warn!(account = %account.id, consecutive = failure.consecutive, "password logins paused after repeated wrong passwords");
        }
        Ok(AuthError::InvalidCredentials)
    }
}
