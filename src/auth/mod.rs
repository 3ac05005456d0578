//! Use cases: sign-up, login, sessions, recent authentication, password change, activity.
//!
//! Owns: the rules (limits, lifetimes, what is recorded). Talks to the store, the hasher and
//! the clock; knows nothing of HTTP.

mod accounts;
mod error;
mod login;
mod sessions;

use std::sync::Arc;

pub use error::AuthError;
pub use login::{LoginOutcome, NewSessionToken};
pub use sessions::CurrentSession;

use crate::clock::Clock;
use crate::crypto::PasswordHasher;
use crate::domain::UnixTime;
use crate::store::Store;

/// The limits and lifetimes that auth enforces.
#[derive(Clone, Debug)]
pub struct Policy {
    /// A session unused for this long ends.
    pub session_idle_secs: i64,
    /// A session ends this long after login.
    pub session_absolute_secs: i64,
    /// How long a password confirmation counts as recent.
    pub recent_auth_secs: i64,
    /// Wrong passwords in a row before password logins pause.
    pub login_lock_threshold: i64,
}

impl Policy {
    /// How long password logins pause after `consecutive` wrong passwords: one minute at
    /// the first threshold, doubling at each further one, at most an hour. With a threshold
    /// of 10 that keeps guessing far below NIST SP 800-63B §5.2.2's ceiling of 100
    /// consecutive failures per account (OWASP ASVS 4.0.3 V2.2.1).
    pub fn lock_for(&self, consecutive: i64) -> i64 {
        let round = (consecutive / self.login_lock_threshold.max(1)).clamp(1, 7);
        (60_i64 << (round - 1)).min(3600)
    }
}

/// The auth service; cheap to clone.
#[derive(Clone)]
pub struct Auth {
    store: Store,
    hasher: PasswordHasher,
    clock: Arc<dyn Clock>,
    policy: Arc<Policy>,
}

impl Auth {
    /// Builds the service.
    pub fn new(
        store: Store,
        hasher: PasswordHasher,
        clock: Arc<dyn Clock>,
        policy: Policy,
    ) -> Self {
        Self {
            store,
            hasher,
            clock,
            policy: Arc::new(policy),
        }
    }

    /// The current time.
    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// The store (for health checks and housekeeping).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_grows_and_is_capped() {
        let p = Policy {
            session_idle_secs: 1,
            session_absolute_secs: 1,
            recent_auth_secs: 1,
            login_lock_threshold: 10,
        };
        assert_eq!(p.lock_for(10), 60);
        assert_eq!(p.lock_for(20), 120);
        assert_eq!(p.lock_for(30), 240);
        assert_eq!(p.lock_for(90), 3600);
        assert_eq!(p.lock_for(1000), 3600);
    }
}
