//! Backup codes: one batch per account, each code stored as a keyed hash (for checking) and,
//! when codes are viewable, AEAD-sealed (for showing again). Getting new codes deletes the
//! old batch and inserts the new one in one transaction: after a crash either the whole old
//! batch or the whole new batch is valid, never both, never neither.

use sqlx::{Any, Transaction};

use super::{NewEvent, StoreResult};
use crate::domain::{AccountId, BatchId, ClientInfo, EventKind, UnixTime};

/// A batch to store.
#[derive(Clone, Debug)]
pub struct NewBatch {
    /// Its id (bound into each sealed code).
    pub id: BatchId,
    /// When it was made.
    pub created_at: UnixTime,
    /// Per code, in order: the keyed hash, and the sealed code when codes are viewable.
    pub codes: Vec<(String, Option<String>)>,
}

/// A stored batch.
#[derive(Clone, Debug)]
pub struct BatchRecord {
    /// Its id.
    pub id: BatchId,
    /// When it was made.
    pub created_at: UnixTime,
    /// The codes in order.
    pub codes: Vec<CodeRecord>,
}

/// One stored code.
#[derive(Clone, Debug)]
pub struct CodeRecord {
    /// The sealed code, when codes are viewable.
    pub sealed: Option<String>,
    /// When it was used, if it was.
    pub used_at: Option<UnixTime>,
}

/// A `backup_batches` row as the database returns it.
#[derive(sqlx::FromRow)]
struct BatchRow {
    id: String,
    created_at: i64,
}

/// A `backup_codes` row as the database returns it.
#[derive(sqlx::FromRow)]
struct CodeRow {
    sealed: Option<String>,
    used_at: Option<i64>,
}

impl From<CodeRow> for CodeRecord {
    fn from(r: CodeRow) -> Self {
        Self {
            sealed: r.sealed,
            used_at: r.used_at.map(UnixTime),
        }
    }
}

impl BatchRecord {
    /// Codes not used yet.
    pub fn remaining(&self) -> usize {
        self.codes.iter().filter(|c| c.used_at.is_none()).count()
    }
}

impl NewBatch {
    /// Replaces the account's batch with this one inside a caller's transaction.
    pub(crate) async fn replace(
        &self,
        tx: &mut Transaction<'static, Any>,
        account: &AccountId,
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM backup_codes WHERE account_id = $1")
            .bind(account.as_str())
            .execute(&mut **tx)
            .await?;
        sqlx::query("DELETE FROM backup_batches WHERE account_id = $1")
            .bind(account.as_str())
            .execute(&mut **tx)
            .await?;
        sqlx::query("INSERT INTO backup_batches (id, account_id, created_at) VALUES ($1, $2, $3)")
            .bind(self.id.as_str())
            .bind(account.as_str())
            .bind(self.created_at.0)
            .execute(&mut **tx)
            .await?;
        for (position, (mac, sealed)) in self.codes.iter().enumerate() {
            sqlx::query("INSERT INTO backup_codes (batch_id, account_id, position, code_mac, sealed) VALUES ($1, $2, $3, $4, $5)")
                .bind(self.id.as_str())
                .bind(account.as_str())
                .bind(position as i64)
                .bind(mac)
                .bind(sealed.as_deref())
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }
}

/// What consuming a backup code found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackupUse {
    /// Used now; this many are left.
    Used {
        /// Unused codes left in the batch.
        remaining: i64,
    },
    /// A code of the current batch that was used before.
    AlreadyUsed,
    /// Not a code of the current batch.
    Unknown,
}

impl super::BackupCodes<'_> {
    /// Replaces the account's batch ("Get new codes") and records the event, in one
    /// transaction. Returns `false` when 2FA is off (no batch is made then).
    ///
    /// # Errors
    /// On a database failure (then the old batch stands).
    pub async fn regenerate_backup_codes(
        &self,
        account: &AccountId,
        batch: &NewBatch,
        client: &ClientInfo,
    ) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        // Under the account's row lock, so a batch can never be made for an account whose
        // 2FA was turned off meanwhile.
        let on = self
            .lock_account(&mut tx, account)
            .await?
            .is_some_and(|since| since.is_some());
        if !on {
            tx.rollback().await?;
            return Ok(false);
        }
        batch.replace(&mut tx, account).await?;
        NewEvent {
            account_id: account,
            kind: EventKind::BackupCodesRegenerated,
            at: batch.created_at,
            client,
            detail: None,
        }
        .insert(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The account's current batch, if it has one.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn backup_batch(&self, account: &AccountId) -> StoreResult<Option<BatchRecord>> {
        let Some(batch) = sqlx::query_as::<_, BatchRow>(
            "SELECT id, created_at FROM backup_batches WHERE account_id = $1",
        )
        .bind(account.as_str())
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let codes = sqlx::query_as::<_, CodeRow>(
            "SELECT sealed, used_at FROM backup_codes WHERE batch_id = $1 ORDER BY position",
        )
        .bind(&batch.id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(CodeRecord::from)
        .collect();
        Ok(Some(BatchRecord {
            id: BatchId::from_stored(batch.id),
            created_at: UnixTime(batch.created_at),
            codes,
        }))
    }
}

/// Uses up a backup code inside a caller's transaction: one conditional `UPDATE` that must
/// touch exactly one row, so however many requests race with the same code, on however
/// many nodes, exactly one wins (NIST SP 800-63B §5.1.2.2, OWASP ASVS 4.0.3 V2.6.1).
pub(crate) async fn use_backup_code(
    tx: &mut Transaction<'static, Any>,
    account: &AccountId,
    code_mac: &str,
    now: UnixTime,
) -> StoreResult<BackupUse> {
    // The codes left come back with the update: the other unused codes of the account,
    // which both engines count alike (PostgreSQL's subquery sees the rows before the update,
    // SQLite's after).
    let remaining: Option<i64> = sqlx::query_scalar(
        "UPDATE backup_codes SET used_at = $1 WHERE account_id = $2 AND code_mac = $3 AND used_at IS NULL \
         RETURNING (SELECT COUNT(*) FROM backup_codes WHERE account_id = $2 AND used_at IS NULL AND code_mac <> $3)",
    )
    .bind(now.0)
    .bind(account.as_str())
    .bind(code_mac)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(remaining) = remaining {
        return Ok(BackupUse::Used { remaining });
    }
    let exists: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM backup_codes WHERE account_id = $1 AND code_mac = $2",
    )
    .bind(account.as_str())
    .bind(code_mac)
    .fetch_one(&mut **tx)
    .await?;
    Ok(if exists > 0 {
        BackupUse::AlreadyUsed
    } else {
        BackupUse::Unknown
    })
}
