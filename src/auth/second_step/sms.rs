//! Text-message codes at the second step: the code typed, and "Resend code" (a fresh code
//! at most every 30 seconds and 5 times per challenge, within the text budget).

use super::CheckedCode;
use crate::auth::{AuthError, CodeProblem, MethodProblem, TwoFactorPolicy};
use crate::domain::{OtpCode, UnixTime};
use crate::sms::{SmsError, code_message};
use crate::store::{ChallengeRecord, ChallengeSms, ChallengeState};

/// How long "Resend code" must wait on this challenge, if it must.
fn resend_wait(c: &ChallengeRecord, now: UnixTime, p: &TwoFactorPolicy) -> Option<i64> {
    if c.sms_sends >= p.sms_max_sends {
        return Some((c.expires_at.0 - now.0).max(1));
    }
    let wait = c
        .sms_sent_at
        .map_or(0, |t| t.0 + p.sms_cooldown_secs - now.0);
    (wait > 0).then_some(wait)
}

impl crate::auth::SecondStep<'_> {
    /// The typed SMS code as the database compares it: its keyed hash, bound to the
    /// challenge; and what a refusal will mean (none sent yet, expired, or wrong).
    pub(super) fn sms_proof(
        &self,
        challenge_id: &str,
        challenge: &ChallengeRecord,
        code: &str,
        now: UnixTime,
    ) -> Result<CheckedCode, AuthError> {
        let code = OtpCode::parse(code)?;
        let problem = if !challenge.sms_pending {
            CodeProblem::NotSent
        } else if challenge.sms_expires_at.is_some_and(|e| e <= now) {
            CodeProblem::Expired
        } else {
            CodeProblem::Wrong
        };
        Ok(CheckedCode::Sms {
            mac: self.keys.sms_code_mac(challenge_id, code.digits()),
            problem,
        })
    }

    /// "Resend code": a fresh SMS code replaces the old one, at most every 30 seconds and 5
    /// times per challenge. Returns the masked number.
    ///
    /// # Errors
    /// [`AuthError::ChallengeExpired`], [`AuthError::InvalidMethod`] (no phone),
    /// [`AuthError::RateLimited`], [`AuthError::SmsFailed`].
    pub async fn resend_sms(&self, token: &str) -> Result<String, AuthError> {
        let (id, state) = self.live_challenge(token).await?;
        self.resend_on(&id, &state).await
    }

    /// "Resend code" on the challenge `id` (a login's or a recovery's).
    pub(in crate::auth) async fn resend_on(
        &self,
        id: &str,
        state: &ChallengeState,
    ) -> Result<String, AuthError> {
        let challenge = &state.challenge;
        let Some((phone, _)) = state
            .two_factor
            .phone
            .clone()
            .filter(|_| !challenge.sms_refused)
        else {
            return Err(AuthError::InvalidMethod(MethodProblem::NoPhone));
        };
        let now = self.now();
        let p = &self.tf;
        if let Some(retry_after) = resend_wait(challenge, now, p) {
            return Err(AuthError::RateLimited { retry_after });
        }
        let code = OtpCode::generate();
        let mac = self.keys.sms_code_mac(id, code.digits());
        let charged = self.charge_text(&challenge.account_id, &phone).await?;
        let replaced = self
            .store
            .challenges()
            .set_challenge_sms(&ChallengeSms {
                id,
                code_mac: &mac,
                now,
                expires_at: now.plus(p.sms_code_secs),
                cooldown: p.sms_cooldown_secs,
                max_sends: p.sms_max_sends,
                max_failures: p.challenge_max_failures,
            })
            .await?;
        if !replaced {
            self.refund(&charged).await?;
            return Err(match resend_wait(challenge, now, p) {
                Some(retry_after) => AuthError::RateLimited { retry_after },
                // Neither limit explains it: the challenge ended meanwhile.
                None => AuthError::ChallengeExpired,
            });
        }
        let body = code_message(&code, &p.sms_host);
        if let Err(e) = self
            .send_charged(&charged, &phone, &body, "login code")
            .await
        {
            // A refused text never left; a timed-out one may have: it still counts.
            if matches!(e, SmsError::Refused(_)) {
                self.store.challenges().unsend_challenge_sms(id).await?;
            }
            return Err(AuthError::SmsFailed);
        }
        Ok(phone.masked())
    }
}
