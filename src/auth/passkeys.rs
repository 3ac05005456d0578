//! Passkeys and security keys (WebAuthn, issue 24): adding one (recent authentication, and
//! a second factor in this session when 2FA is on; at most 10), listing and removing them,
//! and logging in with one and no password.
//!
//! Every flow's state is kept in the database (`store.passkeys()`), keyed by the SHA-256 of
//! a 256-bit token the client holds, so any node can finish it, once, within 5 minutes. A
//! login's assertion is used up in the second step's transaction (`hold → consume → finish
//! | refuse`): a refused one counts as a wrong code on the account (NIST SP 800-63B
//! §5.2.2), and one whose signature counter went back is refused and told to the owner.

use serde_json::Value;
use webauthn_rs_core::proto::{PublicKeyCredential, RegisterPublicKeyCredential};

use super::webauthn::{Verdict, assertion_id, credential_id_of, parse_credential};
use super::{AuthError, CurrentSession, NewSessionToken};
use crate::auth::new_session::SessionDraft;
use crate::crypto::Token;
use crate::domain::{
    BackupCode, ClientInfo, EventKind, FirstFactor, Method, PasskeyId, PasskeyName, SessionKind,
    UnixTime,
};
use crate::store::{
    AccountRecord, Attempt, FlowKind, NewEvent, NewFlow, NewPasskey, PasskeyAdded, PasskeyRecord,
    Proof, SecondStepAttempt,
};

/// Options for `navigator.credentials`, and the flow token to send back with the answer.
#[derive(Debug)]
pub struct PasskeyOptions {
    /// The flow's token (256 random bits; only its SHA-256 is stored).
    pub flow: Token,
    /// `publicKey` for `navigator.credentials.create` or `.get`.
    pub public_key: Value,
}

/// A passkey just added.
#[derive(Debug)]
pub struct PasskeyRegistered {
    /// Its id.
    pub id: PasskeyId,
    /// Its name.
    pub name: String,
    /// The first backup codes, when adding it turned 2FA on.
    pub backup_codes: Option<Vec<BackupCode>>,
}

/// A passkey as its owner sees it.
#[derive(Clone, Debug)]
pub struct PasskeyView {
    /// Its id.
    pub id: PasskeyId,
    /// Its name.
    pub name: String,
    /// When it was added.
    pub created_at: UnixTime,
    /// When it last logged in.
    pub last_used_at: Option<UnixTime>,
}

impl super::Passkeys<'_> {
    /// Options to add a passkey (the session has recent authentication, checked by the
    /// caller): refused when 2FA is on and this session's login used no second factor, or
    /// when the account has its most.
    ///
    /// # Errors
    /// [`AuthError::TwoFactorLoginRequired`], [`AuthError::TooManyPasskeys`].
    pub async fn registration_options(
        &self,
        session: &CurrentSession,
    ) -> Result<PasskeyOptions, AuthError> {
        let tf = self.store.two_factor().record(&session.account_id).await?;
        if tf.enabled_since.is_some() && session.second_factor.is_none() {
            return Err(AuthError::TwoFactorLoginRequired);
        }
        let max = self.webauthn.policy().max_per_account;
        let existing = self.store.passkeys().list(&session.account_id).await?;
        if i64::try_from(existing.len()).unwrap_or(i64::MAX) >= max {
            return Err(AuthError::TooManyPasskeys { max });
        }
        let exclude = existing
            .iter()
            .map(|p| credential_id_of(&p.credential))
            .collect::<Result<Vec<_>, _>>()?;
        let (public_key, state) =
            self.webauthn
                .registration(session.account_id.as_str(), &session.username, exclude)?;
        let flow = Token::generate();
        self.store
            .passkeys()
            .put_flow(&NewFlow {
                id: flow.hash().as_str(),
                kind: FlowKind::Register,
                account: Some(&session.account_id),
                session: Some(&session.session_id),
                state: &state,
                expires_at: self.now().plus(self.webauthn.policy().flow_secs),
            })
            .await?;
        Ok(PasskeyOptions { flow, public_key })
    }

    /// Adds the passkey the authenticator made for `flow` (started in this session): the
    /// event and its notice, and 2FA turned on with its first backup codes when it was off.
    ///
    /// # Errors
    /// [`AuthError::InvalidPasskeyName`], [`AuthError::InvalidCredential`] (nothing used),
    /// [`AuthError::FlowExpired`], [`AuthError::PasskeyNotVerified`],
    /// [`AuthError::AuthenticatorNotAllowed`], [`AuthError::TooManyPasskeys`],
    /// [`AuthError::PasskeyExists`].
    pub async fn register(
        &self,
        session: &CurrentSession,
        flow: &str,
        name: &str,
        credential: &Value,
        client: &ClientInfo,
    ) -> Result<PasskeyRegistered, AuthError> {
        let name = PasskeyName::parse(name)?;
        let credential: RegisterPublicKeyCredential = parse_credential(credential)?;
        let now = self.now();
        let flow = Token::from_client(flow).ok_or(AuthError::FlowExpired)?;
        let taken = self
            .store
            .passkeys()
            .take_flow(flow.hash().as_str(), FlowKind::Register, now)
            .await?
            .filter(|f| {
                f.account_id.as_deref() == Some(session.account_id.as_str())
                    && f.session_id.as_deref() == Some(session.session_id.as_str())
            })
            .ok_or(AuthError::FlowExpired)?;
        let Some(made) = self
            .webauthn
            .verify_registration(&credential, &taken.state)?
        else {
            return Err(AuthError::PasskeyNotVerified);
        };
        if !self.webauthn.allows(&made.aaguid) {
            tracing::info!(account = %session.account_id, aaguid = %made.aaguid, "a passkey of a model not allowed was refused");
            return Err(AuthError::AuthenticatorNotAllowed);
        }
        let id = PasskeyId::generate();
        let (batch, codes) = self.backup_codes().new_batch(&session.account_id, now);
        let max = self.webauthn.policy().max_per_account;
        let enabled_now = match self
            .store
            .passkeys()
            .add(&NewPasskey {
                id: &id,
                account: &session.account_id,
                name: name.as_str(),
                credential_id: &made.credential_id,
                credential: &made.credential,
                aaguid: &made.aaguid,
                user_verified: made.user_verified,
                now,
                client,
                first_batch: &batch,
                max,
            })
            .await?
        {
            PasskeyAdded::Added { enabled_now } => enabled_now,
            PasskeyAdded::TooMany => return Err(AuthError::TooManyPasskeys { max }),
            PasskeyAdded::Duplicate => return Err(AuthError::PasskeyExists),
        };
        tracing::info!(account = %session.account_id, enabled_now, "passkey added");
        if session.second_factor.is_none() {
            // The new passkey proved itself in this session, as a confirmed app does.
            self.store
                .sessions()
                .mark_second_factor(&session.session_id, Method::Webauthn)
                .await?;
        }
        // OWASP ASVS 4.0.3 V2.5.5: a new authenticator is a change the owner must hear of.
        self.notices().notify(&session.account_id).await;
        Ok(PasskeyRegistered {
            id,
            name: name.as_str().to_owned(),
            backup_codes: enabled_now.then_some(codes),
        })
    }

    /// The account's passkeys, oldest first.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list(&self, session: &CurrentSession) -> Result<Vec<PasskeyView>, AuthError> {
        Ok(self
            .store
            .passkeys()
            .list(&session.account_id)
            .await?
            .into_iter()
            .map(|p| PasskeyView {
                id: p.id,
                name: p.name,
                created_at: p.created_at,
                last_used_at: p.last_used_at,
            })
            .collect())
    }

    /// How many passkeys the account has (for `GET /api/v1/me`).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn count(&self, session: &CurrentSession) -> Result<i64, AuthError> {
        Ok(self.store.passkeys().count(&session.account_id).await?)
    }

    /// Removes one of the account's passkeys (the caller checked recent authentication):
    /// told to the owner; every other session ends; the last method turns 2FA off.
    ///
    /// # Errors
    /// [`AuthError::NotFound`] for no such passkey of this account.
    pub async fn remove(
        &self,
        session: &CurrentSession,
        id: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let disabled = self
            .store
            .passkeys()
            .remove(
                &session.account_id,
                &PasskeyId::from_stored(id),
                self.now(),
                client,
                &session.session_id,
            )
            .await?
            .ok_or(AuthError::NotFound)?;
        tracing::info!(account = %session.account_id, two_factor_off = disabled, "passkey removed");
        self.notices().notify(&session.account_id).await;
        Ok(())
    }

    /// Options to log in with a passkey and no username (discoverable credentials; a page
    /// may use them for passkey autofill, `mediation: "conditional"`).
    ///
    /// Anyone may ask, so each address is held to the rate of password checks (the flow is a
    /// database row: a flood must not fill the table between two housekeepings).
    ///
    /// # Errors
    /// [`AuthError::RateLimited`] when the address is over its rate; a database failure.
    pub async fn login_options(
        &self,
        client: &crate::domain::ClientInfo,
    ) -> Result<PasskeyOptions, AuthError> {
        self.take_address_rate(client)?;
        let (public_key, state) = self.webauthn.authentication(Vec::new())?;
        let flow = Token::generate();
        self.store
            .passkeys()
            .put_flow(&NewFlow {
                id: flow.hash().as_str(),
                kind: FlowKind::Passwordless,
                account: None,
                session: None,
                state: &state,
                expires_at: self.now().plus(self.webauthn.policy().flow_secs),
            })
            .await?;
        Ok(PasskeyOptions { flow, public_key })
    }

    /// Logs in with a passkey and no password. With user verification the session counts as
    /// two factors (`amr` `["hwk","user","mfa"]`), without it as one (`["hwk"]`). A refused
    /// assertion of a known passkey counts as a wrong code on its account.
    ///
    /// # Errors
    /// [`AuthError::InvalidCredential`] (nothing counted), [`AuthError::FlowExpired`],
    /// [`AuthError::PasskeyRefused`], [`AuthError::AccountDisabled`],
    /// [`AuthError::RateLimited`], [`AuthError::SecondStepBlocked`].
    pub async fn login(
        &self,
        flow: &str,
        credential: &Value,
        kind: SessionKind,
        client: &ClientInfo,
    ) -> Result<NewSessionToken, AuthError> {
        let assertion: PublicKeyCredential = parse_credential(credential)?;
        let now = self.now();
        let flow = Token::from_client(flow).ok_or(AuthError::FlowExpired)?;
        let flow_id = flow.hash().as_str().to_owned();
        let (passkey, account, verdict) = self.judge_login(&flow_id, &assertion).await?;
        let (counter, verified) = match verdict {
            Verdict::Signed {
                counter,
                user_verified,
            } => (Some(counter), user_verified),
            Verdict::Cloned | Verdict::Refused => (None, false),
        };
        let cloned = verdict == Verdict::Cloned;
        let draft = SessionDraft::new(self, kind, client)
            .check_device(self, &account.id, client)
            .await?;
        let session = draft.row_after(
            &account.id,
            client,
            FirstFactor::Passkey,
            verified.then_some(Method::Passkey),
        );
        let success = NewEvent {
            account_id: &account.id,
            kind: EventKind::LoginPasskey,
            at: now,
            client,
            detail: Some(if verified {
                "passwordless, user verified"
            } else {
                "passwordless"
            }),
        };
        let failure = NewEvent {
            kind: if cloned {
                EventKind::PasskeyCloned
            } else {
                EventKind::SecondFactorFailed
            },
            detail: Some(Method::Webauthn.as_str()),
            ..success
        };
        let attempt = self
            .store
            .second_step()
            .attempt_second_factor(&SecondStepAttempt {
                challenge_id: None,
                proof: Proof::Passkey {
                    flow: &flow_id,
                    passkey: passkey.id.as_str(),
                    counter,
                },
                limits: self.second_step().attempt_limits(),
                session: &session,
                success: &success,
                failure: &failure,
                recovery: None,
            })
            .await?;
        let label = match attempt {
            Attempt::Done { .. } => "logged_in",
            _ => "refused",
        };
        self.metrics.second_step("passkey", label);
        match attempt {
            Attempt::Done { notice_waiting, .. } => {
                if notice_waiting {
                    self.notices().notify(&account.id).await;
                }
                tracing::info!(account = %account.id, user_verified = verified, "logged in with a passkey");
                Ok(draft.issued(account.id, account.username))
            }
            Attempt::Refused {
                locked_until: Some(until),
                ..
            }
            | Attempt::Locked(until) => Err(AuthError::RateLimited {
                retry_after: until.0 - now.0,
            }),
            Attempt::Refused { .. } => {
                if cloned {
                    tracing::warn!(account = %account.id, "a passkey's signature counter went back: refused, the owner is told");
                    self.notices().notify(&account.id).await;
                }
                Err(AuthError::PasskeyRefused { cloned })
            }
            Attempt::Capped => Err(AuthError::SecondStepBlocked),
            Attempt::Gone => Err(AuthError::FlowExpired),
        }
    }

    /// The passkey a login's assertion names, its owner, and the verdict on the assertion
    /// against the flow's state. A credential that is nobody's uses the flow and is refused
    /// with nothing counted (there is no account to count it on).
    async fn judge_login(
        &self,
        flow_id: &str,
        assertion: &PublicKeyCredential,
    ) -> Result<(PasskeyRecord, AccountRecord, Verdict), AuthError> {
        let now = self.now();
        let passkeys = self.store.passkeys();
        let state = passkeys
            .flow(flow_id, FlowKind::Passwordless, now)
            .await?
            .ok_or(AuthError::FlowExpired)?;
        let Some(passkey) = passkeys.by_credential_id(&assertion_id(assertion)).await? else {
            passkeys
                .take_flow(flow_id, FlowKind::Passwordless, now)
                .await?;
            return Err(AuthError::PasskeyRefused { cloned: false });
        };
        let Some(account) = self
            .store
            .accounts()
            .account_by_id(&passkey.account_id)
            .await?
        else {
            return Err(AuthError::PasskeyRefused { cloned: false });
        };
        if account.disabled_at.is_some() {
            return Err(AuthError::AccountDisabled);
        }
        // A discoverable credential's user handle must name its owner (it is the account id).
        let handle_ok = assertion
            .get_user_unique_id()
            .is_none_or(|h| h == account.id.as_str().as_bytes());
        let verdict = if handle_ok {
            self.webauthn.verify_assertion(
                assertion,
                &state.state,
                &passkey.credential,
                passkey.counter,
            )?
        } else {
            Verdict::Refused
        };
        Ok((passkey, account, verdict))
    }
}
