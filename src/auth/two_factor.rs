//! Two-factor settings: the status, setting up text messages and the authentication app,
//! removing them, turning 2FA off. The first confirmed method turns 2FA on and returns the
//! first batch of backup codes.

use super::{AuthError, CurrentSession, Pending};
use crate::crypto::{TotpSecret, open, seal};
use crate::domain::{BackupCode, ClientInfo, EventKind, OtpCode, PhoneNumber, UnixTime};
use crate::sms::code_message;
use crate::store::{Bucket, ConfirmSms, NewSmsCode, SmsConfirm, Spend};

/// The two-factor state as settings pages and the API show it.
#[derive(Clone, Debug)]
pub struct TwoFactorStatus {
    /// On or off.
    pub enabled: bool,
    /// The verified phone, masked, and when it was added.
    pub phone: Option<(String, UnixTime)>,
    /// When the authentication app was set up.
    pub totp_added_at: Option<UnixTime>,
    /// Unused and total backup codes, and when they were made.
    pub backup_codes: Option<(usize, usize, UnixTime)>,
    /// A phone waiting for its code, masked.
    pub pending_phone: Option<String>,
}

/// A new authentication-app secret to show (QR code and text).
#[derive(Clone, Debug)]
pub struct TotpEnrolment {
    /// The secret.
    pub secret: TotpSecret,
    /// The `otpauth://` URI for the QR code.
    pub uri: String,
}

/// A confirmed method.
#[derive(Debug)]
pub struct MethodConfirmed {
    /// Whether this confirmation turned 2FA on.
    pub enabled_now: bool,
    /// The first batch of backup codes, when 2FA was just turned on.
    pub backup_codes: Option<Vec<BackupCode>>,
}

impl super::TwoFactor<'_> {
    /// Whether two-factor authentication is on (one indexed read; for `/me` and the pages
    /// that only show On/Off).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn two_factor_enabled(&self, session: &CurrentSession) -> Result<bool, AuthError> {
        Ok(self
            .store
            .accounts()
            .account_by_id(&session.account_id)
            .await?
            .is_some_and(|a| a.two_factor_since.is_some()))
    }

    /// Backup codes left, when 2FA is on (for the home page's low-codes warning): one more
    /// indexed read, only for accounts with 2FA.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn backup_codes_left(
        &self,
        session: &CurrentSession,
    ) -> Result<Option<usize>, AuthError> {
        if !self.two_factor_enabled(session).await? {
            return Ok(None);
        }
        Ok(self
            .store
            .backup_codes()
            .backup_batch(&session.account_id)
            .await?
            .map(|b| b.remaining()))
    }

    /// The account's two-factor state.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn two_factor_status(
        &self,
        session: &CurrentSession,
    ) -> Result<TwoFactorStatus, AuthError> {
        let tf = self.store.two_factor().record(&session.account_id).await?;
        let batch = self
            .store
            .backup_codes()
            .backup_batch(&session.account_id)
            .await?;
        let pending = self
            .store
            .two_factor()
            .sms_pending(&session.account_id)
            .await?;
        Ok(TwoFactorStatus {
            enabled: tf.enabled_since.is_some(),
            phone: tf.phone.map(|(p, at)| (p.masked(), at)),
            totp_added_at: tf.totp.map(|t| t.added_at),
            backup_codes: batch.map(|b| (b.remaining(), b.codes.len(), b.created_at)),
            pending_phone: pending
                .filter(|p| p.expires_at > self.now())
                .map(|p| p.phone.masked()),
        })
    }

    /// Starts setting up an authentication app: a fresh secret, sealed and stored as pending.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn start_totp(&self, session: &CurrentSession) -> Result<TotpEnrolment, AuthError> {
        // Each new secret brings fresh confirmation tries: a few a day are plenty.
        let bucket = Bucket {
            key: format!("totp-setup:{}", session.account_id),
            window_secs: 86_400,
            limit: TOTP_SETUPS_PER_DAY,
        };
        if let Spend::Refused { retry_after, .. } =
            self.store.limits().spend(&[bucket], self.now()).await?
        {
            return Err(AuthError::RateLimited { retry_after });
        }
        let secret = TotpSecret::generate();
        let sealed = seal(
            self.keys.totp_seal(),
            session.account_id.as_str().as_bytes(),
            secret.bytes(),
        );
        self.store
            .two_factor()
            .put_totp_pending(&session.account_id, &sealed, self.now())
            .await?;
        let uri = secret.otpauth_uri(&self.tf.issuer, &session.username);
        Ok(TotpEnrolment { secret, uri })
    }

    /// The pending authentication-app secret, if one is waiting (so a page reload shows the
    /// same QR code).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn pending_totp(
        &self,
        session: &CurrentSession,
    ) -> Result<Option<TotpEnrolment>, AuthError> {
        let Some((sealed, _)) = self
            .store
            .two_factor()
            .totp_pending(&session.account_id)
            .await?
        else {
            return Ok(None);
        };
        let secret = self.open_totp(session, &sealed)?;
        let uri = secret.otpauth_uri(&self.tf.issuer, &session.username);
        Ok(Some(TotpEnrolment { secret, uri }))
    }

    fn open_totp(&self, session: &CurrentSession, sealed: &str) -> Result<TotpSecret, AuthError> {
        open(
            self.keys.totp_seal(),
            session.account_id.as_str().as_bytes(),
            sealed,
        )
        .map(|b| TotpSecret::from_bytes(&b))
        .map_err(|e| {
            AuthError::Internal(anyhow::anyhow!(
                "authenticator secret of {}: {e}",
                session.account_id
            ))
        })
    }

    /// Confirms the authentication app with a code from it. The code's time step counts as
    /// used (RFC 6238 §5.2).
    ///
    /// # Errors
    /// [`AuthError::MalformedCode`], [`AuthError::InvalidCode`], [`AuthError::NothingPending`].
    pub async fn confirm_totp(
        &self,
        session: &CurrentSession,
        code: &str,
        client: &ClientInfo,
    ) -> Result<MethodConfirmed, AuthError> {
        let code = OtpCode::parse(code)?;
        let Some((sealed, _)) = self
            .store
            .two_factor()
            .totp_pending(&session.account_id)
            .await?
        else {
            return Err(AuthError::NothingPending(Pending::NoAppSetUp));
        };
        let secret = self.open_totp(session, &sealed)?;
        let now = self.now();
        // Charged before the comparison, like every code (OWASP ASVS 4.0.3 V2.2.1).
        if !self
            .store
            .two_factor()
            .charge_totp_confirmation(&session.account_id, &sealed, self.tf.challenge_max_failures)
            .await?
        {
            return Err(super::CodeProblem::UsedUp.into());
        }
        let Some(step) = secret.matching_step(&code, now) else {
            return Err(super::CodeProblem::Wrong.into());
        };
        let (batch, codes) = self.backup_codes().new_batch(&session.account_id, now);
        let Some(enabled_now) = self
            .store
            .two_factor()
            .confirm_totp(&session.account_id, &sealed, step, now, &batch, client)
            .await?
        else {
            return Err(AuthError::NothingPending(Pending::AppSetUpRestarted));
        };
        tracing::info!(account = %session.account_id, enabled_now, "authentication app set up");
        // A code from the new app proved it in this session: apps that take only two-factor
        // logins accept the session from now on.
        self.store
            .sessions()
            .mark_second_factor(&session.session_id, crate::domain::Method::Totp)
            .await?;
        // OWASP ASVS 4.0.3 V2.5.5: a new authenticator is a change the owner must hear of.
        self.notices().notify(&session.account_id).await;
        Ok(MethodConfirmed {
            enabled_now,
            backup_codes: enabled_now.then_some(codes),
        })
    }

    /// Removes the authentication app (nothing to do when there is none); the last method
    /// turns 2FA off.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn remove_totp(
        &self,
        session: &CurrentSession,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        self.remove_method(session, EventKind::TotpRemoved, client)
            .await
    }

    /// Starts verifying a phone: parses it (mobile numbers only), charges the text budget,
    /// checks it is nobody else's, sends a code. Returns the masked number.
    ///
    /// The budget is charged before the ownership check, so "this number is in use" can be
    /// asked only as often as a code could be sent: nobody can list whose numbers are here.
    ///
    /// # Errors
    /// [`AuthError::InvalidPhone`], [`AuthError::PhoneInUse`], [`AuthError::RateLimited`]
    /// (a code went out less than 30 seconds ago, or a budget is spent),
    /// [`AuthError::SmsFailed`].
    pub async fn start_sms(
        &self,
        session: &CurrentSession,
        phone: &str,
    ) -> Result<String, AuthError> {
        let phone = PhoneNumber::parse(phone, self.tf.default_region.as_deref())?;
        let charged = self.charge_text(&session.account_id, &phone).await?;
        if let Some(owner) = self.store.two_factor().phone_owner(&phone).await?
            && owner != session.account_id
        {
            self.refund_all_but_account(&charged).await?;
            return Err(AuthError::PhoneInUse);
        }
        let now = self.now();
        let code = OtpCode::generate();
        let mac = self
            .keys
            .sms_code_mac(&enrolment_binding(session), code.digits());
        let expires = now.plus(self.tf.sms_code_secs);
        if !self
            .store
            .two_factor()
            .put_sms_pending(&NewSmsCode {
                account: &session.account_id,
                phone: &phone,
                code_mac: &mac,
                now,
                expires_at: expires,
                cooldown: self.tf.sms_cooldown_secs,
                daily_cap: ENROLMENT_SMS_PER_DAY,
            })
            .await?
        {
            self.refund(&charged).await?;
            let pending = self
                .store
                .two_factor()
                .sms_pending(&session.account_id)
                .await?;
            let retry_after = match pending {
                Some(p)
                    if p.send_count >= ENROLMENT_SMS_PER_DAY
                        && p.window_start.0 > now.0 - 86_400 =>
                {
                    p.window_start.0 + 86_400 - now.0
                }
                Some(p) => p.sent_at.0 + self.tf.sms_cooldown_secs - now.0,
                None => 1,
            };
            return Err(AuthError::RateLimited {
                retry_after: retry_after.max(1),
            });
        }
        self.send_charged(
            &charged,
            &phone,
            &code_message(&code, &self.tf.sms_host),
            "phone verification code",
        )
        .await
        .map_err(|_| AuthError::SmsFailed)?;
        Ok(phone.masked())
    }

    /// Confirms the pending phone with the code sent to it.
    ///
    /// # Errors
    /// [`AuthError::MalformedCode`], [`AuthError::InvalidCode`], [`AuthError::PhoneInUse`]
    /// (another account verified it first), [`AuthError::NothingPending`].
    pub async fn confirm_sms(
        &self,
        session: &CurrentSession,
        code: &str,
        client: &ClientInfo,
    ) -> Result<MethodConfirmed, AuthError> {
        let code = OtpCode::parse(code)?;
        let now = self.now();
        let mac = self
            .keys
            .sms_code_mac(&enrolment_binding(session), code.digits());
        let (batch, codes) = self.backup_codes().new_batch(&session.account_id, now);
        match self
            .store
            .two_factor()
            .confirm_sms(&ConfirmSms {
                account: &session.account_id,
                code_mac: &mac,
                now,
                max_attempts: self.tf.challenge_max_failures,
                first_batch: &batch,
                client,
                keep: &session.session_id,
            })
            .await?
        {
            SmsConfirm::Verified { enabled, .. } => {
                tracing::info!(account = %session.account_id, enabled_now = enabled, "phone verified for text-message codes");
                self.store
                    .sessions()
                    .mark_second_factor(&session.session_id, crate::domain::Method::Sms)
                    .await?;
                // A changed number tells the old one (queued with the change).
                self.notices().notify(&session.account_id).await;
                Ok(MethodConfirmed {
                    enabled_now: enabled,
                    backup_codes: enabled.then_some(codes),
                })
            }
            SmsConfirm::WrongCode => Err(super::CodeProblem::Wrong.into()),
            SmsConfirm::UsedUp => Err(super::CodeProblem::UsedUp.into()),
            SmsConfirm::PhoneInUse => Err(AuthError::PhoneInUse),
            SmsConfirm::NothingPending => Err(AuthError::NothingPending(Pending::NoPhoneCode)),
        }
    }

    /// Removes the phone (nothing to do when there is none); the last method turns 2FA off.
    /// The old number gets a notice.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn remove_sms(
        &self,
        session: &CurrentSession,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        self.remove_method(session, EventKind::SmsRemoved, client)
            .await
    }

    /// Removes one method (idempotent); the notice (the removed phone is told, and that 2FA
    /// is off when this was the last method) is queued with the change.
    async fn remove_method(
        &self,
        session: &CurrentSession,
        kind: EventKind,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let r = self
            .store
            .two_factor()
            .remove_method(
                &session.account_id,
                kind,
                self.now(),
                client,
                &session.session_id,
            )
            .await?;
        if !r.removed {
            return Ok(()); // already gone: removing is idempotent
        }
        // The removed phone is told, and that 2FA is off when this was the last method.
        self.notices().notify(&session.account_id).await;
        Ok(())
    }

    /// Turns 2FA off: every method and backup code goes. The phone, if any, gets a notice.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn disable_two_factor(
        &self,
        session: &CurrentSession,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let (_, was_on) = self
            .store
            .two_factor()
            .disable_two_factor(
                &session.account_id,
                EventKind::TwoFactorDisabled,
                self.now(),
                client,
                Some(&session.session_id),
                None,
            )
            .await?;
        if was_on {
            tracing::info!(account = %session.account_id, "two-factor authentication turned off");
            self.notices().notify(&session.account_id).await;
        }
        Ok(())
    }

    /// Operator: turns 2FA off for `username` (lost every method and code), ends every
    /// session, records who did it and why. Returns `false` for an unknown user.
    ///
    /// # Errors
    /// On a database failure or an invalid username.
    pub async fn reset_two_factor(
        &self,
        username: &str,
        operator: &ClientInfo,
        reason: Option<&str>,
    ) -> Result<bool, AuthError> {
        let username = crate::domain::Username::parse(username)?;
        let Some(account) = self.store.accounts().account_by_username(&username).await? else {
            return Ok(false);
        };
        self.store
            .two_factor()
            .disable_two_factor(
                &account.id,
                EventKind::TwoFactorResetByOperator,
                self.now(),
                operator,
                None,
                reason,
            )
            .await?;
        self.notices().notify(&account.id).await;
        Ok(true)
    }
}

/// Verification codes one account may have sent while setting up a phone, per 24 hours
/// (with 5 tries each, guessing a code for someone else's number stays hopeless, and the
/// server cannot be used to flood a number with texts).
const ENROLMENT_SMS_PER_DAY: i64 = 10;

/// Authenticator set-ups (new secrets) per account per day.
const TOTP_SETUPS_PER_DAY: i64 = 10;

/// What an enrolment SMS code is bound to in its keyed hash.
fn enrolment_binding(session: &CurrentSession) -> String {
    format!("enrol:{}", session.account_id)
}
