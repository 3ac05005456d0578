//! The second step of a login: the challenge, "Try another way", "Resend code", and
//! checking a code. Every wrong code is counted in the database, per challenge (5, then the
//! challenge is dead) and per account (10 in a row lock the second step for 15 minutes,
//! doubling on repeat) — NIST SP 800-63B §5.2.2, RFC 4226 §7.3, OWASP ASVS 4.0.3 V2.2.1.

use super::login::{LoginOutcome, NewSessionToken};
use super::{Auth, AuthError, CodeProblem};
use crate::crypto::{Token, TotpSecret, open};
use crate::domain::{
    BackupCode, ClientInfo, EventKind, Method, OtpCode, PhoneNumber, SessionKind, UnixTime,
};
use crate::sms::code_message;
use crate::store::{
    AccountRecord, Attempt, NewChallenge, NewEvent, NewSession, PasswordProof, Proof, Refusal,
    SecondStepLimits, TwoFactorRecord,
};

/// A started second step, as the client sees it.
#[derive(Debug)]
pub struct ChallengeStarted {
    /// The opaque challenge token the client sends back (held in a cookie by browsers).
    pub token: Token,
    /// What the account has set up, in the order offered.
    pub methods: Vec<Method>,
    /// The method offered first: the strongest the account has (the app, else SMS).
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

/// The account's methods, strongest first: the authenticator app, then text messages (a
/// restricted authenticator, NIST SP 800-63B §5.1.3.3, OWASP ASVS 4.0.3 V2.7.1), then
/// backup codes.
fn methods_of(tf: &TwoFactorRecord) -> Vec<Method> {
    let mut m = Vec::new();
    if tf.totp.is_some() {
        m.push(Method::Totp);
    }
    if tf.phone.is_some() {
        m.push(Method::Sms);
    }
    m.push(Method::BackupCode);
    m
}

/// How long "Resend code" must wait on this challenge (30 seconds between codes, 5 codes per
/// challenge), if it must.
fn resend_wait(
    c: &crate::store::ChallengeRecord,
    now: UnixTime,
    p: &super::TwoFactorPolicy,
) -> Option<i64> {
    if c.sms_sends >= p.sms_max_sends {
        return Some((c.expires_at.0 - now.0).max(1));
    }
    let wait = c
        .sms_sent_at
        .map_or(0, |t| t.0 + p.sms_cooldown_secs - now.0);
    (wait > 0).then_some(wait)
}

fn default_of(methods: &[Method]) -> Method {
    methods.first().copied().unwrap_or(Method::BackupCode)
}

impl Auth {
    /// After a right password on a 2FA account: creates the challenge and, when text
    /// messages are the default (no authentication app), sends the SMS code at once — within
    /// the text budget; without budget the other methods are offered.
    pub(super) async fn start_challenge(
        &self,
        account: &AccountRecord,
        tf: &TwoFactorRecord,
        kind: SessionKind,
        client: &ClientInfo,
        proof: &PasswordProof<'_>,
    ) -> Result<LoginOutcome, AuthError> {
        let now = self.now();
        let token = Token::generate();
        let id = self.keys.challenge_id(token.reveal());
        let methods = methods_of(tf);
        let default_method = default_of(&methods);
        let phone = tf
            .phone
            .as_ref()
            .filter(|_| default_method == Method::Sms)
            .and_then(|(p, _)| PhoneNumber::from_e164(p).ok());
        let charged = match &phone {
            Some(p) => self.charge_text(&account.id, p).await.ok(),
            None => None,
        };
        let phone = phone.filter(|_| charged.is_some());
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
        if !self.store.create_challenge(&challenge, proof).await? {
            if let Some(c) = &charged {
                self.refund(c).await?;
            }
            return Err(self.proof_refused(proof.throttle).await?);
        }
        let (mut sms_sent_to, mut sms_failed) = (None, false);
        if let (Some(phone), Some(code), Some(charged)) = (phone, code, charged) {
            let body = code_message(&code, &self.tf.sms_host);
            match self
                .send_charged(&charged, &phone, &body, "login code")
                .await
            {
                Ok(()) => sms_sent_to = Some(phone.masked()),
                Err(e) => {
                    sms_failed = true;
                    // A refused text never left; a timed-out one may have: it still counts.
                    if matches!(e, crate::sms::SmsError::Refused(_)) {
                        self.store.unsend_challenge_sms(&id).await?;
                    }
                }
            }
        }
        Ok(LoginOutcome::TwoFactor(ChallengeStarted {
            token,
            default_method,
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
        let code = OtpCode::generate();
        let mac = self.keys.sms_code_mac(&id, code.digits());
        let p = &self.tf;
        if let Some(retry_after) = resend_wait(&challenge, now, p) {
            return Err(AuthError::RateLimited { retry_after });
        }
        let charged = self.charge_text(&challenge.account_id, &phone).await?;
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
            self.refund(&charged).await?;
            return Err(match resend_wait(&challenge, now, p) {
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
            if matches!(e, crate::sms::SmsError::Refused(_)) {
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
        let (device_token, device) = Self::device_for(challenge.kind, client);
        let session = NewSession {
            id: &session_id,
            token_hash: &hash,
            account_id: &account_id,
            kind: challenge.kind,
            now,
            expires_at: now.plus(self.policy.session_absolute_secs),
            client,
            device: device.as_deref(),
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
                SecondStepLimits {
                    threshold: p.account_lock_threshold,
                    cap: p.account_cap,
                },
                |lockouts| (lock_base << lockouts.clamp(0, 7)).min(24 * 3600),
                &session,
                &success,
                &failure,
            )
            .await?;
        match attempt {
            Attempt::Done { backup_remaining } => {
                tracing::info!(account = %account_id, method = %method, "logged in with a second factor");
                if method == Method::BackupCode {
                    self.notify_backup_code_used(&account, &tf, backup_remaining)
                        .await;
                }
                Ok(SecondStepDone {
                    session: NewSessionToken {
                        session_id,
                        token: session_token,
                        account_id,
                        username: account.username,
                        device_token,
                    },
                    method,
                    backup_remaining,
                })
            }
            Attempt::Gone => Err(AuthError::ChallengeExpired),
            Attempt::Locked(until) => Err(AuthError::RateLimited {
                retry_after: until.0 - now.0,
            }),
            Attempt::Capped => Err(AuthError::SecondStepBlocked),
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
    async fn notify_backup_code_used(
        &self,
        account: &AccountRecord,
        tf: &TwoFactorRecord,
        remaining: Option<i64>,
    ) {
        let what = match remaining {
            Some(n) => format!(
                "a backup code was used to log in ({n} left; if this wasn't you, get new codes)"
            ),
            None => "a backup code was used to log in".to_owned(),
        };
        let phone = tf.phone.as_ref().map(|(p, _)| p.as_str());
        self.notify(&account.id, &account.username, phone, "backup-code", &what)
            .await;
    }
}
