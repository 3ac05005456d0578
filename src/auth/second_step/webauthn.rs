//! A passkey or security key at the second step (method `webauthn`, issue 24): options for
//! the challenge's account, kept as the challenge's flow (the same id, replaced when asked
//! again), then the assertion judged here and used up in the second step's transaction —
//! the flow taken and the signature counter raised — so a refused one counts as a wrong
//! code on the challenge and the account, like any other.

use serde_json::Value;
use webauthn_rs_core::proto::PublicKeyCredential;

use super::{CheckedCode, SecondStepDone, ready};
use crate::auth::AuthError;
use crate::auth::webauthn::{Verdict, assertion_id, parse_credential, stored_credential};
use crate::domain::{ClientInfo, Method};
use crate::store::{ChallengeState, FlowKind, NewFlow};

impl crate::auth::SecondStep<'_> {
    /// Options (`publicKey`) to answer the challenge with one of the account's passkeys.
    ///
    /// # Errors
    /// [`AuthError::ChallengeExpired`], [`AuthError::InvalidMethod`] (no passkey),
    /// [`AuthError::RateLimited`] (the second step is locked).
    pub async fn webauthn_options(&self, token: &str) -> Result<Value, AuthError> {
        let (id, state) = self.live_challenge(token).await?;
        self.webauthn_options_on(&id, &state).await
    }

    /// Options for the challenge `id` (a login's, a recovery's or a deletion's).
    ///
    /// # Errors
    /// As [`webauthn_options`](Self::webauthn_options).
    pub(in crate::auth) async fn webauthn_options_on(
        &self,
        id: &str,
        state: &ChallengeState,
    ) -> Result<Value, AuthError> {
        let now = self.now();
        ready(state, Method::Webauthn, now)?;
        let credentials = self
            .store
            .passkeys()
            .list(&state.account.id)
            .await?
            .iter()
            .map(|p| stored_credential(&p.credential, p.counter))
            .collect::<Result<Vec<_>, _>>()?;
        let (public_key, flow_state) = self.webauthn.authentication(credentials)?;
        let expires_at = now
            .plus(self.webauthn.policy().flow_secs)
            .min(state.challenge.expires_at);
        self.store
            .passkeys()
            .put_flow(&NewFlow {
                id,
                kind: FlowKind::SecondStep,
                account: Some(&state.account.id),
                session: None,
                state: &flow_state,
                expires_at,
            })
            .await?;
        Ok(public_key)
    }

    /// Answers the challenge with a passkey's assertion; a right one creates the session
    /// (`amr` `["pwd","mfa","hwk"]`), a refused one is counted like a wrong code.
    ///
    /// # Errors
    /// [`AuthError::InvalidCredential`] (nothing counted), [`AuthError::InvalidMethod`],
    /// [`AuthError::ChallengeExpired`], [`AuthError::RateLimited`],
    /// [`AuthError::InvalidCode`].
    pub async fn complete_webauthn(
        &self,
        token: &str,
        credential: &Value,
        client: &ClientInfo,
    ) -> Result<SecondStepDone, AuthError> {
        let result = self.check_webauthn(token, credential, client).await;
        let label = match &result {
            Ok(_) => "logged_in",
            Err(e) => e.metric_label(),
        };
        self.metrics.second_step(Method::Webauthn.as_str(), label);
        result
    }

    async fn check_webauthn(
        &self,
        token: &str,
        credential: &Value,
        client: &ClientInfo,
    ) -> Result<SecondStepDone, AuthError> {
        // Parse before anything is counted: a malformed credential changes nothing.
        let assertion: PublicKeyCredential = parse_credential(credential)?;
        let (id, state) = self.live_challenge(token).await?;
        self.assertion_on(&id, &state, &assertion, client).await
    }

    /// Answers the challenge `id` (a login's or a recovery's) with a passkey's assertion.
    ///
    /// # Errors
    /// As [`complete_webauthn`](Self::complete_webauthn).
    pub(in crate::auth) async fn webauthn_on(
        &self,
        id: &str,
        state: &ChallengeState,
        credential: &Value,
        client: &ClientInfo,
    ) -> Result<SecondStepDone, AuthError> {
        let assertion: PublicKeyCredential = parse_credential(credential)?;
        self.assertion_on(id, state, &assertion, client).await
    }

    async fn assertion_on(
        &self,
        id: &str,
        state: &ChallengeState,
        assertion: &PublicKeyCredential,
        client: &ClientInfo,
    ) -> Result<SecondStepDone, AuthError> {
        ready(state, Method::Webauthn, self.now())?;
        let checked = self.webauthn_proof(id, state, assertion).await?;
        self.attempt_checked(id, state, checked, client).await
    }

    /// The assertion judged against the challenge's flow and the account's passkey: what
    /// the transaction uses up.
    async fn webauthn_proof(
        &self,
        id: &str,
        state: &ChallengeState,
        assertion: &PublicKeyCredential,
    ) -> Result<CheckedCode, AuthError> {
        let now = self.now();
        let flow = self
            .store
            .passkeys()
            .flow(id, FlowKind::SecondStep, now)
            .await?;
        let passkey = self
            .store
            .passkeys()
            .by_credential_id(&assertion_id(assertion))
            .await?
            .filter(|p| p.account_id == state.account.id);
        let verdict = match (&flow, &passkey) {
            (Some(flow), Some(p)) => {
                self.webauthn
                    .verify_assertion(assertion, &flow.state, &p.credential, p.counter)?
            }
            _ => Verdict::Refused,
        };
        Ok(CheckedCode::Passkey {
            flow: id.to_owned(),
            passkey: passkey
                .map(|p| p.id.as_str().to_owned())
                .unwrap_or_default(),
            counter: match verdict {
                Verdict::Signed { counter, .. } => Some(counter),
                Verdict::Cloned | Verdict::Refused => None,
            },
            cloned: verdict == Verdict::Cloned,
        })
    }
}
