//! The owner deletes their own account (issue 25: `DELETE /api/v1/me`, `/settings/account`):
//! a recent password and, when two-factor authentication is on, a second factor given now —
//! any of the account's methods. The factor is checked as a login's second step is, on a
//! challenge of its own (its limits, its replay guards, its count of wrong codes). A code
//! the person types at once (`totp`, `backup_code`) needs one request; a texted code or a
//! passkey needs two: the first starts the deletion's challenge (texting the code, or giving
//! the passkey's options) and answers with its token, the second carries the answer. A
//! deletion's challenge is marked so (`for_deletion`): no login or recovery takes it, and
//! the deletion takes no other.

use serde_json::Value;

use super::{AuthError, CurrentSession, MethodProblem};
use crate::crypto::Token;
use crate::domain::{ClientInfo, Method, SessionKind};
use crate::store::{Bucket, ChallengeState, NewChallenge, PasswordProof, Spend};

/// One deletion text per account this often.
const DELETION_TEXT_SECS: i64 = 30;

/// The second factor a deletion was sent with.
#[derive(Clone, Copy, Debug, Default)]
pub struct DeletionFactor<'a> {
    /// `totp`, `backup_code`, `sms` or `webauthn`.
    pub method: Option<&'a str>,
    /// The code (`totp`, `backup_code`, `sms`).
    pub code: Option<&'a str>,
    /// The passkey's assertion (`webauthn`).
    pub credential: Option<&'a Value>,
    /// The deletion's challenge, from the first answer (`sms`, `webauthn`).
    pub challenge: Option<&'a str>,
}

/// What a deletion request did.
#[derive(Debug)]
pub enum DeletionOutcome {
    /// The account is gone.
    Deleted,
    /// A second factor is needed (first): what may be used, and for a texted code or a
    /// passkey the deletion's challenge.
    TwoFactorRequired {
        /// The account's methods.
        methods: Vec<Method>,
        /// The challenge to answer with the code or the passkey.
        challenge: Option<Token>,
        /// The masked number a code was just texted to.
        sms_sent_to: Option<String>,
        /// With `webauthn`: the options for `navigator.credentials.get`.
        public_key: Option<Value>,
    },
}

impl super::Console<'_> {
    /// Deletes the session's account after checking the second factor, if 2FA is on.
    ///
    /// # Errors
    /// [`AuthError::ReauthRequired`]; [`AuthError::InvalidMethod`] for a method the account
    /// has not; the second step's errors for a wrong or malformed code or credential, an
    /// ended or another account's challenge ([`AuthError::ChallengeExpired`]);
    /// [`ConsoleProblem::LastAdmin`](super::ConsoleProblem::LastAdmin).
    pub async fn delete_own_account_with(
        &self,
        session: &CurrentSession,
        factor: DeletionFactor<'_>,
        client: &ClientInfo,
    ) -> Result<DeletionOutcome, AuthError> {
        if !self.sessions().is_recent(session) {
            return Err(AuthError::ReauthRequired);
        }
        let account = self
            .store
            .accounts()
            .account_by_id(&session.account_id)
            .await?
            .ok_or(AuthError::Unauthenticated)?;
        // Refused before any factor is checked, so the last admin spends no code on it (the
        // deletion's own transaction checks again).
        if self.store.console().is_last_admin(&account.id).await? {
            return Err(AuthError::Console(super::ConsoleProblem::LastAdmin));
        }
        if account.two_factor_since.is_some()
            && let Some(asked) = self.deletion_factor(session, factor, client).await?
        {
            return Ok(asked);
        }
        self.delete_own_account(session).await?;
        Ok(DeletionOutcome::Deleted)
    }

    /// Checks the factor; `Some` when it must be asked for (first).
    async fn deletion_factor(
        &self,
        session: &CurrentSession,
        factor: DeletionFactor<'_>,
        client: &ClientInfo,
    ) -> Result<Option<DeletionOutcome>, AuthError> {
        let method = match factor.method.map(Method::parse) {
            None => None,
            Some(Ok(m)) => Some(m),
            Some(Err(_)) => return Err(AuthError::InvalidMethod(MethodProblem::Unknown)),
        };
        let answered = match method {
            Some(Method::Totp | Method::BackupCode) => factor.code.is_some(),
            Some(Method::Sms) => factor.code.is_some() && factor.challenge.is_some(),
            Some(Method::Webauthn | Method::Passkey) => {
                factor.credential.is_some() && factor.challenge.is_some()
            }
            None => false,
        };
        if !answered {
            // A code or a credential for a text or a passkey answers a challenge: without
            // it, it is a mistake to name, not a request for a new one.
            if (factor.code.is_some() || factor.credential.is_some())
                && matches!(
                    method,
                    Some(Method::Sms | Method::Webauthn | Method::Passkey)
                )
            {
                return Err(AuthError::ChallengeMissing);
            }
            return self.ask(session, method, client).await.map(Some);
        }
        let (id, state) = match factor.challenge {
            Some(token) => self.deletion_challenge(session, token).await?,
            None => {
                let (_, id) = self.start_deletion(session, client).await?;
                self.second_step().live_challenge_by_id(id).await?
            }
        };
        match (method, factor.credential) {
            (Some(Method::Webauthn | Method::Passkey), Some(credential)) => {
                self.second_step()
                    .webauthn_on(&id, &state, credential, client)
                    .await?;
            }
            (Some(m), _) => {
                let code = factor.code.unwrap_or_default();
                self.second_step()
                    .attempt_on(&id, &state, m, code, client)
                    .await?;
            }
            (None, _) => return Err(AuthError::InvalidMethod(MethodProblem::Unknown)),
        }
        Ok(None)
    }

    /// The first answer: the methods and, for a text or a passkey, a fresh challenge (the
    /// code texted, or the passkey's options).
    async fn ask(
        &self,
        session: &CurrentSession,
        method: Option<Method>,
        client: &ClientInfo,
    ) -> Result<DeletionOutcome, AuthError> {
        let needs_challenge = matches!(
            method,
            Some(Method::Sms | Method::Webauthn | Method::Passkey)
        );
        if !needs_challenge {
            let tf = self.store.two_factor().record(&session.account_id).await?;
            return Ok(DeletionOutcome::TwoFactorRequired {
                methods: super::second_step::methods_of(&tf, false),
                challenge: None,
                sms_sent_to: None,
                public_key: None,
            });
        }
        if method == Some(Method::Sms) {
            // Each request makes a challenge of its own, so the challenge's resend limits
            // never apply: one deletion text per account every 30 seconds instead (and the
            // account's text budget, as for every text).
            let bucket = Bucket {
                key: format!("delete-sms:{}", session.account_id),
                window_secs: DELETION_TEXT_SECS,
                limit: 1,
            };
            if let Spend::Refused { retry_after, .. } =
                self.store.limits().spend(&[bucket], self.now()).await?
            {
                return Err(AuthError::RateLimited { retry_after });
            }
        }
        let (token, id) = self.start_deletion(session, client).await?;
        let (id, state) = self.second_step().live_challenge_by_id(id).await?;
        let methods = super::second_step::methods_of(&state.two_factor, false);
        let (mut sms_sent_to, mut public_key) = (None, None);
        match method {
            Some(Method::Sms) => {
                sms_sent_to = Some(self.second_step().resend_on(&id, &state).await?);
            }
            _ => {
                public_key = Some(self.second_step().webauthn_options_on(&id, &state).await?);
            }
        }
        Ok(DeletionOutcome::TwoFactorRequired {
            methods,
            challenge: Some(token),
            sms_sent_to,
            public_key,
        })
    }

    /// A challenge of the deletion's own, made with the session's recent password as its
    /// first factor: its token and id.
    async fn start_deletion(
        &self,
        session: &CurrentSession,
        client: &ClientInfo,
    ) -> Result<(Token, String), AuthError> {
        let account = self
            .store
            .accounts()
            .account_by_id(&session.account_id)
            .await?
            .ok_or(AuthError::Unauthenticated)?;
        let throttle = self.reauth_throttle(&account.id, &session.session_id);
        let proof = PasswordProof {
            credential_version: account.credential_version,
            throttle: &throttle,
            clear: false,
            rehash: None,
        };
        let token = Token::generate();
        let id = self.keys.challenge_id(token.reveal());
        let now = self.now();
        let challenge = NewChallenge {
            id: &id,
            account_id: &account.id,
            kind: SessionKind::Api,
            now,
            expires_at: now.plus(self.tf.challenge_secs),
            client,
            sms: None,
        };
        if !self
            .store
            .challenges()
            .create_challenge(&challenge, &proof)
            .await?
        {
            return Err(AuthError::CredentialChanged);
        }
        self.store.challenges().mark_for_deletion(&id).await?;
        Ok((token, id))
    }

    /// The deletion's challenge the client holds: live, and this account's.
    async fn deletion_challenge(
        &self,
        session: &CurrentSession,
        token: &str,
    ) -> Result<(String, ChallengeState), AuthError> {
        let token = Token::from_client(token).ok_or(AuthError::ChallengeExpired)?;
        let id = self.keys.challenge_id(token.reveal());
        let (id, state) = self.second_step().live_challenge_by_id(id).await?;
        // Only this account's deletion challenge: a login in flight or a recovery (this
        // account's or another's) answers nothing here.
        if !state.challenge.for_deletion || state.account.id != session.account_id {
            return Err(AuthError::ChallengeExpired);
        }
        Ok((id, state))
    }
}
