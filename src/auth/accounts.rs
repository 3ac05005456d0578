//! Sign-up, password change and the operator's enable/disable.

use super::{Auth, AuthError, CurrentSession};
use crate::crypto::Verification;
use crate::domain::{AccountId, ClientInfo, EventKind, Password, Username};
use crate::store::{AccountRecord, NewEvent, StoreError};

impl Auth {
    /// Creates an account. The username and password are parsed here, so every caller
    /// applies the same rules.
    ///
    /// # Errors
    /// [`AuthError::InvalidUsername`], [`AuthError::WeakPassword`], [`AuthError::UsernameTaken`].
    pub async fn sign_up(
        &self,
        username: &str,
        password: &str,
    ) -> Result<AccountRecord, AuthError> {
        let username = Username::parse(username)?;
        let password = Password::parse_new(password, &username)?;
        if self.store.account_by_username(&username).await?.is_some() {
            // Checked first to spare a hash; the unique index below still decides races.
            return Err(AuthError::UsernameTaken);
        }
        let hash = self.hasher.hash(&password).await?;
        let id = AccountId::generate();
        let now = self.now();
        match self.store.create_account(&id, &username, &hash, now).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Err(AuthError::UsernameTaken),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(account = %id, username = %username, "account created");
        self.store
            .account_by_id(&id)
            .await?
            .ok_or(AuthError::NotFound)
    }

    /// Changes the password after checking the current one; every other session ends.
    ///
    /// # Errors
    /// [`AuthError::InvalidCredentials`] for a wrong current password,
    /// [`AuthError::WeakPassword`] for an unacceptable new one.
    pub async fn change_password(
        &self,
        session: &CurrentSession,
        current: &str,
        new: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let username = Username::parse(&session.username)?;
        let new = Password::parse_new(new, &username)?;
        self.check_password(session, current, client).await?;
        let hash = self.hasher.hash(&new).await?;
        let event = NewEvent {
            account_id: &session.account_id,
            kind: EventKind::PasswordChanged,
            at: self.now(),
            client,
            detail: None,
        };
        self.store
            .change_password(&session.session_id, &hash, &event)
            .await?;
        tracing::info!(account = %session.account_id, "password changed; other sessions ended");
        // OWASP ASVS 4.0.3 V2.5.5: tell the owner that a credential changed.
        if let Some((phone, _)) = self.store.two_factor(&session.account_id).await?.phone {
            self.notify(session, Some(&phone), "the password was changed")
                .await;
        }
        Ok(())
    }

    /// Checks the password of the session's account (for re-authentication and changes).
    /// A wrong password counts toward the login limit like a failed login.
    pub(super) async fn check_password(
        &self,
        session: &CurrentSession,
        password: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let account = self
            .store
            .account_by_id(&session.account_id)
            .await?
            .ok_or(AuthError::Unauthenticated)?;
        let now = self.now();
        if let Some(until) = account.locked_until.filter(|u| *u > now) {
            return Err(AuthError::RateLimited {
                retry_after: until.0 - now.0,
            });
        }
        let password = Password::for_checking(password);
        match self
            .hasher
            .verify(&password, Some(&account.password_hash))
            .await?
        {
            Verification::Mismatch => Err(self.record_failure(&account, client).await?),
            Verification::Match => Ok(()),
            Verification::MatchRehashed(fresh) => {
                self.store.update_password_hash(&account.id, &fresh).await?;
                Ok(())
            }
        }
    }

    /// Disables or enables an account (admin CLI). Returns `false` for an unknown user.
    ///
    /// # Errors
    /// On a database failure or an invalid username.
    pub async fn set_disabled(&self, username: &str, disabled: bool) -> Result<bool, AuthError> {
        let username = Username::parse(username)?;
        let now = self.now();
        Ok(self
            .store
            .set_disabled(&username, disabled.then_some(now), now)
            .await?)
    }
}
