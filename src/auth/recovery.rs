//! "Forgot password?": a way back in that never goes around two-factor authentication.
//!
//! - **Asking** (`request_recovery`) answers the same, at once, whether or not anything
//!   matches: the request only spends the per-address and per-identifier limits, then the
//!   lookup and the sending run in the background (OWASP ASVS 4.0.3 V2.5.6, V3.2.x: no account
//!   enumeration by answer or timing).
//! - The account gets a link with a 256-bit token by email (stored as its SHA-256), or — with
//!   no address — a 6-digit code by text (stored as its HMAC, counted like every code: 5 wrong
//!   and it is dead; NIST SP 800-63B §5.1.3.2, §5.2.2). Either lasts 30 minutes, works once,
//!   and dies when the password changes (`store/recovery.rs`).
//! - **Finishing** sets the new password, and on an account with 2FA on only together with a
//!   second factor, in the same transaction that uses that factor up (a backup code exactly
//!   once, as at login). A recovery that came by text refuses a texted code as its second
//!   factor: one phone cannot stand for both (NIST SP 800-63B §6.1.2.3). Every session and
//!   every login in flight ends; the owner is told on every channel.

use subtle::ConstantTimeEq;

use super::{AuthError, ChallengeStarted, CodeProblem, MethodProblem, NewSessionToken};
use crate::crypto::Token;
use crate::domain::{
    AccountId, ClientInfo, Email, EventKind, Method, OtpCode, Password, PhoneNumber, RecoveryId,
    SessionKind, Username,
};
use crate::mail::recovery_message;
use crate::sms::recovery_code_message;
use crate::store::{
    Bucket, NewChallenge, NewEvent, NewRecovery, RecoveryChannel, RecoveryRecord, Spend,
};

/// A link or code works this long (OWASP ASVS 4.0.3 V2.3.1 calls for a short life).
const RECOVERY_SECS: i64 = 30 * 60;
/// Wrong codes before a texted code dies.
const MAX_FAILURES: i64 = 5;
/// Requests per client address per hour, and per identifier typed per hour.
const PER_ADDRESS_HOUR: i64 = 20;
const PER_IDENTIFIER_HOUR: i64 = 5;
/// Links or codes sent per account per hour and per day, and per destination per hour.
const PER_ACCOUNT_HOUR: i64 = 3;
const PER_ACCOUNT_DAY: i64 = 10;
const PER_DESTINATION_HOUR: i64 = 3;
/// Accounts one shared inbox is sent links for, at most.
const ACCOUNTS_PER_EMAIL: i64 = 5;

/// How a recovery is proven: the link's token, or the texted code with the username or phone
/// it was asked for.
#[derive(Clone, Copy)]
pub enum RecoveryProof<'a> {
    /// The token from the emailed link (or from a code exchanged on the pages).
    Token(&'a str),
    /// A texted code.
    Code {
        /// The username or phone number typed when asking.
        identifier: &'a str,
        /// The 6-digit code.
        code: &'a str,
    },
}

/// A live recovery, for the page that asks for the new password.
#[derive(Clone, Debug)]
pub struct RecoveryView {
    /// Whose.
    pub username: String,
    /// Whether a second factor will be asked for.
    pub two_factor: bool,
}

/// The second factor sent with `POST /api/v1/recovery/complete`.
#[derive(Clone, Copy, Debug)]
pub struct RecoveryFactor<'a> {
    /// `totp`, `sms`, `backup_code` or `webauthn`.
    pub method: &'a str,
    /// The code; `None` with `sms` asks for a text.
    pub code: Option<&'a str>,
    /// With `webauthn`: what `navigator.credentials.get` gave (options asked with the
    /// challenge of [`RecoveryOutcome::TwoFactorRequired`]); `None` asks for that challenge.
    pub credential: Option<&'a serde_json::Value>,
}

/// What finishing a recovery came to.
#[derive(Debug)]
pub enum RecoveryOutcome {
    /// The password is set and a new session made.
    Done(NewSessionToken),
    /// Two-factor authentication is on: a second factor is needed, nothing changed.
    TwoFactorRequired {
        /// What may be used.
        methods: Vec<Method>,
        /// The masked phone a code was just texted to, if one was.
        sms_sent_to: Option<String>,
        /// With a passkey among the methods: the recovery's challenge token, to ask for the
        /// passkey's options (`POST /api/v1/sessions/two-factor/webauthn`). Only the newest
        /// one given works (the challenge keeps only its HMAC, so it is re-keyed to give one).
        challenge: Option<Token>,
    },
}

impl super::Recovery<'_> {
    /// "Forgot password?": spends the requester's limits and answers; the link or code goes
    /// out in the background when `identifier` (a username, an email address or a phone
    /// number) matches an account. The answer never says whether it did.
    ///
    /// # Errors
    /// [`AuthError::MissingIdentifier`] for nothing typed; [`AuthError::RateLimited`] past the
    /// address's or the identifier's hourly limit.
    pub async fn request_recovery(
        &self,
        identifier: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let typed = identifier.trim();
        if typed.is_empty() || typed.chars().count() > 320 {
            return Err(AuthError::MissingIdentifier);
        }
        self.take_address_rate(client)?;
        let address = super::throttle::address_key(client);
        // A browser with a device cookie counts on its own for the name typed: a stranger
        // asking for someone's username cannot use up what the owner's own browser may ask
        // (contract v3). The address's limit still bounds every browser behind it.
        let name = self.keys.limit_key(
            "recovery identifier",
            &match &client.device {
                Some(device) => format!("{}\n{device}", typed.to_lowercase()),
                None => typed.to_lowercase(),
            },
        );
        let buckets = [
            bucket(
                format!("recovery:address:{address}:h"),
                3600,
                PER_ADDRESS_HOUR,
            ),
            bucket(format!("recovery:name:{name}:h"), 3600, PER_IDENTIFIER_HOUR),
        ];
        if let Spend::Refused { retry_after, .. } =
            self.store.limits().spend(&buckets, self.now()).await?
        {
            return Err(AuthError::RateLimited { retry_after });
        }
        let (me, typed, client) = (self.0.clone(), typed.to_owned(), client.clone());
        tokio::spawn(async move {
            if let Err(e) = me.recovery().send_recoveries(&typed, &client).await {
                tracing::warn!(error = %e, "could not send a password reset");
            }
        });
        Ok(())
    }

    /// The accounts `typed` names: by username, by confirmed email (a shared inbox may
    /// serve several) or by two-factor phone.
    async fn accounts_named(&self, typed: &str) -> Result<Vec<AccountId>, AuthError> {
        if let Ok(u) = Username::parse(typed)
            && let Some(a) = self.store.accounts().account_by_username(&u).await?
        {
            return Ok(vec![a.id]);
        }
        if typed.contains('@') {
            return Ok(match Email::parse(typed) {
                Ok(e) => {
                    self.store
                        .email()
                        .accounts_with_email(&e.normalized(), ACCOUNTS_PER_EMAIL)
                        .await?
                }
                Err(_) => Vec::new(),
            });
        }
        match PhoneNumber::parse(typed, self.tf.default_region.as_deref()) {
            Ok(p) => Ok(self
                .store
                .two_factor()
                .phone_owner(&p)
                .await?
                .into_iter()
                .collect()),
            Err(_) => Ok(Vec::new()),
        }
    }

    pub(super) async fn send_recoveries(
        &self,
        typed: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        for id in self.accounts_named(typed).await? {
            self.send_recovery(&id, client).await?;
            self.notices().notify(&id).await;
        }
        Ok(())
    }

    /// Sends one account its link (to the confirmed address) or code (to the 2FA phone),
    /// within the account's and the destination's limits.
    async fn send_recovery(&self, id: &AccountId, client: &ClientInfo) -> Result<(), AuthError> {
        let Some(account) = self.store.accounts().account_by_id(id).await? else {
            return Ok(());
        };
        if account.disabled_at.is_some() {
            return Ok(());
        }
        let now = self.now();
        // The owner's browser (its device cookie logged in to this account before) has its
        // own budget; everyone else shares the account's (contract v3).
        let owner_device = match &client.device {
            Some(d) if self.store.meta().device_known(d, id).await? => Some(d.as_str()),
            _ => None,
        };
        let scope = owner_device.map_or_else(String::new, |d| {
            format!(":device:{}", self.keys.limit_key("recovery device", d))
        });
        let per_account = [
            bucket(
                format!("recovery:account:{id}{scope}:h"),
                3600,
                PER_ACCOUNT_HOUR,
            ),
            bucket(
                format!("recovery:account:{id}{scope}:d"),
                86_400,
                PER_ACCOUNT_DAY,
            ),
        ];
        if let Spend::Refused { .. } = self.store.limits().spend(&per_account, now).await? {
            tracing::warn!(account = %id, "password resets for this account paused: too many asked for");
            return Ok(());
        }
        let recovery_id = RecoveryId::generate().as_str().to_owned();
        let (email, _) = self.store.email().email_of(id).await?;
        let phone = self
            .store
            .two_factor()
            .record(id)
            .await?
            .phone
            .map(|(p, _)| p);
        let event = NewEvent {
            account_id: id,
            kind: EventKind::RecoveryRequested,
            at: now,
            client,
            detail: None,
        };
        let mut row = NewRecovery {
            id: &recovery_id,
            account_id: id,
            channel: RecoveryChannel::Email,
            secret: "",
            credential_version: account.credential_version,
            now,
            expires_at: now.plus(RECOVERY_SECS),
        };
        if let Some(email) = email {
            self.send_recovery_link(row, event, &email, &scope, &account.username)
                .await?;
        } else if let Some(phone) = phone {
            // The text budget counts codes per account and per number.
            let Ok(charged) = self.charge_text(id, &phone).await else {
                return Ok(());
            };
            let code = OtpCode::generate();
            let mac = self
                .keys
                .sms_code_mac(&binding(&recovery_id), code.digits());
            row.channel = RecoveryChannel::Sms;
            row.secret = &mac;
            self.store
                .recovery()
                .put_recovery(
                    &row,
                    &NewEvent {
                        detail: Some("sms"),
                        ..event
                    },
                )
                .await?;
            let body = recovery_code_message(&code, &self.tf.sms_host);
            if self
                .send_charged(&charged, &phone, &body, "password reset code")
                .await
                .is_err()
            {
                self.store.recovery().drop_recovery(&recovery_id).await?;
            }
        } else {
            tracing::info!(account = %id, "a password reset was asked for an account with neither email nor phone; its owner must ask the operator");
        }
        Ok(())
    }

    /// The link by email, within the destination's hourly limit: stored (replacing the
    /// account's earlier recovery), then sent; taken back when it could not be sent.
    async fn send_recovery_link(
        &self,
        row: NewRecovery<'_>,
        event: NewEvent<'_>,
        email: &Email,
        scope: &str,
        username: &str,
    ) -> Result<(), AuthError> {
        let now = row.now;
        let to = self.keys.limit_key("mail destination", &email.normalized());
        let per_address = [bucket(
            format!("recovery:to:{to}{scope}:h"),
            3600,
            PER_DESTINATION_HOUR,
        )];
        if let Spend::Refused { .. } = self.store.limits().spend(&per_address, now).await? {
            return Ok(());
        }
        let token = Token::generate();
        let secret = token.hash();
        let row = NewRecovery {
            secret: secret.as_str(),
            ..row
        };
        self.store
            .recovery()
            .put_recovery(
                &row,
                &NewEvent {
                    detail: Some("email"),
                    ..event
                },
            )
            .await?;
        let site = self.policy.site.as_deref().unwrap_or("");
        let link = format!("{site}/recover/{}", token.reveal());
        let message = recovery_message(&link, username, site);
        if self
            .mail
            .send(email, &message, "password reset link")
            .await
            .is_err()
        {
            self.store.recovery().drop_recovery(row.id).await?;
        }
        Ok(())
    }

    /// Checks a recovery's proof: one indexed lookup for a token; for a code, one try
    /// charged before it is compared (in constant time) and given back when it is right.
    ///
    /// # Errors
    /// [`AuthError::RecoveryInvalid`] for an unknown, used, expired or outdated link;
    /// [`AuthError::MalformedCode`]; [`AuthError::InvalidCode`] for a wrong code (or an
    /// identifier with no live code: the same answer).
    async fn prove_recovery(&self, proof: RecoveryProof<'_>) -> Result<RecoveryRecord, AuthError> {
        let now = self.now();
        match proof {
            RecoveryProof::Token(t) => {
                let token = Token::from_client(t).ok_or(AuthError::RecoveryInvalid)?;
                self.store
                    .recovery()
                    .recovery_by_token(token.hash().as_str(), now)
                    .await?
                    .ok_or(AuthError::RecoveryInvalid)
            }
            RecoveryProof::Code { identifier, code } => {
                let code = OtpCode::parse(code)?;
                let wrong = || AuthError::from(CodeProblem::Wrong);
                let typed = identifier.trim();
                let account = if typed.contains('@') {
                    None
                } else {
                    self.accounts_named(typed).await?.into_iter().next()
                };
                let Some(account) = account else {
                    return Err(wrong());
                };
                let Some(charged) = self
                    .store
                    .recovery()
                    .charge_recovery_code(&account, MAX_FAILURES, now)
                    .await?
                else {
                    return Err(wrong());
                };
                let mac = self
                    .keys
                    .sms_code_mac(&binding(&charged.recovery.id), code.digits());
                if !bool::from(mac.as_bytes().ct_eq(charged.secret.as_bytes())) {
                    tracing::warn!(account = %account, tries_left = charged.tries_left, "wrong password reset code");
                    return Err(wrong());
                }
                self.store
                    .recovery()
                    .refund_recovery_code(&charged.recovery.id)
                    .await?;
                Ok(charged.recovery)
            }
        }
    }

    /// The live recovery of a link, for the page that asks for the new password (nothing is
    /// used up: mail scanners open links too).
    ///
    /// # Errors
    /// As `prove_recovery`.
    pub async fn recovery_view(&self, proof: RecoveryProof<'_>) -> Result<RecoveryView, AuthError> {
        let r = self.prove_recovery(proof).await?;
        Ok(RecoveryView {
            username: r.username,
            two_factor: r.two_factor,
        })
    }

    /// Turns a right texted code into a link token, which the pages keep in a cookie; the
    /// code stops working.
    ///
    /// # Errors
    /// As `prove_recovery`.
    pub async fn exchange_recovery_code(
        &self,
        identifier: &str,
        code: &str,
    ) -> Result<Token, AuthError> {
        let r = self
            .prove_recovery(RecoveryProof::Code { identifier, code })
            .await?;
        let token = Token::generate();
        if !self
            .store
            .recovery()
            .exchange_recovery_code(&r.id, token.hash().as_str())
            .await?
        {
            return Err(AuthError::RecoveryInvalid);
        }
        Ok(token)
    }

    /// Proves the recovery, checks and hashes the new password and holds it on the
    /// recovery; on an account without 2FA, completes it at once.
    async fn choose_password(
        &self,
        proof: RecoveryProof<'_>,
        new_password: &str,
        kind: SessionKind,
        client: &ClientInfo,
    ) -> Result<(RecoveryRecord, Option<NewSessionToken>), AuthError> {
        let r = self.prove_recovery(proof).await?;
        let username = Username::parse(&r.username)?;
        let password = Password::parse_new(new_password, &username, &self.policy.password_context)?;
        // The password is fixed when it is first chosen (contract v3): a later request
        // with this link goes on only with that same password, so the second factor always
        // confirms the password it was asked for, whichever of parallel requests won.
        let chosen = match self.store.recovery().held_recovery_password(&r.id).await? {
            Some(held) => Some(held),
            None => {
                let hash = self.hasher.hash(&password).await?;
                let held = self
                    .store
                    .recovery()
                    .hold_recovery_password(&r.id, &hash)
                    .await?;
                held.filter(|h| *h != hash)
            }
        };
        if let Some(held) = chosen {
            let same = self.hasher.verify(&password, Some(&held)).await?;
            if matches!(same, crate::crypto::Verification::Mismatch) {
                tracing::warn!(account = %r.account_id, "a reset link was used again with another password; refused");
                return Err(AuthError::RecoveryPasswordChosen);
            }
        }
        if r.two_factor {
            return Ok((r, None));
        }
        let draft = super::new_session::SessionDraft::new(self, kind, client);
        let session = draft.row(&r.account_id, client, None);
        let event = NewEvent {
            account_id: &r.account_id,
            kind: EventKind::RecoveryCompleted,
            at: draft.now(),
            client,
            detail: None,
        };
        if !self
            .store
            .recovery()
            .complete_recovery(&r.id, Some(&session), &event)
            .await?
        {
            // Used, expired or outdated meanwhile — or 2FA was turned on: start again.
            return Err(AuthError::RecoveryInvalid);
        }
        tracing::info!(account = %r.account_id, "password reset with a recovery link or code");
        self.notices().notify(&r.account_id).await;
        let session = draft.issued(r.account_id.clone(), r.username.clone());
        Ok((r, Some(session)))
    }

    /// The pages' way: the new password, then — with 2FA on — the login's own second-step
    /// pages on a recovery challenge (returned with its token, and an SMS code sent when
    /// texts are the default), which set the password when a factor is right.
    ///
    /// # Errors
    /// As `prove_recovery`; [`AuthError::WeakPassword`].
    pub async fn recover_on_pages(
        &self,
        token: &str,
        new_password: &str,
        client: &ClientInfo,
    ) -> Result<Result<NewSessionToken, ChallengeStarted>, AuthError> {
        let (r, done) = self
            .choose_password(
                RecoveryProof::Token(token),
                new_password,
                SessionKind::Web,
                client,
            )
            .await?;
        if let Some(done) = done {
            return Ok(Ok(done));
        }
        let (_, started) = self
            .start_recovery_challenge(&r, SessionKind::Web, client, true)
            .await?;
        Ok(Err(started))
    }

    /// The API's way (`POST /api/v1/recovery/complete`): everything in one request. With 2FA
    /// on and no factor, nothing changes and the methods are told (a text is sent when texts
    /// are the default, or when `sms` is asked for without a code).
    ///
    /// # Errors
    /// As `prove_recovery` and the second step
    /// ([`SecondStep::complete_second_step`](super::SecondStep::complete_second_step)).
    pub async fn complete_recovery(
        &self,
        proof: RecoveryProof<'_>,
        new_password: &str,
        factor: Option<RecoveryFactor<'_>>,
        client: &ClientInfo,
    ) -> Result<RecoveryOutcome, AuthError> {
        let method = factor
            .map(|f| Method::parse(f.method))
            .transpose()
            .map_err(|_| AuthError::InvalidMethod(MethodProblem::Unknown))?;
        let (r, done) = self
            .choose_password(proof, new_password, SessionKind::Api, client)
            .await?;
        if let Some(done) = done {
            return Ok(RecoveryOutcome::Done(done));
        }
        let now = self.now();
        // The recovery's second step goes on where it was (its texted code, its count of
        // wrong codes); one that took its wrong codes is replaced (the account's own count
        // carries over, so that buys no guesses).
        let existing = match self
            .store
            .challenges()
            .recovery_challenge_id(&r.id, now)
            .await?
        {
            Some(id) => self.second_step().live_challenge_by_id(id).await.ok(),
            None => None,
        };
        let (id, state, mut sms_sent_to, mut token) = match existing {
            Some((id, state)) => (id, state, None, None),
            None => {
                let (id, started) = self
                    .start_recovery_challenge(&r, SessionKind::Api, client, method.is_none())
                    .await?;
                let (id, state) = self.second_step().live_challenge_by_id(id).await?;
                (id, state, started.sms_sent_to, Some(started.token))
            }
        };
        let methods =
            super::second_step::methods_of(&state.two_factor, state.challenge.sms_refused);
        if let (Some(Method::Webauthn), Some(credential)) =
            (method, factor.and_then(|f| f.credential))
        {
            return Ok(RecoveryOutcome::Done(
                self.second_step()
                    .webauthn_on(&id, &state, credential, client)
                    .await?
                    .session,
            ));
        }
        match (method, factor.and_then(|f| f.code)) {
            (Some(m), Some(code)) if m != Method::Webauthn => {
                return Ok(RecoveryOutcome::Done(
                    self.second_step()
                        .attempt_on(&id, &state, m, code, client)
                        .await?
                        .session,
                ));
            }
            (Some(Method::Webauthn), _) if !methods.contains(&Method::Webauthn) => {
                return Err(AuthError::InvalidMethod(MethodProblem::NoPasskey));
            }
            (Some(Method::Sms), None) => {
                if !methods.contains(&Method::Sms) {
                    return Err(AuthError::InvalidMethod(MethodProblem::NoPhone));
                }
                if sms_sent_to.is_none() {
                    sms_sent_to = Some(self.second_step().resend_on(&id, &state).await?);
                }
            }
            _ => {}
        }
        // A passkey answers options made for this challenge, asked for with its token. A
        // new challenge's token is given at once; one that went on from an earlier request
        // is re-keyed when `webauthn` is asked for (only the token's HMAC is stored), which
        // retires its earlier token and a code texted for it.
        if method == Some(Method::Webauthn)
            && methods.contains(&Method::Webauthn)
            && token.is_none()
        {
            let fresh = Token::generate();
            let fresh_id = self.keys.challenge_id(fresh.reveal());
            if self.store.challenges().rekey(&id, &fresh_id).await? {
                token = Some(fresh);
            }
        }
        Ok(RecoveryOutcome::TwoFactorRequired {
            challenge: token.filter(|_| methods.contains(&Method::Webauthn)),
            methods,
            sms_sent_to,
        })
    }

    /// Starts the second step of a recovery (replacing an earlier one); texts the code at
    /// once when `send_sms` and texts are the default method. Returns its id too.
    async fn start_recovery_challenge(
        &self,
        r: &RecoveryRecord,
        kind: SessionKind,
        client: &ClientInfo,
        send_sms: bool,
    ) -> Result<(String, ChallengeStarted), AuthError> {
        let now = self.now();
        let tf = self.store.two_factor().record(&r.account_id).await?;
        let sms_refused = r.channel == RecoveryChannel::Sms;
        let methods = super::second_step::methods_of(&tf, sms_refused);
        let default_method = methods.first().copied().unwrap_or(Method::BackupCode);
        let token = Token::generate();
        let id = self.keys.challenge_id(token.reveal());
        let expires_at = now.plus(self.tf.challenge_secs).min(r.expires_at);
        self.store
            .challenges()
            .create_recovery_challenge(
                &NewChallenge {
                    id: &id,
                    account_id: &r.account_id,
                    kind,
                    now,
                    expires_at,
                    client,
                    sms: None,
                },
                &r.id,
                sms_refused,
            )
            .await?;
        let (mut sms_sent_to, mut sms_failed) = (None, false);
        if send_sms && default_method == Method::Sms {
            let (_, state) = self.second_step().live_challenge_by_id(id.clone()).await?;
            match self.second_step().resend_on(&id, &state).await {
                Ok(masked) => sms_sent_to = Some(masked),
                Err(AuthError::SmsFailed | AuthError::RateLimited { .. }) => sms_failed = true,
                Err(e) => return Err(e),
            }
        }
        Ok((
            id,
            ChallengeStarted {
                token,
                methods,
                default_method,
                sms_sent_to,
                sms_failed,
                expires_at,
            },
        ))
    }
}

fn bucket(key: String, window_secs: i64, limit: i64) -> Bucket {
    Bucket {
        key,
        window_secs,
        limit,
    }
}

/// What a texted recovery code is bound to: its recovery (never a login's code).
fn binding(recovery_id: &str) -> String {
    format!("recovery:{recovery_id}")
}
