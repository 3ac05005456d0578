//! Password hashing with argon2id, off the async threads and at most one hash per core.
//!
//! OWASP ASVS 4.0.3 V2.4.1/V2.4.2 and NIST SP 800-63B §5.1.1.2: a memory-hard, salted hash.
//! Defaults follow OWASP's argon2id recommendation (m = 19 MiB, t = 2, p = 1). A burst of
//! logins queues for the hashing threads instead of allocating 19 MiB per request, and hashes made with
//! older parameters are re-made on the next successful login.

use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex};

use argon2::password_hash::phc::{Output, Salt};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use subtle::ConstantTimeEq;

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

/// The hashing queue is full: too many logins at once. Answer `503` with `Retry-After`
/// rather than make every login wait behind a flood (OWASP ASVS 4.0.3 V2.2.1, V11.1.4).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the password hashing queue is full")]
pub struct HasherBusy;

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

/// Hashes and verifies passwords on a fixed pool of one thread per core.
///
/// Each thread owns its argon2 working memory (m KiB) and reuses it for every hash: a
/// login costs the hash and nothing else — no 19 MiB allocation and page-faulting per
/// request, and memory stays at one buffer per core however many logins arrive at once
/// (they wait in the queue).
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

type Job = Box<dyn FnOnce(&mut Worker) + Send>;

struct Inner {
    params: Params,
    /// Hashes waiting or running, and how many may (0: no bound).
    queued: std::sync::atomic::AtomicUsize,
    max_queued: usize,
    queue: Mutex<std::sync::mpsc::Sender<Job>>,
    /// Where each hash's wait for a thread is counted, once the server hands it over.
    metrics: std::sync::OnceLock<crate::metrics::Metrics>,
    /// A hash of a random password, verified against when the username is unknown so
    /// that an unknown user costs the same work as a wrong password (no enumeration).
    dummy: String,
}

/// One hashing thread's state: the current parameters and reusable memory, allocated on
/// the first hash and given back after [`IDLE_RELEASE`] without work.
pub struct Worker {
    params: Params,
    memory: Vec<Block>,
}

/// How long a hashing thread keeps its memory without work.
const IDLE_RELEASE: std::time::Duration = std::time::Duration::from_secs(5);

impl Worker {
    /// A worker (or, in the benchmark, a bare thread); its memory comes with the first hash.
    pub fn new(params: Params) -> Self {
        Self {
            params,
            memory: Vec::new(),
        }
    }

    fn memory(&mut self, blocks: usize) -> &mut [Block] {
        if self.memory.len() < blocks {
            self.memory = vec![Block::default(); blocks];
        }
        &mut self.memory[..blocks]
    }

    fn release(&mut self) {
        self.memory = Vec::new();
    }

    fn hash(&mut self, password: &[u8]) -> Result<String, argon2::Error> {
        let salt: [u8; 16] = crate::domain::random_bytes();
        let mut out = [0u8; 32];
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone());
        argon.hash_password_into_with_memory(
            password,
            &salt,
            &mut out,
            self.memory(self.params.block_count()),
        )?;
        let phc = PasswordHash {
            algorithm: argon2::ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: (&self.params)
                .try_into()
                .map_err(|_| argon2::Error::OutOfMemory)?,
            salt: Some(Salt::new(&salt).map_err(|_| argon2::Error::SaltTooShort)?),
            hash: Some(Output::new(&out).map_err(|_| argon2::Error::OutputTooShort)?),
        };
        Ok(phc.to_string())
    }

    /// Checks `password` against a PHC string: `(matches, made with current parameters)`.
    pub fn verify(&mut self, password: &[u8], phc: &str) -> (bool, bool) {
        let Ok(parsed) = PasswordHash::new(phc) else {
            tracing::error!("a stored password hash is not a valid PHC string");
            return (false, false);
        };
        let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
            return (false, false);
        };
        let Ok(params) = Params::try_from(&parsed) else {
            return (false, false);
        };
        if parsed.algorithm.as_str() != argon2::ARGON2ID_IDENT.as_str() {
            return (false, false);
        }
        let current = params.m_cost() == self.params.m_cost()
            && params.t_cost() == self.params.t_cost()
            && params.p_cost() == self.params.p_cost();
        let mut out = vec![0u8; expected.len()];
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let result = argon.hash_password_into_with_memory(
            password,
            salt.as_ref(),
            &mut out,
            self.memory(params.block_count()),
        );
        let ok = result.is_ok() && bool::from(out.as_slice().ct_eq(expected.as_bytes()));
        (ok, current)
    }
}

impl PasswordHasher {
    /// A hasher with these parameters and `threads` hashing threads, taking at most
    /// `max_queued` hashes at once (waiting or running; 0 for no bound). Beyond that a
    /// request is refused at once with [`HasherBusy`] instead of waiting behind a flood.
    ///
    /// # Errors
    /// When the parameters are outside argon2's limits or a thread cannot start.
    pub fn new(p: Argon2Params, threads: usize, max_queued: usize) -> anyhow::Result<Self> {
        let params = Params::new(p.memory_kib, p.iterations, p.parallelism, None)
            .map_err(|e| anyhow::anyhow!("invalid argon2 parameters {p:?}: {e}"))?;
        let dummy_pw = crate::crypto::Token::generate();
        let dummy = Worker::new(params.clone())
            .hash(dummy_pw.reveal().as_bytes())
            .map_err(|e| anyhow::anyhow!("argon2 self-test failed: {e}"))?;
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = Arc::clone(&rx);
            let params = params.clone();
            std::thread::Builder::new()
                .name(format!("twofold-argon2-{i}"))
                .spawn(move || {
                    let mut worker = Worker::new(params);
                    loop {
                        let job = match rx.lock() {
                            Ok(q) => q.recv_timeout(IDLE_RELEASE),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(&mut worker),
                            Err(RecvTimeoutError::Timeout) => worker.release(),
                            Err(RecvTimeoutError::Disconnected) => return, // every hasher handle is gone
                        }
                    }
                })?;
        }
        Ok(Self {
            inner: Arc::new(Inner {
                params,
                queued: std::sync::atomic::AtomicUsize::new(0),
                max_queued,
                queue: Mutex::new(tx),
                metrics: std::sync::OnceLock::new(),
                dummy,
            }),
        })
    }

    /// Counts each hash's wait for a thread into `metrics` (set once; later calls change
    /// nothing).
    pub fn record_into(&self, metrics: crate::metrics::Metrics) {
        let _ = self.inner.metrics.set(metrics);
    }

    /// Hashes waiting or running now.
    pub fn queued(&self) -> usize {
        self.inner.queued.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Runs `f` on a hashing thread and waits for it without blocking the async threads.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Worker) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        use std::sync::atomic::Ordering;
        let inner = Arc::clone(&self.inner);
        let before = inner.queued.fetch_add(1, Ordering::AcqRel);
        if inner.max_queued > 0 && before >= inner.max_queued {
            inner.queued.fetch_sub(1, Ordering::AcqRel);
            return Err(HasherBusy.into());
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let queued_at = std::time::Instant::now();
        let job: Job = Box::new(move |w| {
            if let Some(m) = inner.metrics.get() {
                m.hash_waited(queued_at.elapsed());
            }
            let out = f(w);
            inner.queued.fetch_sub(1, Ordering::AcqRel);
            let _ = tx.send(out);
        });
        self.inner
            .queue
            .lock()
            .map_err(|_| anyhow::anyhow!("the password hashing queue is poisoned"))?
            .send(job)
            .map_err(|_| anyhow::anyhow!("the password hashing threads have stopped"))?;
        Ok(rx.await?)
    }

    /// Hashes a new password.
    ///
    /// # Errors
    /// Only if the hashing threads are gone or argon2 fails.
    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let pw = password.clone();
        self.run(move |w| w.hash(pw.expose().as_bytes()))
            .await?
            .map_err(|e| anyhow::anyhow!("argon2 hash failed: {e}"))
    }

    /// Verifies `password` against `stored`; with `stored = None` (unknown user) the same
    /// work is done against a dummy hash and the answer is always a mismatch.
    ///
    /// # Errors
    /// Only if the hashing threads are gone.
    pub async fn verify(
        &self,
        password: &Password,
        stored: Option<&str>,
    ) -> anyhow::Result<Verification> {
        let pw = password.clone();
        let real = stored.is_some();
        let phc = stored.map_or_else(|| self.inner.dummy.clone(), str::to_owned);
        self.run(move |w| {
            let (ok, current) = w.verify(pw.expose().as_bytes(), &phc);
            if !ok || !real {
                return Ok(Verification::Mismatch);
            }
            if current {
                return Ok(Verification::Match);
            }
            w.hash(pw.expose().as_bytes())
                .map(Verification::MatchRehashed)
                .map_err(|e| anyhow::anyhow!("argon2 rehash failed: {e}"))
        })
        .await?
    }

    /// A bare worker with the configured parameters (the benchmark measures the raw rate
    /// with it, on its own threads).
    pub fn raw_worker(&self) -> Worker {
        Worker::new(self.inner.params.clone())
    }

    /// A hash of `password` with the configured parameters, on this thread (benchmark set-up).
    ///
    /// # Errors
    /// When argon2 fails.
    pub fn hash_raw_blocking(&self, password: &[u8]) -> anyhow::Result<String> {
        self.raw_worker()
            .hash(password)
            .map_err(|e| anyhow::anyhow!("{e}"))
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
        Password::parse_new(
            s,
            &Username::parse("someone").unwrap(),
            &crate::domain::PasswordContext::default(),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn hash_then_verify() {
        let h = PasswordHasher::new(cheap(), 2, 0).unwrap();
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
        let h = PasswordHasher::new(cheap(), 1, 0).unwrap();
        assert_eq!(
            h.verify(&pw("correct horse battery"), None).await.unwrap(),
            Verification::Mismatch
        );
    }

    #[tokio::test]
    async fn changed_parameters_rehash_on_verify() {
        let old = PasswordHasher::new(cheap(), 1, 0).unwrap();
        let stored = old.hash(&pw("correct horse battery")).await.unwrap();
        let new = PasswordHasher::new(
            Argon2Params {
                memory_kib: 2048,
                iterations: 2,
                parallelism: 1,
            },
            1,
            0,
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

    /// Issue 10 (denial of service): a full queue refuses at once instead of waiting.
    #[tokio::test]
    async fn a_full_queue_refuses_at_once() {
        let h = PasswordHasher::new(
            Argon2Params {
                memory_kib: 8192,
                iterations: 8,
                parallelism: 1,
            },
            1,
            2,
        )
        .unwrap();
        let stored = h.hash(&pw("correct horse battery")).await.unwrap();
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let h = h.clone();
                let stored = stored.clone();
                tokio::spawn(
                    async move { h.verify(&pw("correct horse battery"), Some(&stored)).await },
                )
            })
            .collect();
        let mut busy = 0;
        let mut done = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => done += 1,
                Err(e) if e.downcast_ref::<HasherBusy>().is_some() => busy += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(done >= 2 && busy >= 1, "done {done}, busy {busy}");
        // The queue drains: a later request is served.
        assert!(
            h.verify(&pw("correct horse battery"), Some(&stored))
                .await
                .is_ok()
        );
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
                1,
                0
            )
            .is_err()
        );
    }
}
