//! Authenticator-app codes at the second step (RFC 6238): the typed code is matched against
//! the current step and one either side here; the database then accepts a step only once
//! (`last_step < step`, RFC 6238 §5.2).

use super::CheckedCode;
use crate::auth::{AuthError, MethodProblem};
use crate::crypto::{TotpSecret, open};
use crate::domain::{AccountId, OtpCode, UnixTime};
use crate::store::TwoFactorRecord;

impl crate::auth::SecondStep<'_> {
    /// The typed authenticator code as the database compares it: the time step it matched
    /// (if any), under the sealed secret it was checked against.
    pub(super) fn totp_proof(
        &self,
        account: &AccountId,
        tf: &TwoFactorRecord,
        code: &str,
        now: UnixTime,
    ) -> Result<CheckedCode, AuthError> {
        let code = OtpCode::parse(code)?;
        let Some(totp) = &tf.totp else {
            return Err(AuthError::InvalidMethod(MethodProblem::NoApp));
        };
        let secret = open(
            self.keys.totp_seal(),
            account.as_str().as_bytes(),
            &totp.secret_sealed,
        )
        .map(|b| TotpSecret::from_bytes(&b))
        .map_err(|e| {
            AuthError::Internal(anyhow::anyhow!("authenticator secret of {account}: {e}"))
        })?;
        Ok(CheckedCode::Totp {
            step: secret.matching_step(&code, now),
            sealed: totp.secret_sealed.clone(),
        })
    }
}
