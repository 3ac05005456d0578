//! Use cases: sign-up, password login and its throttle, the second step (challenges, "Try
//! another way", resend), two-factor settings, backup codes, sessions and recent
//! authentication, password change, login activity, the text-message budget and security
//! notices, the operator's commands (`admin.rs`) and housekeeping.
//!
//! Owns: the rules (limits, lifetimes, what is recorded, what is told to the owner) and the
//! views handed to `http` and `cli` (`SessionSummary`, `ActivityEntry`, `AccountReport`…),
//! so that no store type leaves this layer. Talks to the store, the hasher, the SMS sender
//! and the clock; knows nothing of HTTP.

/// Declares the per-feature services: each is a borrowed view of a core (`Auth`, `Oidc`) that holds one
/// feature's use cases, reached as `auth.<feature>()`, so that a call names the feature it
/// belongs to. Each derefs to the core (store, clock, keys, limits, metrics, senders), which
/// is all they share.
macro_rules! services {
    ($core:ident; $($(#[doc = $doc:literal])+ $accessor:ident: $name:ident;)+) => {
        $(
            $(#[doc = $doc])+
            #[derive(Clone, Copy)]
            pub struct $name<'a>(&'a $core);

            impl std::ops::Deref for $name<'_> {
                type Target = $core;
                fn deref(&self) -> &$core {
                    self.0
                }
            }
        )+

        impl $core {
            $(
                $(#[doc = $doc])+
                pub fn $accessor(&self) -> $name<'_> {
                    $name(self)
                }
            )+
        }
    };
}

mod access;
mod account_deletion;
mod accounts;
mod address_rate;
mod admin;
mod backup_codes;
mod console;
mod email;
mod error;
mod export;
mod groups;
mod invitations;
mod login;
mod new_session;
mod notices;
pub mod oidc;
mod passkeys;
mod recovery;
mod second_step;
mod seed;
mod sessions;
mod texts;
mod throttle;
mod two_factor;
mod webauthn;

use std::sync::Arc;

pub use access::{Access, AccessAnswer};
pub use account_deletion::{DeletionFactor, DeletionOutcome};
pub use accounts::{NewAccount, SignUp};
pub use admin::{AccountReport, AccountSummary};
pub use backup_codes::BackupCodesView;
pub use console::{
    AUDIT_PER_PAGE, AccountAction, Actor, ConsoleProblem, PEOPLE_PER_PAGE, PeoplePage, PersonView,
};
pub use email::EmailStatus;
pub use error::{AuthError, CodeProblem, CodeRefusal, MethodProblem, Pending};
pub use invitations::{INVITATIONS_LISTED, InvitationProblem, NewInvitationLink};
pub use login::{LoginOutcome, NewSessionToken};
pub use passkeys::{PasskeyOptions, PasskeyRegistered, PasskeyView};
pub use recovery::{RecoveryFactor, RecoveryOutcome, RecoveryProof, RecoveryView};
pub use second_step::{ChallengeStarted, ChallengeView, SecondStepDone};
pub use seed::{SeedBatch, SeededAccount};
pub use sessions::{ActivityEntry, CurrentSession, Reauthenticated, SessionSummary};
pub use texts::TextBudget;
pub use throttle::LoginLimits;
pub use two_factor::{MethodConfirmed, TotpEnrolment, TwoFactorStatus};
pub use webauthn::{CredentialProblem, MAX_CREDENTIAL_BYTES, PasskeyPolicy};

use crate::clock::Clock;
use crate::crypto::{Keys, PasswordHasher};
use crate::domain::{PasswordContext, UnixTime};
use crate::metrics::Metrics;
use crate::sms::Sms;
use crate::store::Store;

/// The limits and settings of two-factor authentication.
#[derive(Clone, Debug)]
pub struct TwoFactorPolicy {
    /// The issuer shown in authenticator apps.
    pub issuer: String,
    /// The host in the origin-bound line of SMS codes (`@host #123456`).
    pub sms_host: String,
    /// Region for phone numbers typed without `+` (ISO 3166, e.g. `US`); none by default.
    pub default_region: Option<String>,
    /// Backup codes per batch (5–20).
    pub backup_code_count: usize,
    /// Keep an encrypted copy so the batch can be viewed again.
    pub backup_codes_viewable: bool,
    /// A login challenge lives this long (10 minutes).
    pub challenge_secs: i64,
    /// Wrong codes a challenge takes before it dies (5).
    pub challenge_max_failures: i64,
    /// An SMS code is valid this long (5 minutes; NIST SP 800-63B §5.1.3.2 allows 10).
    pub sms_code_secs: i64,
    /// Seconds between two SMS codes (30).
    pub sms_cooldown_secs: i64,
    /// SMS codes per challenge (5).
    pub sms_max_sends: i64,
    /// Wrong codes in a row, across challenges, that lock the account's second step (10).
    pub account_lock_threshold: i64,
    /// The first lock's length (15 minutes), doubling on repeat up to a day.
    pub account_lock_secs: i64,
    /// Wrong codes in a row after which the second step stays locked until a success or the
    /// operator (100, NIST SP 800-63B §5.2.2).
    pub account_cap: i64,
}

impl Default for TwoFactorPolicy {
    fn default() -> Self {
        Self {
            issuer: "Twofold".into(),
            sms_host: "localhost".into(),
            default_region: None,
            backup_code_count: 10,
            backup_codes_viewable: true,
            challenge_secs: 600,
            challenge_max_failures: 5,
            sms_code_secs: 300,
            sms_cooldown_secs: 30,
            sms_max_sends: 5,
            account_lock_threshold: 10,
            account_lock_secs: 900,
            account_cap: 100,
        }
    }
}

/// The limits and lifetimes that auth enforces.
#[derive(Clone, Debug)]
pub struct Policy {
    /// A session unused for this long ends.
    pub session_idle_secs: i64,
    /// A session ends this long after login.
    pub session_absolute_secs: i64,
    /// Login activity older than this is purged (OWASP ASVS 4.0.3 8.3.8).
    pub activity_retention_secs: i64,
    /// How long a password confirmation counts as recent.
    pub recent_auth_secs: i64,
    /// The wrong-password throttle.
    pub login: LoginLimits,
    /// Password-checking requests (login, re-authentication) per client address per minute
    /// on each node (0: no limit).
    pub logins_per_address_minute: u32,
    /// Sign-ups per client address per hour, across nodes (0: no limit).
    pub sign_ups_per_address_hour: i64,
    /// Words a new password must not be built on.
    pub password_context: PasswordContext,
    /// This Twofold's address as people know it (`--public-url`), for the links and the
    /// "which Twofold" line of notices and emails.
    pub site: Option<String>,
    /// Who may make an account (`--sign-up`).
    pub sign_up: crate::domain::SignUpMode,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            session_idle_secs: 14 * 86_400,
            session_absolute_secs: 30 * 86_400,
            activity_retention_secs: 400 * 86_400,
            recent_auth_secs: 600,
            login: LoginLimits::default(),
            logins_per_address_minute: 30,
            sign_ups_per_address_hour: 10,
            password_context: PasswordContext::default(),
            site: None,
            sign_up: crate::domain::SignUpMode::Open,
        }
    }
}

services! {
    Auth;
    /// Accounts and password login: sign-up, login, password change, disabling.
    accounts: Accounts;
    /// Sessions: who is logged in, recent authentication, logout, activity.
    sessions: Sessions;
    /// The second step of a login: challenges, codes, "Try another way", resend.
    second_step: SecondStep;
    /// Two-factor settings: the authenticator app, the phone, turning 2FA on and off.
    two_factor: TwoFactor;
    /// Backup codes: a new batch, viewing it, using one.
    backup_codes: BackupCodes;
    /// Account recovery when every second factor is lost.
    recovery: Recovery;
    /// The email address and its confirmation.
    email: Emails;
    /// Security notices to the owner, from the durable queue.
    notices: Notices;
    /// The operator's commands: accounts, reports, the bulk seed, housekeeping.
    operator: Operator;
    /// Passkeys and security keys: adding, listing, removing, logging in without a password.
    passkeys: Passkeys;
    /// The operator console: admins, people, actions on accounts, the audit trail.
    console: Console;
    /// Groups and their members.
    groups: Groups;
    /// Who may sign up, and invitations.
    invitations: Invitations;
}

/// The auth service; cheap to clone.
#[derive(Clone)]
pub struct Auth {
    store: Store,
    hasher: PasswordHasher,
    clock: Arc<dyn Clock>,
    policy: Arc<Policy>,
    keys: Arc<Keys>,
    sms: Sms,
    mail: crate::mail::Mail,
    tf: Arc<TwoFactorPolicy>,
    budget: Arc<TextBudget>,
    address_rate: Arc<address_rate::AddressRate>,
    metrics: Metrics,
    webauthn: Arc<webauthn::RelyingParty>,
}

/// What the auth service is built from.
pub struct AuthParts {
    /// The database.
    pub store: Store,
    /// The password hasher.
    pub hasher: PasswordHasher,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Session and password limits.
    pub policy: Policy,
    /// Keys derived from the server secret.
    pub keys: Arc<Keys>,
    /// The SMS sender.
    pub sms: Sms,
    /// The email sender.
    pub mail: crate::mail::Mail,
    /// Two-factor settings.
    pub two_factor: TwoFactorPolicy,
    /// How many text messages may go out.
    pub text_budget: TextBudget,
    /// Where logins, second steps, lockouts and notices are counted.
    pub metrics: Metrics,
    /// Passkeys and security keys.
    pub passkeys: PasskeyPolicy,
}

impl Auth {
    /// Builds the service.
    pub fn new(p: AuthParts) -> Self {
        Self {
            store: p.store,
            hasher: p.hasher,
            clock: p.clock,
            keys: p.keys,
            sms: p.sms,
            mail: p.mail,
            tf: Arc::new(p.two_factor),
            budget: Arc::new(p.text_budget),
            address_rate: Arc::new(address_rate::AddressRate::new(
                p.policy.logins_per_address_minute,
            )),
            policy: Arc::new(p.policy),
            metrics: p.metrics,
            webauthn: Arc::new(webauthn::RelyingParty::new(p.passkeys)),
        }
    }

    /// The metrics this service counts into.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Brings the metrics' gauges up to date (the hashing queue, the database pool, the
    /// notice queue) just before they are read.
    pub async fn observe_gauges(&self) {
        self.metrics.set_hash_queue(self.hasher.queued());
        let (open, idle, max) = self.store.pool_usage();
        self.metrics.set_db_pool(open, idle, max);
        match self.store.notices().pending_notices().await {
            Ok(n) => self.metrics.set_notices_queued(n),
            Err(e) => {
                tracing::warn!(error = %e, "could not count the notice queue for the metrics")
            }
        }
    }

    /// The two-factor settings in force.
    pub fn two_factor_policy(&self) -> &TwoFactorPolicy {
        &self.tf
    }

    /// The current time.
    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// Answers when the database does (`/healthz`).
    ///
    /// # Errors
    /// When the database does not answer.
    pub async fn health(&self) -> Result<(), AuthError> {
        Ok(self.store.ping().await?)
    }

    /// Closes every database connection (at shutdown).
    pub async fn close(&self) {
        self.store.close().await;
    }

    /// A consistent copy of the SQLite database at `to` while the service runs
    /// (`twofold backup`).
    ///
    /// # Errors
    /// On PostgreSQL, or when the copy cannot be written.
    pub async fn backup_into(&self, to: &std::path::Path) -> Result<(), AuthError> {
        Ok(self.store.backup_into(to).await?)
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Takes one password-checking request from the client's address (login,
    /// re-authentication, sign-up), before any hashing.
    ///
    /// # Errors
    /// [`AuthError::RateLimited`] when the address is over its rate.
    pub(crate) fn take_address_rate(
        &self,
        client: &crate::domain::ClientInfo,
    ) -> Result<(), AuthError> {
        self.address_rate
            .take(&throttle::address_key(client), self.now().0)
            .map_err(|retry_after| AuthError::RateLimited { retry_after })
    }
}
