//! Password login: one lookup, one hash, one transaction.
//!
//! An unknown username runs the same argon2id work against a dummy hash, the same throttle
//! statements (its shadow counters) and gets the same answers as a wrong password (OWASP
//! ASVS 4.0.3 V2.2.1; no account enumeration by answer or timing). The session is bound to
//! the credential version that was verified (`PasswordProof`), so a login in flight during a
//! password change cannot survive it.

use super::new_session::SessionDraft;
use super::{AuthError, throttle};
use crate::crypto::{Token, Verification};
use crate::domain::SessionKind;
use crate::domain::{AccountId, ClientInfo, EventKind, Password, SessionId, Username};
use crate::store::{NewEvent, PasswordProof};

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
    /// A new device cookie for a browser that had none (set it for a year): later logins
    /// from this browser are throttled apart from strangers'.
    pub device_token: Option<Token>,
}

/// What a correct password leads to.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Logged in.
    LoggedIn(NewSessionToken),
    /// Two-factor authentication is on: the second step is needed.
    TwoFactor(super::ChallengeStarted),
}

impl super::Accounts<'_> {
    /// Logs in with a username and password.
    ///
    /// # Errors
    /// [`AuthError::InvalidCredentials`] for an unknown user or wrong password alike;
    /// [`AuthError::RateLimited`] while a throttle pauses; [`AuthError::LoginBlocked`] at the
    /// cap; [`AuthError::AccountDisabled`] for a disabled account (only after a right
    /// password); [`AuthError::Busy`] when the hashing queue is full.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        kind: SessionKind,
        client: &ClientInfo,
    ) -> Result<LoginOutcome, AuthError> {
        let result = self.password_step(username, password, kind, client).await;
        self.metrics.login(match &result {
            Ok(LoginOutcome::LoggedIn(_)) => "logged_in",
            Ok(LoginOutcome::TwoFactor(_)) => "second_step",
            Err(e) => e.metric_label(),
        });
        if let Err(
            e @ (AuthError::InvalidCredentials
            | AuthError::RateLimited { .. }
            | AuthError::LoginBlocked
            | AuthError::AccountDisabled),
        ) = &result
        {
            // Who tried, from where, at what (OWASP ASVS 4.0.3 7.2.1): the name as typed,
            // cut to 64 characters and written with its escapes (`?`), so a typed newline
            // cannot forge a log line (7.3.1). Never the password.
            let typed: String = username.chars().take(64).collect();
            tracing::warn!(
                username = ?typed,
                ip = client.ip.as_deref().unwrap_or("unknown"),
                target = kind.login_target(),
                reason = e.metric_label(),
                "login refused"
            );
        }
        result
    }

    /// The password step of [`login`](Self::login).
    async fn password_step(
        &self,
        username: &str,
        password: &str,
        kind: SessionKind,
        client: &ClientInfo,
    ) -> Result<LoginOutcome, AuthError> {
        self.take_address_rate(client)?;
        let password = Password::for_checking(password);
        let account = match Username::parse(username) {
            Ok(u) => self.store.accounts().account_by_username(&u).await?,
            Err(_) => None,
        };
        let known_device = match &client.device {
            // The same lookup runs for a name without an account, so it costs the same.
            Some(device) => {
                let id = account
                    .as_ref()
                    .map_or_else(|| AccountId::from_stored(""), |a| a.id.clone());
                self.store.meta().device_known(device, &id).await? && account.is_some()
            }
            None => false,
        };
        let subject = throttle::subject_of(self, account.as_ref().map(|a| &a.id), username);
        let throttle = self.login_throttle(subject, client, known_device);
        let dirty = self.check_throttle(&throttle).await?;
        let verdict = self
            .hasher
            .verify(
                &password,
                account.as_ref().map(|a| a.password_hash.as_str()),
            )
            .await?;
        let Some(account) = account else {
            return Err(self.count_wrong_password(&throttle, None).await?);
        };
        let rehash = match verdict {
            Verification::Mismatch => {
                let event = NewEvent {
                    account_id: &account.id,
                    kind: EventKind::LoginFailed,
                    at: self.now(),
                    client,
                    detail: None,
                };
                return Err(self.count_wrong_password(&throttle, Some(&event)).await?);
            }
            Verification::Match => None,
            Verification::MatchRehashed(fresh) => Some(fresh),
        };
        if account.disabled_at.is_some() {
            // Not even "disabled" is told to a guess that a pause overtook.
            self.check_throttle(&throttle).await?;
            return Err(AuthError::AccountDisabled);
        }
        let proof = PasswordProof {
            credential_version: account.credential_version,
            throttle: &throttle,
            clear: dirty,
            rehash: rehash.as_deref(),
        };
        // The account row says whether 2FA is on: a password-only login reads nothing more.
        if account.two_factor_since.is_some() {
            let tf = self.store.two_factor().record(&account.id).await?;
            return self
                .second_step()
                .start_challenge(&account, &tf, kind, client, &proof)
                .await;
        }
        let session = self
            .start_session(
                &account.id,
                &account.username,
                kind,
                client,
                EventKind::Login,
                Some(&proof),
            )
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
        account: &super::NewAccount,
        kind: SessionKind,
        client: &ClientInfo,
    ) -> Result<NewSessionToken, AuthError> {
        self.start_session(
            &account.id,
            &account.username,
            kind,
            client,
            EventKind::Login,
            None,
        )
        .await
    }

    /// Creates a session for an account whose password was just proven (`proof`) or just
    /// chosen (`None`), recording `event`.
    async fn start_session(
        &self,
        account: &AccountId,
        username: &str,
        kind: SessionKind,
        client: &ClientInfo,
        event: EventKind,
        proof: Option<&PasswordProof<'_>>,
    ) -> Result<NewSessionToken, AuthError> {
        let mut draft = SessionDraft::new(self, kind, client);
        if proof.is_some() {
            draft = draft.check_device(self, account, client).await?;
        }
        let session = draft.row(account, client, None);
        let event = NewEvent {
            account_id: account,
            kind: event,
            at: draft.now(),
            client,
            detail: None,
        };
        if !self
            .store
            .sessions()
            .complete_login(&session, &event, proof)
            .await?
        {
            let throttle = proof.map(|p| p.throttle);
            return Err(match throttle {
                Some(t) => self.proof_refused(t).await?,
                None => AuthError::InvalidCredentials,
            });
        }
        if draft.new_device() {
            self.notices().notify(account).await;
        }
        Ok(draft.issued(account.clone(), username.to_owned()))
    }
}
