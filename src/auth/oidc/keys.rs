//! Signing keys: made on first use, rotated by `twofold oidc rotate-key`, sealed in the
//! database (the source of truth, shared by every node) and cached here, opened and parsed,
//! so that a token or a JWKS request does not read and unseal them each time.
//!
//! The cache is read again when it is [`KEY_CACHE_SECS`] old, or at once (at most once a
//! second) when a token names a `kid` it does not hold, so every node sees a rotation within
//! a minute. Because of that minute, and of the `max-age` that relying parties may cache the
//! JWKS for, a new key is published [`PUBLISH_AHEAD_SECS`] before it signs: a node or a
//! relying party that has not seen it yet is never handed a token it cannot check. The key
//! it replaces keeps signing meanwhile, and stays published until the last token it signed
//! has expired (OpenID Connect Core §10.1.1: keys are rolled over by publishing first).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::auth::AuthError;
use crate::crypto::{SigningKey, VerifyingKey, generate_rsa_pkcs8, open, seal};
use crate::domain::UnixTime;
use crate::store::SigningKeyRecord;

/// How long the cached keys are trusted before the database is read again.
pub const KEY_CACHE_SECS: i64 = 60;

/// How long relying parties may cache the JWKS (its `Cache-Control: max-age`).
pub const JWKS_MAX_AGE_SECS: i64 = 300;

/// How long a new key is published before it signs: every node's cache and every relying
/// party's copy of the JWKS has it by then.
pub const PUBLISH_AHEAD_SECS: i64 = KEY_CACHE_SECS + JWKS_MAX_AGE_SECS;

/// A refresh for an unknown `kid` happens at most this often, so junk tokens cannot turn
/// every request into a database read.
const MISS_REFRESH_SECS: i64 = 1;

/// One key as the cache holds it.
#[derive(Clone)]
struct CachedKey {
    record: SigningKeyRecord,
    key: Arc<SigningKey>,
}

/// The keys read at `loaded_at`.
#[derive(Clone)]
struct Loaded {
    loaded_at: UnixTime,
    keys: Vec<CachedKey>,
}

/// The in-memory copy of the signing keys (see the module's notes).
#[derive(Default)]
pub(super) struct KeyCache {
    loaded: Mutex<Option<Loaded>>,
}

impl KeyCache {
    fn get(&self) -> Option<Loaded> {
        self.loaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn put(&self, loaded: Loaded) {
        *self.loaded.lock().unwrap_or_else(PoisonError::into_inner) = Some(loaded);
    }
}

/// Whether a key retired at `retired_at` may still have signed tokens that are valid at
/// `now`: it signed for [`PUBLISH_AHEAD_SECS`] after its retirement, and its tokens live
/// `grace` seconds at most.
fn still_published(record: &SigningKeyRecord, now: UnixTime, grace: i64) -> bool {
    record
        .retired_at
        .is_none_or(|r| now.0 < r + PUBLISH_AHEAD_SECS + grace)
}

/// The key that signs at `now`, of `keys` newest first. A key may sign until it has been
/// retired for [`PUBLISH_AHEAD_SECS`]; of those, the newest one published at least that long
/// ago signs, else the one published longest (the very first key signs at once).
fn signing_choice(keys: &[CachedKey], now: UnixTime) -> Option<&CachedKey> {
    let may_sign: Vec<&CachedKey> = keys
        .iter()
        .filter(|k| {
            k.record
                .retired_at
                .is_none_or(|r| now.0 < r + PUBLISH_AHEAD_SECS)
        })
        .collect();
    may_sign
        .iter()
        .find(|k| k.record.created_at + PUBLISH_AHEAD_SECS <= now.0)
        .or(may_sign.last())
        .copied()
}

/// The moment before which retired keys can be deleted (housekeeping): nothing they signed
/// is valid any more.
pub(super) fn retired_keys_expire_before(now: UnixTime, grace: i64) -> UnixTime {
    now.plus(-(PUBLISH_AHEAD_SECS + grace))
}

impl super::SigningKeys<'_> {
    /// The longest any signed token lives: how long a retired key stays published.
    fn token_grace(&self) -> i64 {
        self.policy.id_token_secs.max(self.policy.access_token_secs)
    }

    /// Makes the first signing key when there is none (on first use; when several nodes
    /// race, one key wins).
    ///
    /// # Errors
    /// On a database or key-generation failure.
    pub async fn ensure_signing_key(&self) -> Result<(), AuthError> {
        if self
            .auth
            .store
            .oidc()
            .signing_keys()
            .await?
            .iter()
            .any(|k| k.retired_at.is_none())
        {
            return Ok(());
        }
        let record = self.new_key_record()?;
        if self
            .auth
            .store
            .oidc()
            .add_first_signing_key(&record)
            .await?
        {
            tracing::info!(kid = %record.kid, "made the first OpenID Connect signing key");
        }
        Ok(())
    }

    /// `twofold oidc rotate-key`: a new key is published now and signs from
    /// [`PUBLISH_AHEAD_SECS`] on; the old ones stay in the JWKS until what they signed has
    /// expired. Returns the new `kid`.
    ///
    /// # Errors
    /// On a database or key-generation failure.
    pub async fn rotate_key(&self) -> Result<String, AuthError> {
        let record = self.new_key_record()?;
        self.auth
            .store
            .oidc()
            .add_signing_key(&record, true)
            .await?;
        Ok(record.kid)
    }

    fn new_key_record(&self) -> Result<SigningKeyRecord, AuthError> {
        let der = generate_rsa_pkcs8()?;
        let kid = format!(
            "k{}-{}",
            self.now().0,
            &crate::crypto::Token::generate().reveal()[..8]
        );
        Ok(SigningKeyRecord {
            sealed: seal(self.auth.keys.oidc_key_seal(), kid.as_bytes(), &der),
            kid,
            alg: crate::crypto::JWT_ALG.into(),
            created_at: self.now().0,
            retired_at: None,
        })
    }

    /// The published keys, from the cache while it is fresh.
    async fn cached_keys(&self) -> Result<Loaded, AuthError> {
        let now = self.now();
        match self.key_cache.get() {
            // A clock that went back makes the copy stale too.
            Some(l) if (0..KEY_CACHE_SECS).contains(&(now.0 - l.loaded_at.0)) => Ok(l),
            previous => self.load_keys(previous).await,
        }
    }

    /// Reads the keys from the database, opening only those the cache does not hold yet.
    async fn load_keys(&self, previous: Option<Loaded>) -> Result<Loaded, AuthError> {
        let now = self.now();
        let mut records = self.auth.store.oidc().signing_keys().await?;
        if !records.iter().any(|k| k.retired_at.is_none()) {
            self.ensure_signing_key().await?;
            records = self.auth.store.oidc().signing_keys().await?;
        }
        let opened: HashMap<String, Arc<SigningKey>> = previous
            .map(|l| {
                l.keys
                    .into_iter()
                    .map(|k| (k.record.kid.clone(), k.key))
                    .collect()
            })
            .unwrap_or_default();
        let mut keys = Vec::new();
        for record in records {
            if !still_published(&record, now, self.token_grace()) {
                continue;
            }
            let key = match opened.get(&record.kid) {
                Some(k) => k.clone(),
                None => self.open_key(&record)?,
            };
            keys.push(CachedKey { record, key });
        }
        let loaded = Loaded {
            loaded_at: now,
            keys,
        };
        self.key_cache.put(loaded.clone());
        Ok(loaded)
    }

    fn open_key(&self, record: &SigningKeyRecord) -> Result<Arc<SigningKey>, AuthError> {
        let der = open(
            self.auth.keys.oidc_key_seal(),
            record.kid.as_bytes(),
            &record.sealed,
        )
        .map_err(|e| AuthError::Internal(anyhow::anyhow!("signing key {}: {e}", record.kid)))?;
        Ok(Arc::new(SigningKey::from_pkcs8(&record.kid, &der)?))
    }

    /// The key that signs now.
    pub(super) async fn signing_key(&self) -> Result<Arc<SigningKey>, AuthError> {
        let loaded = self.cached_keys().await?;
        signing_choice(&loaded.keys, self.now())
            .map(|k| k.key.clone())
            .ok_or_else(|| AuthError::Internal(anyhow::anyhow!("no OpenID Connect signing key")))
    }

    /// The JWKS (RFC 7517): every published key.
    ///
    /// # Errors
    /// On a database failure or a key that cannot be opened.
    pub async fn jwks(&self) -> Result<serde_json::Value, AuthError> {
        let keys: Vec<_> = self
            .cached_keys()
            .await?
            .keys
            .iter()
            .map(|k| k.key.verifying().jwk())
            .collect();
        Ok(serde_json::json!({ "keys": keys }))
    }

    /// The keys to check a token with; when the token names a `kid` the cache does not
    /// hold (another node's newer key), the database is read again first.
    pub(super) async fn verifying_keys_for(
        &self,
        token: &str,
    ) -> Result<Vec<VerifyingKey>, AuthError> {
        let mut loaded = self.cached_keys().await?;
        let kid = crate::crypto::jwt_kid(token);
        let known = |l: &Loaded| {
            kid.as_deref()
                .is_none_or(|kid| l.keys.iter().any(|k| k.record.kid == kid))
        };
        if !known(&loaded) && self.now().0 - loaded.loaded_at.0 >= MISS_REFRESH_SECS {
            loaded = self.load_keys(Some(loaded)).await?;
        }
        Ok(loaded.keys.iter().map(|k| k.key.verifying()).collect())
    }

    /// The claims of an ID token this provider signed (expired or not), or `None` for
    /// anything else: a token of another issuer, a bad signature, or a logout token (which
    /// carries `events` and is never a hint).
    ///
    /// # Errors
    /// On a database failure or a key that cannot be opened.
    pub(super) async fn issued_id_token(
        &self,
        token: &str,
    ) -> Result<Option<serde_json::Value>, AuthError> {
        let keys = self.verifying_keys_for(token).await?;
        Ok(crate::crypto::verified_claims(token, &keys)
            .filter(|c| c["iss"] == self.policy.issuer.as_str() && c.get("events").is_none()))
    }

    /// Housekeeping for Sign in with Twofold: expired tokens, grants whose code and tokens
    /// are all gone, and signing keys retired so long that nothing they signed is valid.
    /// Returns how many rows went.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn housekeeping(&self) -> Result<u64, AuthError> {
        let now = self.now();
        let grants = self.auth.store.grants().purge_grants(now).await?;
        let keys = self
            .auth
            .store
            .oidc()
            .purge_signing_keys(retired_keys_expire_before(now, self.token_grace()))
            .await?;
        if keys > 0 {
            tracing::info!(keys, "deleted retired OpenID Connect signing keys");
        }
        let logouts = self
            .auth
            .store
            .logouts()
            .purge(UnixTime(now.0 - super::back_channel::KEEP_SECS))
            .await?;
        let devices = self.auth.store.devices().purge(now).await?;
        Ok(grants + keys + logouts + devices)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, created_at: i64, retired_at: Option<i64>) -> CachedKey {
        let der = generate_rsa_pkcs8().unwrap();
        CachedKey {
            record: SigningKeyRecord {
                kid: kid.into(),
                alg: "RS256".into(),
                sealed: String::new(),
                created_at,
                retired_at,
            },
            key: Arc::new(SigningKey::from_pkcs8(kid, &der).unwrap()),
        }
    }

    /// The `kid` that signs at each of `times`.
    fn signers(keys: &[CachedKey], times: &[i64]) -> Vec<String> {
        times
            .iter()
            .map(|&t| {
                signing_choice(keys, UnixTime(t))
                    .unwrap()
                    .record
                    .kid
                    .clone()
            })
            .collect()
    }

    #[test]
    fn a_new_key_signs_only_once_every_node_and_relying_party_can_have_seen_it() {
        let t = 1_000_000;
        let ahead = PUBLISH_AHEAD_SECS;
        // Newest first, as the store lists them: rotated at `t`.
        let keys = [key("new", t, None), key("old", 0, Some(t))];
        assert_eq!(
            signers(&keys, &[t, t + ahead - 1, t + ahead]),
            ["old", "old", "new"]
        );
        // The very first key signs at once.
        assert_eq!(signers(&[key("first", t, None)], &[t]), ["first"]);
        // A key rotated away soon after it was made still signs until the new one is known.
        let young = [key("new", t + 10, None), key("first", t, Some(t + 10))];
        assert_eq!(
            signers(&young, &[t + 10, t + 10 + ahead - 1, t + 10 + ahead]),
            ["first", "first", "new"]
        );
    }

    #[test]
    fn a_retired_key_stays_published_until_its_last_token_expired() {
        let t = 1_000_000;
        let grace = 600;
        let old = key("old", 0, Some(t)).record;
        let last_signed = t + PUBLISH_AHEAD_SECS - 1;
        assert!(still_published(&old, UnixTime(last_signed + grace), grace));
        assert!(!still_published(
            &old,
            UnixTime(t + PUBLISH_AHEAD_SECS + grace),
            grace
        ));
        assert_eq!(
            retired_keys_expire_before(UnixTime(t + PUBLISH_AHEAD_SECS + grace), grace),
            UnixTime(t)
        );
        assert!(still_published(
            &key("k", 0, None).record,
            UnixTime(t),
            grace
        ));
    }
}
