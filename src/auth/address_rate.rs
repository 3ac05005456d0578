//! Per-client-address request rates for the routes that cost a password hash (login,
//! re-authentication, sign-up): a flood from one address is answered `429` before any
//! hashing, so it cannot queue up in front of everybody else (OWASP ASVS 4.0.3 V2.2.1,
//! V11.1.4). This protects each node's CPU and lives in memory; the limits on guessing,
//! which must hold across nodes, are in the database (`throttle.rs`).

use std::collections::HashMap;
use std::sync::Mutex;

/// A generic cell rate limiter (GCRA) per address: `per_minute` requests a minute with
/// bursts of up to `per_minute`.
pub struct AddressRate {
    per_minute: u32,
    /// Theoretical arrival time per address, in seconds.
    tat: Mutex<HashMap<String, f64>>,
}

/// Addresses remembered at most; beyond that the idle ones are forgotten first.
const MAX_TRACKED: usize = 100_000;

impl AddressRate {
    /// A limiter; `per_minute = 0` lets everything through.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            tat: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request for `address` at `now` (seconds); `Err(retry_after)` when over.
    pub fn take(&self, address: &str, now: i64) -> Result<(), i64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let now = now as f64;
        let interval = 60.0 / f64::from(self.per_minute);
        let tolerance = interval * f64::from(self.per_minute.saturating_sub(1));
        let Ok(mut map) = self.tat.lock() else {
            return Ok(());
        };
        if map.len() >= MAX_TRACKED {
            map.retain(|_, t| *t > now);
            if map.len() >= MAX_TRACKED {
                // Still full of live entries (a flood from a huge range): start afresh rather
                // than scan a full map on every request. This limit protects CPU; the limits
                // on guessing live in the database and lose nothing.
                map.clear();
            }
        }
        let tat = map.get(address).copied().unwrap_or(now).max(now);
        if tat - tolerance > now {
            return Err(((tat - tolerance - now).ceil() as i64).max(1));
        }
        map.insert(address.to_owned(), tat + interval);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_paces_per_address() {
        let r = AddressRate::new(6);
        for _ in 0..6 {
            assert!(r.take("a", 100).is_ok());
        }
        let wait = r.take("a", 100).unwrap_err();
        assert!((1..=10).contains(&wait), "{wait}");
        assert!(r.take("b", 100).is_ok(), "another address is not held back");
        assert!(r.take("a", 110).is_ok(), "one more every 10 seconds");
        assert!(r.take("a", 110).is_err());
        assert!(AddressRate::new(0).take("a", 0).is_ok());
    }
}
