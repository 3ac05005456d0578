//! Password hashing with argon2id, off the async threads and at most one hash per core.
//!
//! OWASP ASVS 4.0.3 V2.4.1/V2.4.4 and NIST SP 800-63B §5.1.1.2: a memory-hard, salted hash.
//! Defaults follow OWASP's argon2id recommendation (m = 19 MiB, t = 2, p = 1). A burst of
//! logins queues on a semaphore instead of allocating 19 MiB per request, and hashes made with
//! older parameters are re-made on the next successful login.

use std::sync::Arc;

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version,
};
use tokio::sync::Semaphore;

use crate::domain::Password;

/// argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Wrong password (or no account: the same work was done against a dummy hash).
    Mismatch,
    /// Right password; the hash was made with the current parameters.
    Match,
    /// Right password; here is a fresh hash with the current parameters to store.
    MatchRehashed(String),
}

/// Hashes and verifies passwords on the blocking pool, bounded by a semaphore.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    params: Params,
    permits: Semaphore,
    /// A hash of a random password, verified against when the username is unknown so
    /// that an unknown user costs the same work as a wrong password (no enumeration).
    dummy: String,
}

impl PasswordHasher {
    /// A hasher with these parameters, allowing `concurrency` hashes at a time.
    ///
    /// # Errors
    /// When the parameters are outside argon2's limits.
    pub fn new(p: Argon2Params, concurrency: usize) -> anyhow::Result<Self> {
        let params = Params::new(p.memory_kib, p.iterations, p.parallelism, None)
            .map_err(|e| anyhow::anyhow!("invalid argon2 parameters {p:?}: {e}"))?;
        let dummy_pw = crate::crypto::Token::generate();
        let dummy = hash_blocking(&params, dummy_pw.reveal().as_bytes())
            .map_err(|e| anyhow::anyhow!("argon2 self-test failed: {e}"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                params,
                permits: Semaphore::new(concurrency.max(1)),
                dummy,
            }),
        })
    }

    /// Hashes a new password.
    ///
    /// # Errors
    /// Only if the blocking pool is gone (shutdown) or argon2 fails.
    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let _permit = self.inner.permits.acquire().await?;
        let inner = Arc::clone(&self.inner);
        let pw = password.clone();
        tokio::task::spawn_blocking(move || {
            hash_blocking(&inner.params, pw.expose().as_bytes())
                .map_err(|e| anyhow::anyhow!("argon2 hash failed: {e}"))
        })
        .await?
    }

    /// Verifies `password` against `stored`; with `stored = None` (unknown user) the same
    /// work is done against a dummy hash and the answer is always a mismatch.
    ///
    /// # Errors
    /// Only if the blocking pool is gone (shutdown).
    pub async fn verify(
        &self,
        password: &Password,
        stored: Option<&str>,
    ) -> anyhow::Result<Verification> {
        let _permit = self.inner.permits.acquire().await?;
        let inner = Arc::clone(&self.inner);
        let pw = password.clone();
        let real = stored.is_some();
        let stored = stored.map(str::to_owned);
        tokio::task::spawn_blocking(move || {
            let phc = stored.as_deref().unwrap_or(&inner.dummy);
            let Ok(parsed) = PasswordHash::new(phc) else {
                tracing::error!("a stored password hash is not a valid PHC string");
                return Ok(Verification::Mismatch);
            };
            let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, inner.params.clone());
            if argon
                .verify_password(pw.expose().as_bytes(), &parsed)
                .is_err()
                || !real
            {
                return Ok(Verification::Mismatch);
            }
            if is_current(&parsed, &inner.params) {
                return Ok(Verification::Match);
            }
            let fresh = hash_blocking(&inner.params, pw.expose().as_bytes())
                .map_err(|e| anyhow::anyhow!("argon2 rehash failed: {e}"))?;
            Ok(Verification::MatchRehashed(fresh))
        })
        .await?
    }

    /// One raw argon2id verification with the configured parameters, on this thread.
    /// Used by the benchmark to measure the bare hash rate.
    pub fn verify_raw_blocking(&self, password: &[u8], phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            self.inner.params.clone(),
        )
        .verify_password(password, &parsed)
        .is_ok()
    }

    /// A hash of `password` with the configured parameters, on this thread (benchmark set-up).
    ///
    /// # Errors
    /// When argon2 fails.
    pub fn hash_raw_blocking(&self, password: &[u8]) -> anyhow::Result<String> {
        hash_blocking(&self.inner.params, password).map_err(|e| anyhow::anyhow!("{e}"))
    }
}

fn hash_blocking(params: &Params, password: &[u8]) -> Result<String, argon2::password_hash::Error> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    Ok(argon.hash_password(password)?.to_string())
}

fn is_current(hash: &PasswordHash, params: &Params) -> bool {
    if hash.algorithm.as_str() != argon2::ARGON2ID_IDENT.as_str() {
        return false;
    }
    match Params::try_from(hash) {
        Ok(p) => {
            p.m_cost() == params.m_cost()
                && p.t_cost() == params.t_cost()
                && p.p_cost() == params.p_cost()
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Username;

    fn cheap() -> Argon2Params {
        Argon2Params {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        }
    }

    fn pw(s: &str) -> Password {
        Password::parse_new(s, &Username::parse("someone").unwrap()).unwrap()
    }

    #[tokio::test]
    async fn hash_then_verify() {
        let h = PasswordHasher::new(cheap(), 2).unwrap();
        let stored = h.hash(&pw("correct horse battery")).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert!(!stored.contains("correct horse"));
        assert_eq!(
            h.verify(&pw("correct horse battery"), Some(&stored))
                .await
                .unwrap(),
            Verification::Match
        );
        assert_eq!(
            h.verify(&pw("wrong horse battery"), Some(&stored))
                .await
                .unwrap(),
            Verification::Mismatch
        );
    }

    #[tokio::test]
    async fn unknown_user_is_always_a_mismatch() {
        let h = PasswordHasher::new(cheap(), 1).unwrap();
        assert_eq!(
            h.verify(&pw("correct horse battery"), None).await.unwrap(),
            Verification::Mismatch
        );
    }

    #[tokio::test]
    async fn changed_parameters_rehash_on_verify() {
        let old = PasswordHasher::new(cheap(), 1).unwrap();
        let stored = old.hash(&pw("correct horse battery")).await.unwrap();
        let new = PasswordHasher::new(
            Argon2Params {
                memory_kib: 2048,
                iterations: 2,
                parallelism: 1,
            },
            1,
        )
        .unwrap();
        match new
            .verify(&pw("correct horse battery"), Some(&stored))
            .await
            .unwrap()
        {
            Verification::MatchRehashed(fresh) => {
                assert!(fresh.starts_with("$argon2id$v=19$m=2048,t=2,p=1$"));
                assert_eq!(
                    new.verify(&pw("correct horse battery"), Some(&fresh))
                        .await
                        .unwrap(),
                    Verification::Match
                );
            }
            other => panic!("expected a rehash, got {other:?}"),
        }
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(
            PasswordHasher::new(
                Argon2Params {
                    memory_kib: 1,
                    iterations: 1,
                    parallelism: 1
                },
                1
            )
            .is_err()
        );
    }
}
