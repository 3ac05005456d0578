//! The second step of a login: the challenge, "Try another way", "Resend code", and
//! checking a code. Every wrong code is counted in the database, per challenge (5, then the
//! challenge is dead) and per account (10 in a row lock the second step for 15 minutes,
//! doubling on repeat) — NIST SP 800-63B §5.2.2, RFC 4226 §7.3, OWASP ASVS 4.0.3 V2.2.1.

use super::login::{LoginOutcome, NewSessionToken};
use super::{Auth, AuthError, CodeProblem};
use crate::crypto::{Token, TotpSecret, open};
use crate::domain::{BackupCode, ClientInfo, EventKind, Method, OtpCode, PhoneNumber, UnixTime};
use crate::sms::{SmsError, code_message};
use crate::store::{
    AccountRecord, Attempt, NewChallenge, NewEvent, NewSession, Proof, Refusal, SessionKind,
    TwoFactorRecord,
};

/// A started second step, as the client sees it.
#[derive(Debug)]
pub struct ChallengeStarted {
    /// The opaque challenge token the client sends back (held in a cookie by browsers).
    pub token: Token,
    /// What the account has set up, in the order offered.
    pub methods: Vec<Method>,
    /// The method offered first: SMS when there is a phone, else the app.
    pub default_method: Method,
    /// The masked number an SMS code went to, when one was sent.
    pub sms_sent_to: Option<String>,
    /// An SMS should have gone out but could not be sent.
    pub sms_failed: bool,
    /// When the challenge dies.
    pub expires_at: UnixTime,
}

/// A finished second step.
#[derive(Debug)]
pub struct SecondStepDone {
    /// The new session.
    pub session: NewSessionToken,
    /// How the user got in.
    pub method: Method,
    /// Backup codes left, after a backup-code login.
    pub backup_remaining: Option<i64>,
}

/// What a challenge offers, for the code page.
#[derive(Debug, Clone)]
pub struct ChallengeView {
    /// Methods set up on the account.
    pub methods: Vec<Method>,
    /// The default method.
    pub default_method: Method,
    /// The masked phone, when the account has one.
    pub phone: Option<String>,
    /// Whether an SMS code has been sent for this challenge.
    pub sms_sent: bool,
    /// The username logging in.
    pub username: String,
}

/// Login texts an account may be sent per hour, across all its login attempts.
const LOGIN_SMS_PER_HOUR: i64 = 10;

fn methods_of(tf: &TwoFactorRecord) -> Vec<Method> {
    let mut m = Vec::new();
    if tf.phone.is_some() {
        m.push(Method::Sms);
    }
    if tf.totp.is_some() {
        m.push(Method::Totp);
    }
    m.push(Method::BackupCode);
    m
}

fn default_of(methods: &[Method]) -> Method {
    methods.first().copied().unwrap_or(Method::BackupCode)
}

impl Auth {
    /// After a right password on a 2FA account: creates the challenge and, when the account
    /// has a phone, sends the SMS code at once (as Instagram does).
    pub(super) async fn start_challenge(
        &self,
        account: &AccountRecord,
        tf: &TwoFactorRecord,
        kind: SessionKind,
        client: &ClientInfo,
        rehash: Option<&str>,
    ) -> Result<LoginOutcome, AuthError> {
        let now = self.now();
        let token = Token::generate();
        let id = self.keys.challenge_id(token.reveal());
        let methods = methods_of(tf);
        // At most LOGIN_SMS_PER_HOUR login texts per account: someone who knows the password
        // cannot make Twofold flood the phone (the other methods still work).
        let held = tf.phone.is_some()
            && self
                .store
                .login_sms_sent_since(&account.id, now.plus(-3600))
                .await?
                >= LOGIN_SMS_PER_HOUR;
        let phone = tf
            .phone
            .as_ref()
            .filter(|_| !held)
            .and_then(|(p, _)| PhoneNumber::from_e164(p).ok());
        let code = phone.as_ref().map(|_| OtpCode::generate());
        let sms = code.as_ref().map(|c| {
            (
                self.keys.sms_code_mac(&id, c.digits()),
                now.plus(self.tf.sms_code_secs),
            )
        });
        let expires_at = now.plus(self.tf.challenge_secs);
        let challenge = NewChallenge {
            id: &id,
            account_id: &account.id,
            kind,
            now,
            expires_at,
            client,
            sms,
        };
        let clear = account.failed_logins != 0 || account.locked_until.is_some();
        if !self
            .store
            .create_challenge(&challenge, clear, rehash)
            .await?
        {
            return Err(self.paused(&account.id).await?);
        }
        let (mut sms_sent_to, mut sms_failed) = (None, false);
        if let (Some(phone), Some(code)) = (phone, code) {
            match self
                .sms
                .send(
                    &phone,
                    &code_message(&code, &self.tf.sms_host),
                    "login code",
                )
                .await
            {
                Ok(()) => sms_sent_to = Some(phone.masked()),
                Err(e) => {
                    sms_failed = true;
                    // A refused text never left; a timed-out one may have: it still counts.
                    if !matches!(e, SmsError::Timeout(_)) {
                        self.store.unsend_challenge_sms(&id).await?;
                    }
                }
            }
        }
        Ok(LoginOutcome::TwoFactor(ChallengeStarted {
            token,
            default_method: default_of(&methods),
            methods,
            sms_sent_to,
            sms_failed,
            expires_at,
        }))
    }

    /// Looks up a live challenge by the token the client holds.
    async fn live_challenge(
        &self,
        token: &str,
    ) -> Result<(String, crate::store::ChallengeRecord), AuthError> {
        let token = Token::from_client(token).ok_or(AuthError::ChallengeExpired)?;
        let id = self.keys.challenge_id(token.reveal());
        let challenge = self
            .store
            .challenge(&id)
            .await?
            .ok_or(AuthError::ChallengeExpired)?;
        if !challenge.is_alive(self.now(), self.tf.challenge_max_failures) {
            return Err(AuthError::ChallengeExpired);
        }
        Ok((id, challenge))
    }

    /// What the challenge offers (for the code page and "Try another way").
    ///
    /// # Errors
    /// [`AuthError::ChallengeExpired`] for an unknown, finished or dead challenge.
    pub async fn challenge_view(&self, token: &str) -> Result<ChallengeView, AuthError> {
        let (_, challenge) = self.live_challenge(token).await?;
        let tf = self.store.two_factor(&challenge.account_id).await?;
        let account = self
            .store
            .account_by_id(&challenge.account_id)
            .await?
            .ok_or(AuthError::ChallengeExpired)?;
        let methods = methods_of(&tf);
        Ok(ChallengeView {
            default_method: default_of(&methods),
            methods,
            phone: tf
                .phone
                .and_then(|(p, _)| PhoneNumber::from_e164(&p).ok())
                .map(|p| p.masked()),
            sms_sent: challenge.sms_sent_at.is_some(),
            username: account.username,
        })
    }

    /// "Resend code": a fresh SMS code replaces the old one, at most every 30 seconds and 5
    /// times per challenge. Returns the masked number.
    ///
    /// # Errors
    /// [`AuthError::ChallengeExpired`], [`AuthError::InvalidMethod`] (no phone),
    /// [`AuthError::RateLimited`], [`AuthError::SmsFailed`].
    pub async fn resend_sms(&self, token: &str) -> Result<String, AuthError> {
        let (id, challenge) = self.live_challenge(token).await?;
        let tf = self.store.two_factor(&challenge.account_id).await?;
        let Some(phone) = tf.phone.and_then(|(p, _)| PhoneNumber::from_e164(&p).ok()) else {
            return Err(AuthError::InvalidMethod(
                "this account has no phone for text messages; try another way",
            ));
        };
        let now = self.now();
        if self
            .store
            .login_sms_sent_since(&challenge.account_id, now.plus(-3600))
            .await?
            >= LOGIN_SMS_PER_HOUR
        {
            return Err(AuthError::RateLimited { retry_after: 3600 });
        }
        let code = OtpCode::generate();
        let mac = self.keys.sms_code_mac(&id, code.digits());
        let p = &self.tf;
        if !self
            .store
            .set_challenge_sms(
                &id,
                &mac,
                now,
                now.plus(p.sms_code_secs),
                p.sms_cooldown_secs,
                p.sms_max_sends,
                p.challenge_max_failures,
            )
            .await?
        {
            let wait = challenge
                .sms_sent_at
                .map(|t| t.0 + p.sms_cooldown_secs - now.0)
                .unwrap_or(0);
            let retry_after = if challenge.sms_sends >= p.sms_max_sends {
                challenge.expires_at.0 - now.0
            } else if wait > 0 {
                wait
            } else {
                // Neither limit explains it: the challenge ended meanwhile.
                return Err(AuthError::ChallengeExpired);
            };
            return Err(AuthError::RateLimited {
                retry_after: retry_after.max(1),
            });
        }
        if let Err(e) = self
            .sms
            .send(&phone, &code_message(&code, &p.sms_host), "login code")
            .await
        {
            if !matches!(e, SmsError::Timeout(_)) {
                self.store.unsend_challenge_sms(&id).await?;
            }
            return Err(AuthError::SmsFailed);
        }
        Ok(phone.masked())
    }

    /// Checks a code at the second step; a right one creates the session. Every checked code
    /// is counted in the database before it is answered (see `Store::attempt_second_factor`).
    ///
    /// # Errors
    /// [`AuthError::InvalidMethod`] (unknown or not set up), [`AuthError::MalformedCode`]
    /// (changes nothing), [`AuthError::ChallengeExpired`], [`AuthError::RateLimited`]
    /// (locked, even for a right code), [`AuthError::InvalidCode`].
    pub async fn complete_second_step(
        &self,
        token: &str,
        method: &str,
        code: &str,
        client: &ClientInfo,
    ) -> Result<SecondStepDone, AuthError> {
        let method = Method::parse(method).map_err(|_| {
            AuthError::InvalidMethod("the method must be one of sms, totp or backup_code")
        })?;
        let (id, challenge) = self.live_challenge(token).await?;
        let account_id = challenge.account_id.clone();
        let tf = self.store.two_factor(&account_id).await?;
        let now = self.now();
        if let Some(until) = tf.locked_until.filter(|u| *u > now) {
            return Err(AuthError::RateLimited {
                retry_after: until.0 - now.0,
            });
        }
        if !methods_of(&tf).contains(&method) || tf.enabled_since.is_none() {
            return Err(AuthError::InvalidMethod(match method {
                Method::Sms => "this account has no phone for text messages; try another way",
                Method::Totp => "this account has no authentication app; try another way",
                Method::BackupCode => "this account has no backup codes",
            }));
        }
        // Parse before anything is counted: a malformed code changes nothing. Then reduce the
        // code to what the database compares.
        let mut problem = CodeProblem::Wrong;
        let mac;
        let proof = match method {
            Method::Sms => {
                let c = OtpCode::parse(code)?;
                if !challenge.sms_pending {
                    problem = CodeProblem::NotSent;
                } else if challenge.sms_expires_at.is_some_and(|e| e <= now) {
                    problem = CodeProblem::Expired;
                }
                mac = self.keys.sms_code_mac(&id, c.digits());
                Proof::Sms(&mac)
            }
            Method::Totp => {
                let c = OtpCode::parse(code)?;
                let Some(totp) = &tf.totp else {
                    return Err(AuthError::InvalidMethod("no authentication app"));
                };
                let secret = open(
                    self.keys.totp_seal(),
                    account_id.as_str().as_bytes(),
                    &totp.secret_sealed,
                )
                .map(|b| TotpSecret::from_bytes(&b))
                .map_err(|e| {
                    AuthError::Internal(anyhow::anyhow!(
                        "authenticator secret of {account_id}: {e}"
                    ))
                })?;
                Proof::Totp(secret.matching_step(&c, now), &totp.secret_sealed)
            }
            Method::BackupCode => {
                let c = BackupCode::parse(code)?;
                mac = self.keys.backup_code_mac(account_id.as_str(), c.digits());
                Proof::Backup(&mac)
            }
        };
        let account = self
            .store
            .account_by_id(&account_id)
            .await?
            .ok_or(AuthError::ChallengeExpired)?;
        if account.disabled_at.is_some() {
            return Err(AuthError::AccountDisabled);
        }
        let session_token = Token::generate();
        let session_id = crate::domain::SessionId::generate();
        let hash = session_token.hash();
        let session = NewSession {
            id: &session_id,
            token_hash: &hash,
            account_id: &account_id,
            kind: challenge.kind,
            now,
            expires_at: now.plus(self.policy.session_absolute_secs),
            client,
        };
        let kind = match method {
            Method::Sms => EventKind::LoginSms,
            Method::Totp => EventKind::LoginTotp,
            Method::BackupCode => EventKind::LoginBackupCode,
        };
        let success = NewEvent {
            account_id: &account_id,
            kind,
            at: now,
            client,
            detail: None,
        };
        let failure = NewEvent {
            kind: EventKind::SecondFactorFailed,
            detail: Some(method.as_str()),
            ..success
        };
        let p = &self.tf;
        let lock_base = p.account_lock_secs;
        let attempt = self
            .store
            .attempt_second_factor(
                &id,
                proof,
                p.challenge_max_failures,
                p.account_lock_threshold,
                |lockouts| (lock_base << lockouts.clamp(0, 6)).min(24 * 3600),
                &session,
                &success,
                &failure,
            )
            .await?;
        match attempt {
            Attempt::Done { backup_remaining } => {
                tracing::info!(account = %account_id, method = %method, "logged in with a second factor");
                if method == Method::BackupCode {
                    self.notify_backup_code_used(&account, &tf).await;
                }
                Ok(SecondStepDone {
                    session: NewSessionToken {
                        session_id,
                        token: session_token,
                        account_id,
                        username: account.username,
                    },
                    method,
                    backup_remaining,
                })
            }
            Attempt::Gone => Err(AuthError::ChallengeExpired),
            Attempt::Locked(until) => Err(AuthError::RateLimited {
                retry_after: until.0 - now.0,
            }),
            Attempt::Refused {
                locked_until: Some(until),
                ..
            } => {
                tracing::warn!(account = %account_id, "second step locked after repeated wrong codes");
                Err(AuthError::RateLimited {
                    retry_after: until.0 - now.0,
                })
            }
            Attempt::Refused {
                refusal: Refusal::AlreadyUsed,
                ..
            } => Err(AuthError::InvalidCode(CodeProblem::AlreadyUsed)),
            Attempt::Refused {
                refusal: Refusal::Wrong,
                ..
            } => Err(AuthError::InvalidCode(problem)),
        }
    }

    /// "A backup code was used to log in" to the account's phone, when it has one.
    async fn notify_backup_code_used(&self, account: &AccountRecord, tf: &TwoFactorRecord) {
        if let Some(p) = tf
            .phone
            .as_ref()
            .and_then(|(p, _)| PhoneNumber::from_e164(p).ok())
        {
            let body = format!(
                "Twofold: a backup code was used to log in to your account @{}. If this wasn't you, change your password and get new backup codes now.",
                account.username
            );
            let _ = self.sms.send(&p, &body, "security notice").await;
        }
    }
}
