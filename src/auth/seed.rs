//! Benchmark accounts (`twofold bench seed`): accounts made the way a real enrolment makes
//! them — an authenticator secret sealed with the server key, a batch of backup codes
//! stored as keyed hashes (and sealed when codes are viewable) — but all sharing one
//! password hash, since hashing a million passwords would take hours. Never for real users.

use super::AuthError;
use crate::crypto::{TotpSecret, seal};
use crate::domain::{AccountId, Password, Username};
use crate::store::SeedAccount;

/// What the seeder tells the benchmark about one account it made.
#[derive(Clone)]
pub struct SeededAccount {
    /// The username.
    pub username: String,
    /// Its backup codes, in order (8 digits each).
    pub codes: Vec<String>,
}

impl std::fmt::Debug for SeededAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeededAccount")
            .field("username", &self.username)
            .field("codes", &self.codes.len())
            .finish()
    }
}

/// A batch of accounts ready to store, and what to tell about them.
pub struct SeedBatch {
    rows: Vec<SeedAccount>,
    /// The accounts, in order, with their codes.
    pub made: Vec<SeededAccount>,
}

impl super::Operator<'_> {
    /// The real argon2id hash (configured parameters) every seeded account shares.
    ///
    /// # Errors
    /// When the hashing threads fail.
    pub async fn seed_password_hash(&self, password: &str) -> Result<String, AuthError> {
        Ok(self.hasher.hash(&Password::for_checking(password)).await?)
    }

    /// Makes accounts `{prefix}{first}` … `{prefix}{first + count - 1}` in memory: CPU work
    /// only (random ids, secrets and codes, keyed hashes, sealing), so it can run on another
    /// thread while the previous batch is written.
    ///
    /// # Errors
    /// [`AuthError`] when `prefix` makes an invalid username.
    pub fn seed_batch(&self, prefix: &str, first: u64, count: u64) -> Result<SeedBatch, AuthError> {
        let mut rows = Vec::with_capacity(count as usize);
        let mut made = Vec::with_capacity(count as usize);
        for i in first..first + count {
            let username = Username::parse(&format!("{prefix}{i}"))?;
            let id = AccountId::generate();
            let secret = TotpSecret::generate();
            let totp_sealed = seal(
                self.keys.totp_seal(),
                id.as_str().as_bytes(),
                secret.bytes(),
            );
            // The very batch a real enrolment makes (keyed hashes, sealed when viewable).
            let (batch, plain) = self.backup_codes().new_batch(&id, self.now());
            made.push(SeededAccount {
                username: username.as_str().to_owned(),
                codes: plain.iter().map(|c| c.digits().to_owned()).collect(),
            });
            rows.push(SeedAccount {
                id,
                username: username.as_str().to_owned(),
                totp_sealed,
                batch_id: batch.id,
                codes: batch.codes,
            });
        }
        Ok(SeedBatch { rows, made })
    }

    /// Stores a batch made by [`seed_batch`](Self::seed_batch) in one transaction.
    ///
    /// # Errors
    /// On a database failure, e.g. a username that is taken.
    pub async fn store_seed_batch(
        &self,
        batch: &SeedBatch,
        password_hash: &str,
    ) -> Result<(), AuthError> {
        Ok(self
            .store
            .accounts()
            .seed_accounts(&batch.rows, password_hash, self.now())
            .await?)
    }

    /// How many accounts the database holds.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn account_count(&self) -> Result<i64, AuthError> {
        Ok(self.store.accounts().count_accounts().await?)
    }
}
