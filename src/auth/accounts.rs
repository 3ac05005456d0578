//! Sign-up, password change and the operator's enable/disable.

use super::{AuthError, CurrentSession};
use crate::crypto::Verification;
use crate::domain::{AccountId, ClientInfo, CredentialEvent, EventKind, Password, Username};
use crate::store::{InvitedAccount, InvitedOutcome, NewEvent, PasswordProof, StoreError};

/// What a sign-up sends: the username and password, and the invitation's token (and the
/// address typed with it) when there is one.
#[derive(Clone, Copy)]
pub struct SignUp<'a> {
    /// The username as typed.
    pub username: &'a str,
    /// The password as typed.
    pub password: &'a str,
    /// The token of the invitation link, if any.
    pub invitation: Option<&'a str>,
    /// The email address typed with an invitation, if any.
    pub email: Option<&'a str>,
}

impl<'a> SignUp<'a> {
    /// A sign-up without an invitation.
    pub fn plain(username: &'a str, password: &'a str) -> Self {
        Self {
            username,
            password,
            invitation: None,
            email: None,
        }
    }
}

/// A freshly created account.
#[derive(Clone, Debug)]
pub struct NewAccount {
    /// Its id.
    pub id: AccountId,
    /// Its canonical username.
    pub username: String,
}

impl super::Accounts<'_> {
    /// Creates an account, through the sign-up's gate (`--sign-up`, invitations). The
    /// username and password are parsed here, so every caller applies the same rules.
    ///
    /// # Errors
    /// [`AuthError::SignUpClosed`], [`AuthError::InvitationRequired`],
    /// [`AuthError::InvalidUsername`], [`AuthError::WeakPassword`], [`AuthError::UsernameTaken`],
    /// [`AuthError::RateLimited`] when the client's address has signed up enough for now.
    pub async fn sign_up(
        &self,
        request: &SignUp<'_>,
        client: &ClientInfo,
    ) -> Result<NewAccount, AuthError> {
        self.take_address_rate(client)?;
        let invitation = self
            .invitations()
            .admit(request.invitation, request.email)
            .await?;
        let username = Username::parse(request.username)?;
        let password =
            Password::parse_new(request.password, &username, &self.policy.password_context)?;
        if self
            .store
            .accounts()
            .account_by_username(&username)
            .await?
            .is_some()
        {
            // Checked first to spare a hash; the unique index below still decides races.
            return Err(AuthError::UsernameTaken);
        }
        // Fresh accounts are what SMS pumping is made of: a few per address and hour, on
        // every node (counted in the database).
        self.charge_sign_up(&super::throttle::address_key(client))
            .await?;
        let hash = self.hasher.hash(&password).await?;
        let id = AccountId::generate();
        let now = self.now();
        let created = match &invitation {
            None => self
                .store
                .accounts()
                .create_account(&id, &username, &hash, now)
                .await
                .map(|()| InvitedOutcome::Created),
            // The invitation is taken in the account's own transaction: one account per link.
            Some(token_hash) => {
                self.store
                    .invitations()
                    .create_account(&InvitedAccount {
                        id: &id,
                        username: &username,
                        password_hash: &hash,
                        token_hash: token_hash.as_str(),
                        now,
                    })
                    .await
            }
        };
        match created {
            Ok(InvitedOutcome::Created) => {}
            Ok(InvitedOutcome::InvitationGone) => {
                return Err(AuthError::InvitationRequired(
                    super::InvitationProblem::Used,
                ));
            }
            Err(StoreError::Conflict) => return Err(AuthError::UsernameTaken),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(account = %id, username = %username, invited = invitation.is_some(), "account created");
        Ok(NewAccount {
            id,
            username: username.as_str().to_owned(),
        })
    }

    /// Changes the password after checking the current one; every other session and every
    /// login in flight ends.
    ///
    /// # Errors
    /// [`AuthError::InvalidCredentials`] for a wrong current password,
    /// [`AuthError::WeakPassword`] for an unacceptable new one,
    /// [`AuthError::CredentialChanged`] when another change won meanwhile.
    pub async fn change_password(
        &self,
        session: &CurrentSession,
        current: &str,
        new: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let username = Username::parse(&session.username)?;
        let new = Password::parse_new(new, &username, &self.policy.password_context)?;
        let verified = self.check_password(session, current, client).await?;
        let hash = self.hasher.hash(&new).await?;
        let event = NewEvent {
            account_id: &session.account_id,
            kind: EventKind::PasswordChanged,
            at: self.now(),
            client,
            detail: None,
        };
        if !self
            .store
            .sessions()
            .change_password(&session.session_id, verified, &hash, &event)
            .await?
        {
            return Err(AuthError::CredentialChanged);
        }
        tracing::info!(account = %session.account_id, "password changed; other sessions ended");
        // OWASP ASVS 4.0.3 V2.5.5: tell the owner that a credential changed (queued with
        // the change; delivered now).
        self.notices().notify(&session.account_id).await;
        Ok(())
    }

    /// Checks the password of the session's account (for re-authentication and changes);
    /// returns the credential version it was checked against. A wrong password counts
    /// toward the account's total and the session's own limit.
    pub(super) async fn check_password(
        &self,
        session: &CurrentSession,
        password: &str,
        client: &ClientInfo,
    ) -> Result<i64, AuthError> {
        self.take_address_rate(client)?;
        let account = self
            .store
            .accounts()
            .account_by_id(&session.account_id)
            .await?
            .ok_or(AuthError::Unauthenticated)?;
        let throttle = self.reauth_throttle(&account.id, &session.session_id);
        let dirty = self.check_throttle(&throttle).await?;
        let password = Password::for_checking(password);
        let verified = account.credential_version;
        match self
            .hasher
            .verify(&password, Some(&account.password_hash))
            .await?
        {
            Verification::Mismatch => {
                let event = NewEvent {
                    account_id: &account.id,
                    kind: EventKind::LoginFailed,
                    at: self.now(),
                    client,
                    detail: Some("password confirmation"),
                };
                Err(self.count_wrong_password(&throttle, Some(&event)).await?)
            }
            // A right password is worth nothing if a pause or the cap began while it was
            // being hashed (parallel guesses): check again before it opens anything.
            Verification::Match | Verification::MatchRehashed(_) if dirty => {
                self.check_throttle(&throttle).await?;
                let proof = PasswordProof {
                    credential_version: verified,
                    throttle: &throttle,
                    clear: true,
                    rehash: None,
                };
                self.store
                    .sessions()
                    .clear_after_password(&account.id, &proof)
                    .await?;
                Ok(verified)
            }
            Verification::Match => {
                self.check_throttle(&throttle).await?;
                Ok(verified)
            }
            Verification::MatchRehashed(fresh) => {
                self.check_throttle(&throttle).await?;
                self.store
                    .accounts()
                    .update_password_hash(&account.id, verified, &fresh)
                    .await?;
                Ok(verified)
            }
        }
    }

    /// Operator: disables or enables an account (admin CLI), recording who and why.
    /// Returns `false` for an unknown user.
    ///
    /// # Errors
    /// On a database failure or an invalid username.
    pub async fn set_disabled(
        &self,
        username: &str,
        disabled: bool,
        operator: &ClientInfo,
        reason: Option<&str>,
    ) -> Result<bool, AuthError> {
        let username = Username::parse(username)?;
        let now = self.now();
        let Some(account) = self.store.accounts().account_by_username(&username).await? else {
            return Ok(false);
        };
        let done = self
            .store
            .accounts()
            .set_disabled(&username, disabled.then_some(now), now, operator, reason)
            .await?;
        self.notices().notify(&account.id).await;
        Ok(done)
    }

    /// Operator: ends every session and login in flight of `username` (`twofold user
    /// logout`). Returns how many sessions ended, `None` for an unknown user.
    ///
    /// # Errors
    /// On a database failure or an invalid username.
    pub async fn log_out_everywhere(
        &self,
        username: &str,
        operator: &ClientInfo,
        reason: Option<&str>,
    ) -> Result<Option<u64>, AuthError> {
        let username = Username::parse(username)?;
        let Some(account) = self.store.accounts().account_by_username(&username).await? else {
            return Ok(None);
        };
        let what = "every session ended by the operator";
        let detail = match reason {
            Some(r) => format!("{what} ({r})"),
            None => what.to_owned(),
        };
        let event = NewEvent {
            account_id: &account.id,
            kind: EventKind::LoggedOutByOperator,
            at: self.now(),
            client: operator,
            detail: Some(&detail),
        };
        let ended = self
            .store
            .sessions()
            .end_sessions(CredentialEvent::OperatorLogout, None, &event)
            .await?;
        self.notices().notify(&account.id).await;
        Ok(Some(ended))
    }

    /// How guessable a password being chosen is (zxcvbn's score) and whether it would be
    /// accepted, for the pages' strength meter (OWASP ASVS 4.0.3 2.1.8). Not counted
    /// against the address's request rate: a person typing must not use up their own logins,
    /// and the work is bounded (at most 129 characters, well under a millisecond).
    pub fn password_strength(&self, password: &str, username: Option<&str>) -> (u8, bool) {
        let password: String = password
            .chars()
            .take(crate::domain::MAX_PASSWORD_LEN + 1)
            .collect();
        let name = username
            .and_then(|u| Username::parse(u).ok())
            .map_or_else(String::new, |u| u.as_str().to_owned());
        let score = if password.is_empty() {
            0
        } else {
            crate::domain::strength(&password, &name, &self.policy.password_context)
        };
        let acceptable = match Username::parse(if name.is_empty() { "x" } else { &name }) {
            Ok(u) => Password::parse_new(&password, &u, &self.policy.password_context).is_ok(),
            Err(_) => false,
        };
        (score, acceptable)
    }
}
