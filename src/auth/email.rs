//! The account's email address: add one (a 6-digit code proves the inbox), confirm it,
//! remove it. One verified address per account; unlike a phone, one address may serve
//! several accounts (a family's shared inbox), so nothing refuses an address in use.
//! Adding and removing need a recent password confirmation (the http extractors enforce
//! it); both are notified to the old and the new address (OWASP ASVS 4.0.3 V2.5.5).

use super::{AuthError, CodeProblem, CurrentSession, Pending};
use crate::domain::{ClientInfo, Email, OtpCode};
use crate::mail::confirm_message;
use crate::store::{Bucket, EmailConfirm, NewEmailCode, Spend};

/// A code is valid this long.
const CODE_SECS: i64 = 15 * 60;
/// Wrong codes before the code dies (NIST SP 800-63B §5.2.2 limits guessing).
const MAX_FAILURES: i64 = 5;
/// Confirmation emails per account, and per address, per hour.
const SENDS_PER_HOUR: i64 = 5;

/// The account's addresses, for the settings page and `GET /api/v1/me`.
#[derive(Clone, Debug, Default)]
pub struct EmailStatus {
    /// The confirmed address.
    pub confirmed: Option<Email>,
    /// The address waiting for its code.
    pub pending: Option<Email>,
}

impl super::Emails<'_> {
    /// Sends a 6-digit code to `typed`, which becomes the account's address once confirmed.
    /// Returns the parsed address.
    ///
    /// # Errors
    /// [`AuthError::InvalidEmail`]; [`AuthError::RateLimited`] past 5 an hour (per account
    /// and per address); [`AuthError::MailFailed`] when the email could not be sent.
    pub async fn start_email(
        &self,
        session: &CurrentSession,
        typed: &str,
    ) -> Result<Email, AuthError> {
        let email = Email::parse(typed)?;
        let now = self.now();
        let to = self.keys.limit_key("mail destination", &email.normalized());
        let buckets = [
            Bucket {
                key: format!("mail:account:{}:h", session.account_id),
                window_secs: 3600,
                limit: SENDS_PER_HOUR,
            },
            Bucket {
                key: format!("mail:to:{to}:h"),
                window_secs: 3600,
                limit: SENDS_PER_HOUR,
            },
        ];
        if let Spend::Refused { retry_after, .. } = self.store.limits().spend(&buckets, now).await?
        {
            return Err(AuthError::RateLimited { retry_after });
        }
        let code = OtpCode::generate();
        let mac = self.keys.sms_code_mac(&binding(session), code.digits());
        self.store
            .email()
            .start_email(&NewEmailCode {
                account: &session.account_id,
                email: &email,
                code_mac: &mac,
                expires_at: now.plus(CODE_SECS),
                now,
            })
            .await?;
        let site = self.policy.site.as_deref().unwrap_or("this server");
        let message = confirm_message(code.digits(), &session.username, site);
        if self
            .mail
            .send(&email, &message, "email confirmation code")
            .await
            .is_err()
        {
            return Err(AuthError::MailFailed);
        }
        Ok(email)
    }

    /// Confirms the waiting address with its code.
    ///
    /// # Errors
    /// [`AuthError::MalformedCode`]; [`AuthError::InvalidCode`] for a wrong, expired or
    /// used-up code; [`AuthError::NothingPending`] when no address waits.
    pub async fn confirm_email(
        &self,
        session: &CurrentSession,
        code: &str,
        client: &ClientInfo,
    ) -> Result<Email, AuthError> {
        let code = OtpCode::parse(code)?;
        let mac = self.keys.sms_code_mac(&binding(session), code.digits());
        match self
            .store
            .email()
            .confirm_email(&session.account_id, &mac, MAX_FAILURES, self.now(), client)
            .await?
        {
            EmailConfirm::Confirmed { .. } => {
                tracing::info!(account = %session.account_id, "email address confirmed");
                self.notices().notify(&session.account_id).await;
                let (confirmed, _) = self.store.email().email_of(&session.account_id).await?;
                confirmed.ok_or(AuthError::NothingPending(Pending::NoEmailCode))
            }
            EmailConfirm::WrongCode => Err(CodeProblem::Wrong.into()),
            EmailConfirm::UsedUp => Err(CodeProblem::UsedUp.into()),
            EmailConfirm::NothingPending => Err(AuthError::NothingPending(Pending::NoEmailCode)),
        }
    }

    /// Removes the account's address (idempotent); the removed address is told.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn remove_email(
        &self,
        session: &CurrentSession,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        if self
            .store
            .email()
            .remove_email(&session.account_id, self.now(), client)
            .await?
        {
            tracing::info!(account = %session.account_id, "email address removed");
            self.notices().notify(&session.account_id).await;
        }
        Ok(())
    }

    /// The account's addresses.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn email_status(&self, session: &CurrentSession) -> Result<EmailStatus, AuthError> {
        let (confirmed, pending) = self.store.email().email_of(&session.account_id).await?;
        Ok(EmailStatus { confirmed, pending })
    }
}

/// What a confirmation code is bound to: this account's email set-up (never a login's or a
/// phone's code).
fn binding(session: &CurrentSession) -> String {
    format!("email:{}", session.account_id)
}
