//! What can go wrong in a use case. `http::error` maps each to a status and a fixed code.

use crate::domain::{CodeError, PasswordError, PhoneError, UsernameError};
use crate::store::StoreError;

/// Errors of the auth layer. Messages never contain a secret.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The username is not acceptable.
    #[error("{0}")]
    InvalidUsername(#[from] UsernameError),
    /// The new password is not acceptable.
    #[error("{0}")]
    WeakPassword(#[from] PasswordError),
    /// Someone already has this username.
    #[error("that username is taken; try another")]
    UsernameTaken,
    /// Wrong username or password (the same answer for both).
    #[error("the username or password is incorrect")]
    InvalidCredentials,
    /// The operator disabled the account.
    #[error("this account has been disabled; contact the person who runs this Twofold server")]
    AccountDisabled,
    /// Too many attempts: wait `retry_after` seconds.
    #[error("too many attempts; try again in {}", crate::domain::wait_text(*retry_after))]
    RateLimited {
        /// Seconds to wait.
        retry_after: i64,
    },
    /// So many wrong passwords were tried that password logins from unknown devices (or all
    /// of them) are refused until the owner acts.
    #[error(
        "too many wrong passwords were tried for this account; log in from a browser you have used here before, or ask the person who runs this Twofold server to unlock it"
    )]
    LoginBlocked,
    /// So many wrong codes were tried at the second step (100 in a row) that it stays locked
    /// until the operator unlocks it.
    #[error(
        "too many wrong codes were tried for this account; ask the person who runs this Twofold server to unlock it"
    )]
    SecondStepBlocked,
    /// The password was changed while this request was checking the old one.
    #[error("the password was changed meanwhile; log in again with the new password")]
    CredentialChanged,
    /// The server is too busy checking passwords right now.
    #[error("the server is busy; try again in a moment")]
    Busy,
    /// No valid session.
    #[error("log in first: the session is missing, expired or was logged out")]
    Unauthenticated,
    /// The session needs a fresh password confirmation.
    #[error("confirm your password to continue")]
    ReauthRequired,
    /// No such thing for this account.
    #[error("not found")]
    NotFound,
    /// An unknown second-factor method, or one the account has not set up.
    #[error("{0}")]
    InvalidMethod(&'static str),
    /// A code that is not a code (letters, wrong length): nothing was counted.
    #[error("{0}")]
    MalformedCode(#[from] CodeError),
    /// A wrong, expired or used code (counted).
    #[error("{0}")]
    InvalidCode(CodeProblem),
    /// The login challenge is unknown, finished, expired or out of attempts.
    #[error("this login attempt has expired; log in again with your username and password")]
    ChallengeExpired,
    /// The phone number is not acceptable.
    #[error("{0}")]
    InvalidPhone(#[from] PhoneError),
    /// The phone is another account's two-factor phone.
    #[error(
        "this phone number is already used for two-factor authentication by another account; a number can protect only one account"
    )]
    PhoneInUse,
    /// The text message could not be sent.
    #[error("we couldn't send a text message; try again in a moment, or try another way")]
    SmsFailed,
    /// Nothing to confirm.
    #[error("{0}")]
    NothingPending(&'static str),
    /// Two-factor authentication is off, so there are no backup codes.
    #[error("there are no backup codes: turn on two-factor authentication first")]
    NoBackupCodes,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something else failed inside.
    #[error(transparent)]
    Internal(anyhow::Error),
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
}

impl std::fmt::Display for CodeProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Wrong => "that code isn't right; check it and try again",
            Self::Expired => "that code has expired; send a new code and use the newest one",
            Self::NotSent => "no code has been sent for this login yet; send a code first",
            Self::AlreadyUsed => {
                "this backup code has already been used; each code works once, so try another one"
            }
            Self::UsedUp => "that code has expired or was tried too many times; send a new code",
        })
    }
}
