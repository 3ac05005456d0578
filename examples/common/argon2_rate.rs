//! The raw argon2id rate the login benchmarks compare HTTP logins with: verifications per
//! second of the default parameters, one thread per core, as the server's hashing threads.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use twofold::crypto::{Argon2Params, PasswordHasher};

/// argon2id verifications per second with one thread per core, for `seconds`.
pub fn raw_rate(seconds: u64) -> f64 {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let hasher = PasswordHasher::new(Argon2Params::default(), cores, 0).unwrap();
    let phc = Arc::new(hasher.hash_raw_blocking(b"benchmark password").unwrap());
    let count = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let threads: Vec<_> = (0..cores)
        .map(|_| {
            let (mut worker, phc, count) =
                (hasher.raw_worker(), Arc::clone(&phc), Arc::clone(&count));
            std::thread::spawn(move || {
                while Instant::now() < deadline {
                    assert!(worker.verify(b"benchmark password", &phc).0);
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}
