//! The second step of a login: the challenge, "Try another way", and checking a code. Every
//! wrong code is counted in the database, per challenge (5, then the challenge is dead) and
//! per account (10 in a row lock the second step for 15 minutes, doubling on repeat) — NIST
//! SP 800-63B §5.2.2, RFC 4226 §7.3, OWASP ASVS 4.0.3 V2.2.1.
//!
//! Each method turns the typed code into what the database compares: `sms.rs` (and "Resend
//! code"), `totp.rs`, and `super::backup_codes` for backup codes. `complete_second_step`
//! then runs the one store transaction (`hold → consume → finish | refuse`) and answers.

mod sms;
mod totp;
mod webauthn;

use super::login::{LoginOutcome, NewSessionToken};
use super::new_session::SessionDraft;
use super::{AuthError, CodeProblem, CodeRefusal, MethodProblem};
use crate::crypto::Token;
use crate::domain::{ClientInfo, EventKind, Method, OtpCode, SessionKind, UnixTime};
use crate::sms::code_message;
use crate::store::{
    AccountRecord, Attempt, AttemptLimits, ChallengeState, NewChallenge, NewEvent, PasswordProof,
    Proof, Refusal, SecondStepAttempt, TwoFactorRecord,
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
    /// This second step finished a recovery: the new password is set and every other
    /// session ended.
    pub recovered: bool,
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
    /// Wrong codes this login attempt still takes.
    pub tries_left: i64,
    /// Wrong codes a login attempt takes in all.
    pub max_tries: i64,
    /// Seconds the account's second step stays locked after too many wrong codes, when it is
    /// locked now (a right code is refused too until then).
    pub locked_for: Option<i64>,
    /// It finishes a recovery ("Forgot password?") rather than a login.
    pub recovery: bool,
    /// Seconds until this login attempt runs out (the page offers "Log in again" then).
    pub expires_in: i64,
}

/// A typed code reduced to what the database compares (built by one function per method),
/// with what to say when it is refused.
pub(super) enum CheckedCode {
    /// The keyed hash of a texted code, and what is wrong if it is refused (not sent yet,
    /// expired, or simply wrong).
    Sms {
        /// The keyed hash, bound to the challenge.
        mac: String,
        /// What a refusal means.
        problem: CodeProblem,
    },
    /// The authenticator step the code matched, if any, under the sealed secret checked.
    Totp {
        /// The matching time step.
        step: Option<i64>,
        /// The sealed secret it was checked against.
        sealed: String,
    },
    /// The keyed hash of a backup code, bound to the account.
    Backup {
        /// The keyed hash.
        mac: String,
    },
    /// A passkey's assertion, judged: the flow it answered (the challenge's id), the passkey
    /// that signed, and the counter it signed when the signature verified.
    Passkey {
        /// The flow's id.
        flow: String,
        /// The passkey's id ("" for none of the account's).
        passkey: String,
        /// The signed counter; `None`: refused.
        counter: Option<i64>,
        /// Refused because the counter went back (the owner is told).
        cloned: bool,
    },
}

impl CheckedCode {
    fn proof(&self) -> Proof<'_> {
        match self {
            Self::Sms { mac, .. } => Proof::Sms(mac),
            Self::Totp { step, sealed } => Proof::Totp {
                step: *step,
                sealed,
            },
            Self::Backup { mac } => Proof::Backup(mac),
            Self::Passkey {
                flow,
                passkey,
                counter,
                ..
            } => Proof::Passkey {
                flow,
                passkey,
                counter: *counter,
            },
        }
    }

    fn problem(&self, refusal: Refusal) -> CodeProblem {
        match (self, refusal) {
            (_, Refusal::AlreadyUsed) => CodeProblem::AlreadyUsed,
            (Self::Sms { problem, .. }, Refusal::Wrong) => *problem,
            (Self::Passkey { cloned: true, .. }, _) => CodeProblem::PasskeyCloned,
            (Self::Passkey { .. }, _) => CodeProblem::PasskeyRefused,
            _ => CodeProblem::Wrong,
        }
    }

    fn method(&self) -> Method {
        match self {
            Self::Sms { .. } => Method::Sms,
            Self::Totp { .. } => Method::Totp,
            Self::Backup { .. } => Method::BackupCode,
            Self::Passkey { .. } => Method::Webauthn,
        }
    }

    fn cloned(&self) -> bool {
        matches!(self, Self::Passkey { cloned: true, .. })
    }
}

/// The account's methods, strongest first: a passkey or security key (phishing-resistant,
/// NIST SP 800-63B §5.1.8), the authenticator app, then text messages (a restricted
/// authenticator, NIST SP 800-63B §5.1.3.3, OWASP ASVS 4.0.3 V2.7.1), then backup codes.
/// A recovery that came by text refuses texts (`sms_refused`): one phone would stand for
/// both factors (NIST SP 800-63B §6.1.2.3: recovery must not lower the assurance).
pub(super) fn methods_of(tf: &TwoFactorRecord, sms_refused: bool) -> Vec<Method> {
    let mut m = Vec::new();
    if tf.passkeys > 0 {
        m.push(Method::Webauthn);
    }
    if tf.totp.is_some() {
        m.push(Method::Totp);
    }
    if tf.phone.is_some() && !sms_refused {
        m.push(Method::Sms);
    }
    m.push(Method::BackupCode);
    m
}

fn default_of(methods: &[Method]) -> Method {
    methods.first().copied().unwrap_or(Method::BackupCode)
}

impl crate::auth::SecondStep<'_> {
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
        let methods = methods_of(tf, false);
        let default_method = default_of(&methods);
        let phone = tf
            .phone
            .as_ref()
            .filter(|_| default_method == Method::Sms)
            .map(|(p, _)| p.clone());
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
        if !self
            .store
            .challenges()
            .create_challenge(&challenge, proof)
            .await?
        {
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
                        self.store.challenges().unsend_challenge_sms(&id).await?;
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

    /// Looks up a live challenge by the token the client holds, with its account and the
    /// account's second factors (one statement).
    ///
    /// # Errors
    /// [`AuthError::ChallengeFailed`] for one that took its wrong codes,
    /// [`AuthError::ChallengeExpired`] for an unknown, finished or expired one.
    pub(in crate::auth) async fn live_challenge(
        &self,
        token: &str,
    ) -> Result<(String, ChallengeState), AuthError> {
        let token = Token::from_client(token).ok_or(AuthError::ChallengeExpired)?;
        let id = self.keys.challenge_id(token.reveal());
        let (id, state) = self.live_challenge_by_id(id).await?;
        // A deletion's challenge confirms the deletion and nothing else: it is no login
        // (auth/account_deletion.rs takes it by id).
        if state.challenge.for_deletion {
            return Err(AuthError::ChallengeExpired);
        }
        Ok((id, state))
    }

    /// Looks up a live challenge by its id.
    pub(super) async fn live_challenge_by_id(
        &self,
        id: String,
    ) -> Result<(String, ChallengeState), AuthError> {
        let state = self
            .store
            .challenges()
            .challenge_state(&id)
            .await?
            .ok_or(AuthError::ChallengeExpired)?;
        let challenge = &state.challenge;
        if challenge.finished_at.is_none() && challenge.failures >= self.tf.challenge_max_failures {
            return Err(AuthError::ChallengeFailed);
        }
        if !challenge.is_alive(self.now(), self.tf.challenge_max_failures) {
            return Err(AuthError::ChallengeExpired);
        }
        Ok((id, state))
    }

    /// What the challenge offers (for the code page and "Try another way").
    ///
    /// # Errors
    /// [`AuthError::ChallengeExpired`] for an unknown, finished or dead challenge.
    pub async fn challenge_view(&self, token: &str) -> Result<ChallengeView, AuthError> {
        let (
            _,
            ChallengeState {
                challenge,
                account,
                two_factor: tf,
            },
        ) = self.live_challenge(token).await?;
        let methods = methods_of(&tf, challenge.sms_refused);
        let now = self.now();
        Ok(ChallengeView {
            default_method: default_of(&methods),
            methods,
            phone: tf
                .phone
                .filter(|_| !challenge.sms_refused)
                .map(|(p, _)| p.masked()),
            recovery: challenge.recovery_id.is_some(),
            sms_sent: challenge.sms_sent_at.is_some(),
            username: account.username,
            tries_left: (self.tf.challenge_max_failures - challenge.failures).max(0),
            max_tries: self.tf.challenge_max_failures,
            locked_for: tf.locked_until.filter(|u| *u > now).map(|u| u.0 - now.0),
            expires_in: (challenge.expires_at.0 - now.0).max(0),
        })
    }

    /// Checks a code at the second step; a right one creates the session. Every checked code
    /// is counted in the database before it is answered (see
    /// `store.second_step().attempt_second_factor`).
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
        let method =
            Method::parse(method).map_err(|_| AuthError::InvalidMethod(MethodProblem::Unknown))?;
        let result = self.check_code(token, method, code, client).await;
        let label = match &result {
            Ok(_) => "logged_in",
            Err(e) => e.metric_label(),
        };
        self.metrics.second_step(method.as_str(), label);
        result
    }

    /// [`complete_second_step`](Self::complete_second_step) for a known method.
    async fn check_code(
        &self,
        token: &str,
        method: Method,
        code: &str,
        client: &ClientInfo,
    ) -> Result<SecondStepDone, AuthError> {
        let (id, state) = self.live_challenge(token).await?;
        self.attempt_on(&id, &state, method, code, client).await
    }

    /// Checks a code on the challenge `id` (a login's or a recovery's).
    pub(super) async fn attempt_on(
        &self,
        id: &str,
        state: &ChallengeState,
        method: Method,
        code: &str,
        client: &ClientInfo,
    ) -> Result<SecondStepDone, AuthError> {
        let ChallengeState {
            challenge,
            two_factor: tf,
            ..
        } = state;
        let now = self.now();
        ready(state, method, now)?;
        // Parse before anything is counted: a malformed code changes nothing.
        let checked = match method {
            Method::Sms => self.sms_proof(id, challenge, code, now)?,
            Method::Totp => self.totp_proof(&challenge.account_id, tf, code, now)?,
            Method::BackupCode => self
                .backup_codes()
                .backup_proof(&challenge.account_id, code)?,
            Method::Webauthn | Method::Passkey => {
                return Err(AuthError::InvalidMethod(MethodProblem::Unknown));
            }
        };
        self.attempt_checked(id, state, checked, client).await
    }

    /// Tries a code reduced to what the database compares on the challenge `id`: the one
    /// transaction, then the answer.
    pub(super) async fn attempt_checked(
        &self,
        id: &str,
        state: &ChallengeState,
        checked: CheckedCode,
        client: &ClientInfo,
    ) -> Result<SecondStepDone, AuthError> {
        let ChallengeState {
            challenge, account, ..
        } = state;
        let now = self.now();
        let method = checked.method();
        if account.disabled_at.is_some() {
            return Err(AuthError::AccountDisabled);
        }
        let recovery = challenge.recovery_id.as_deref();
        let mut draft = SessionDraft::new(self, challenge.kind, client);
        if recovery.is_none() {
            draft = draft.check_device(self, &account.id, client).await?;
        }
        let session = draft.row(&account.id, client, Some(method));
        let success = NewEvent {
            account_id: &account.id,
            kind: match (recovery, method) {
                (Some(_), _) => EventKind::RecoveryCompleted,
                (None, Method::Sms) => EventKind::LoginSms,
                (None, Method::Totp) => EventKind::LoginTotp,
                (None, Method::BackupCode) => EventKind::LoginBackupCode,
                (None, Method::Webauthn | Method::Passkey) => EventKind::LoginPasskey,
            },
            at: now,
            client,
            detail: recovery.map(|_| method.as_str()),
        };
        let failure = NewEvent {
            kind: if checked.cloned() {
                EventKind::PasskeyCloned
            } else {
                EventKind::SecondFactorFailed
            },
            detail: Some(method.as_str()),
            ..success
        };
        let attempt = self
            .store
            .second_step()
            .attempt_second_factor(&SecondStepAttempt {
                challenge_id: Some(id),
                proof: checked.proof(),
                limits: self.attempt_limits(),
                session: &session,
                success: &success,
                failure: &failure,
                recovery,
            })
            .await?;
        if checked.cloned() && matches!(attempt, Attempt::Refused { .. }) {
            // The refusal's notice ("a copy of it may exist") was queued with it.
            self.notices().notify(&account.id).await;
        }
        let (backup_remaining, notice_waiting) = self.answer(attempt, &checked, account, now)?;
        if notice_waiting {
            // The notice ("a backup code was used — N left", "your password was reset",
            // "a new browser logged in") was queued with the login.
            self.notices().notify(&account.id).await;
        }
        Ok(SecondStepDone {
            session: draft.issued(account.id.clone(), account.username.clone()),
            method,
            backup_remaining,
            recovered: recovery.is_some(),
        })
    }

    /// The second step's limits, from the policy.
    pub(in crate::auth) fn attempt_limits(&self) -> AttemptLimits {
        AttemptLimits {
            per_challenge: self.tf.challenge_max_failures,
            lock_every: self.tf.account_lock_threshold,
            cap: self.tf.account_cap,
            lock_secs: self.tf.account_lock_secs,
        }
    }

    /// How an attempt is answered: `Ok` with the backup codes left (after a backup code) and
    /// whether a notice of it waits for delivery, or the error that says what happened and
    /// how many tries are left.
    pub(in crate::auth) fn answer(
        &self,
        attempt: Attempt,
        checked: &CheckedCode,
        account: &AccountRecord,
        now: UnixTime,
    ) -> Result<(Option<i64>, bool), AuthError> {
        match attempt {
            Attempt::Done {
                backup_remaining,
                notice_waiting,
            } => {
                tracing::info!(account = %account.id, method = %checked.method(), "logged in with a second factor");
                Ok((backup_remaining, notice_waiting))
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
                self.metrics.lockout("second_step");
                tracing::warn!(account = %account.id, "second step locked after repeated wrong codes");
                Err(AuthError::RateLimited {
                    retry_after: until.0 - now.0,
                })
            }
            Attempt::Refused {
                refusal,
                tries_left,
                ..
            } => {
                if checked.cloned() {
                    tracing::warn!(account = %account.id, "a passkey's signature counter went back: refused, the owner is told");
                }
                Err(AuthError::InvalidCode(CodeRefusal {
                    problem: checked.problem(refusal),
                    tries_left: Some(tries_left),
                }))
            }
        }
    }
}

/// Whether the challenge's account may try `method` now: not locked, and the method set up.
fn ready(state: &ChallengeState, method: Method, now: UnixTime) -> Result<(), AuthError> {
    if let Some(until) = state.two_factor.locked_until.filter(|u| *u > now) {
        return Err(AuthError::RateLimited {
            retry_after: until.0 - now.0,
        });
    }
    offered(&state.two_factor, state.challenge.sms_refused, method)
}

/// Refuses a method the account has not set up (or any, while 2FA is off).
fn offered(tf: &TwoFactorRecord, sms_refused: bool, method: Method) -> Result<(), AuthError> {
    if methods_of(tf, sms_refused).contains(&method) && tf.enabled_since.is_some() {
        return Ok(());
    }
    Err(AuthError::InvalidMethod(match method {
        Method::Sms => MethodProblem::NoPhone,
        Method::Totp => MethodProblem::NoApp,
        Method::BackupCode => MethodProblem::NoBackupCodes,
        Method::Webauthn => MethodProblem::NoPasskey,
        Method::Passkey => MethodProblem::Unknown,
    }))
}
