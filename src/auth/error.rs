//! What can go wrong in a use case. `http::error` maps each to a status and a fixed code.

use crate::domain::{CodeError, PasswordError, PhoneError, UsernameError};
use crate::store::StoreError;

/// Errors of the auth layer. Each carries the data an answer needs (seconds to wait, tries
/// left, what is missing); the sentences people read are written in `http::error`, and the
/// `Display` text here is a short description for logs. Nothing here holds a secret.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The username is not acceptable.
    #[error("invalid username: {0}")]
    InvalidUsername(#[from] UsernameError),
    /// The new password is not acceptable.
    #[error("weak password: {0}")]
    WeakPassword(#[from] PasswordError),
    /// Someone already has this username.
    #[error("username taken")]
    UsernameTaken,
    /// Wrong username or password (the same answer for both).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The operator disabled the account.
    #[error("account disabled")]
    AccountDisabled,
    /// A device code (`/device`) that names no pending request: mistyped, expired, or
    /// decided already.
    #[error("unknown device code")]
    DeviceCodeUnknown,
    /// Too many attempts: wait `retry_after` seconds.
    #[error("rate limited for {retry_after} s")]
    RateLimited {
        /// Seconds to wait.
        retry_after: i64,
    },
    /// So many wrong passwords were tried that password logins from unknown devices (or all
    /// of them) are refused until the owner acts.
    #[error("password logins blocked")]
    LoginBlocked,
    /// So many wrong codes were tried at the second step (100 in a row) that it stays locked
    /// until the operator unlocks it.
    #[error("second step blocked")]
    SecondStepBlocked,
    /// The password was changed while this request was checking the old one.
    #[error("credential changed meanwhile")]
    CredentialChanged,
    /// The server is too busy checking passwords right now.
    #[error("password hashing queue full")]
    Busy,
    /// No valid session.
    #[error("unauthenticated")]
    Unauthenticated,
    /// The session needs a fresh password confirmation.
    #[error("recent authentication required")]
    ReauthRequired,
    /// No such thing for this account.
    #[error("not found")]
    NotFound,
    /// The operator console refused a change.
    #[error("console refused: {0:?}")]
    Console(super::ConsoleProblem),
    /// An app's registration is not acceptable (`twofold client add`, `/admin/apps`).
    #[error("invalid client registration: {0:?}")]
    InvalidClient(super::oidc::ClientProblem),
    /// The group name is not acceptable.
    #[error("invalid group name: {0}")]
    InvalidGroupName(#[from] crate::domain::GroupNameError),
    /// An unknown second-factor method, or one the account has not set up.
    #[error("invalid method: {0:?}")]
    InvalidMethod(MethodProblem),
    /// A code that is not a code (letters, wrong length): nothing was counted.
    #[error("malformed code: {0}")]
    MalformedCode(#[from] CodeError),
    /// A wrong, expired or used code (counted).
    #[error("invalid code: {0:?}")]
    InvalidCode(CodeRefusal),
    /// The login challenge is unknown, finished or expired.
    #[error("challenge expired")]
    ChallengeExpired,
    /// The login challenge took its 5 wrong codes and ended.
    #[error("challenge ended by wrong codes")]
    ChallengeFailed,
    /// The phone number is not acceptable.
    #[error("invalid phone: {0}")]
    InvalidPhone(#[from] PhoneError),
    /// The phone is another account's two-factor phone.
    #[error("phone in use")]
    PhoneInUse,
    /// The text message could not be sent.
    #[error("text message not sent")]
    SmsFailed,
    /// The email address is not acceptable.
    #[error("invalid email: {0}")]
    InvalidEmail(#[from] crate::domain::EmailError),
    /// The email could not be sent.
    #[error("email not sent")]
    MailFailed,
    /// Nothing to confirm.
    #[error("nothing pending: {0:?}")]
    NothingPending(Pending),
    /// Two-factor authentication is off, so there are no backup codes.
    #[error("no backup codes")]
    NoBackupCodes,
    /// "Forgot password?" with nothing typed.
    #[error("no identifier")]
    MissingIdentifier,
    /// The recovery link or code is unknown, used, expired or outlived its password.
    #[error("recovery invalid")]
    RecoveryInvalid,
    /// A new password was already chosen with this recovery, and this is another one: the
    /// same link cannot replace it (contract v3).
    #[error("recovery password already chosen")]
    RecoveryPasswordChosen,
    /// A `credential` field that is not a WebAuthn credential, or too large: nothing was
    /// verified or counted.
    #[error("invalid credential: {0:?}")]
    InvalidCredential(super::webauthn::CredentialProblem),
    /// A passkey's registration did not verify (another flow, origin or relying party, a
    /// bad attestation).
    #[error("passkey registration not verified")]
    PasskeyNotVerified,
    /// A passkey login without a password was refused (and counted); `cloned` when the
    /// signature counter went back (the owner is told).
    #[error("passkey refused (cloned: {cloned})")]
    PasskeyRefused {
        /// A copy of the passkey may exist.
        cloned: bool,
    },
    /// The passkey flow is unknown, used, expired or another session's.
    #[error("passkey flow expired")]
    FlowExpired,
    /// The account has its most passkeys already.
    #[error("too many passkeys")]
    TooManyPasskeys {
        /// The most an account may have.
        max: i64,
    },
    /// This passkey is registered already.
    #[error("passkey exists")]
    PasskeyExists,
    /// The configuration does not let this authenticator model be added.
    #[error("authenticator not allowed")]
    AuthenticatorNotAllowed,
    /// Adding a passkey to an account with 2FA needs a session whose login used a second
    /// factor.
    #[error("two-factor login required")]
    TwoFactorLoginRequired,
    /// The passkey's name is not acceptable.
    #[error("invalid passkey name: {0}")]
    InvalidPasskeyName(#[from] crate::domain::PasskeyNameError),
    /// A code or a credential for a text or a passkey without the challenge it answers.
    #[error("challenge missing")]
    ChallengeMissing,
    /// `--sign-up closed`: no one makes an account here.
    #[error("sign-up closed")]
    SignUpClosed,
    /// `--sign-up invite` without a usable invitation, or an invitation that cannot be used.
    #[error("invitation required: {0:?}")]
    InvitationRequired(super::InvitationProblem),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something else failed inside.
    #[error(transparent)]
    Internal(anyhow::Error),
}

/// Why a second-factor method cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodProblem {
    /// Not one of `sms`, `totp`, `backup_code`.
    Unknown,
    /// The account has no phone for text messages.
    NoPhone,
    /// The account has no authenticator app.
    NoApp,
    /// The account has no backup codes (2FA is off).
    NoBackupCodes,
    /// The account has no passkey or security key.
    NoPasskey,
}

/// What there was nothing of to confirm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pending {
    /// No authenticator set-up was started.
    NoAppSetUp,
    /// The authenticator set-up was restarted meanwhile (a new QR code).
    AppSetUpRestarted,
    /// No phone number was entered.
    NoPhoneCode,
    /// No email address was entered.
    NoEmailCode,
}

/// A refused code: what was wrong, and how many more wrong codes the login attempt takes
/// (`None` outside a login).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeRefusal {
    /// What was wrong.
    pub problem: CodeProblem,
    /// Wrong codes the login attempt still takes; `Some(0)` when this one ended it.
    pub tries_left: Option<i64>,
}

impl From<CodeProblem> for AuthError {
    fn from(problem: CodeProblem) -> Self {
        Self::InvalidCode(CodeRefusal {
            problem,
            tries_left: None,
        })
    }
}

impl AuthError {
    /// The `result` label a login or second step that ended in this error is counted under
    /// in the metrics: a fixed word per kind, never the data it carries.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::InvalidCredentials | Self::CredentialChanged => "invalid_credentials",
            Self::AccountDisabled => "disabled",
            Self::RateLimited { .. } => "rate_limited",
            Self::LoginBlocked | Self::SecondStepBlocked => "blocked",
            Self::Busy => "busy",
            Self::InvalidMethod(_) => "invalid_method",
            Self::MalformedCode(_) => "malformed_code",
            Self::InvalidCode(_) | Self::PasskeyRefused { .. } => "invalid_code",
            Self::InvalidCredential(_) => "malformed_code",
            Self::ChallengeExpired | Self::ChallengeFailed => "challenge_expired",
            Self::Store(_) | Self::Internal(_) => "error",
            _ => "refused",
        }
    }
}

impl From<anyhow::Error> for AuthError {
    /// A full password-hashing queue is `Busy` (`503` with `Retry-After`), not a failure.
    fn from(e: anyhow::Error) -> Self {
        if e.downcast_ref::<crate::crypto::HasherBusy>().is_some() {
            Self::Busy
        } else {
            Self::Internal(e)
        }
    }
}

/// What was wrong with a code that was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeProblem {
    /// Not the right code.
    Wrong,
    /// The SMS code expired.
    Expired,
    /// No SMS code was sent for this login yet.
    NotSent,
    /// A backup code that was used before.
    AlreadyUsed,
    /// The code expired or took its five tries.
    UsedUp,
    /// The passkey's answer was refused (another challenge, origin or key, a replay).
    PasskeyRefused,
    /// The passkey's signature counter went back: a copy of it may exist.
    PasskeyCloned,
}
