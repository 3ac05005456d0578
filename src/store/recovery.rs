//! "Forgot password?": one recovery in flight per account, proven by a link token (its
//! SHA-256) or a texted code (its HMAC); it works once, for its lifetime, while the password
//! is the one it was made under. The password it sets is applied in one transaction with
//! whatever finishes it — the second factor's use (`second_step.rs`) or, on an account
//! without two-factor authentication, the recovery alone — ending every session and every
//! login in flight.

use sqlx::{Any, Transaction};

use super::{NewEvent, NewSession, StoreResult};
use crate::domain::{AccountId, CredentialEvent, UnixTime};

/// How a recovery reached its owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecoveryChannel {
    /// A link by email.
    Email,
    /// A 6-digit code by text message.
    Sms,
}

impl RecoveryChannel {
    fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }
}

/// A recovery to store (replacing the account's earlier one).
#[derive(Clone, Copy, Debug)]
pub struct NewRecovery<'a> {
    /// Its id.
    pub id: &'a str,
    /// Whose.
    pub account_id: &'a AccountId,
    /// How it is sent.
    pub channel: RecoveryChannel,
    /// The SHA-256 of the link token (email) or the HMAC of the code (text).
    pub secret: &'a str,
    /// The account's credential version now: a password change kills the recovery.
    pub credential_version: i64,
    /// Now.
    pub now: UnixTime,
    /// When it dies.
    pub expires_at: UnixTime,
}

/// A live recovery.
#[derive(Clone, Debug)]
pub struct RecoveryRecord {
    /// Its id.
    pub id: String,
    /// Whose.
    pub account_id: AccountId,
    /// The account's username.
    pub username: String,
    /// How it reached the owner.
    pub channel: RecoveryChannel,
    /// When it dies.
    pub expires_at: UnixTime,
    /// Whether the account has two-factor authentication on.
    pub two_factor: bool,
}

#[derive(sqlx::FromRow)]
struct RecoveryRow {
    id: String,
    account_id: String,
    username: String,
    channel: String,
    expires_at: i64,
    two_factor_since: Option<i64>,
}

impl From<RecoveryRow> for RecoveryRecord {
    fn from(r: RecoveryRow) -> Self {
        Self {
            id: r.id,
            account_id: AccountId::from_stored(&r.account_id),
            username: r.username,
            channel: if r.channel == "sms" {
                RecoveryChannel::Sms
            } else {
                RecoveryChannel::Email
            },
            expires_at: UnixTime(r.expires_at),
            two_factor: r.two_factor_since.is_some(),
        }
    }
}

/// A texted code's attempt, charged before it is compared.
#[derive(Clone, Debug)]
pub struct ChargedCode {
    /// The recovery.
    pub recovery: RecoveryRecord,
    /// The stored HMAC to compare with.
    pub secret: String,
    /// Wrong codes it may still take after this one.
    pub tries_left: i64,
}

/// A recovery is alive: unused, unexpired, made under the account's current password, on an
/// enabled account.
macro_rules! alive {
    () => {
        "r.used_at IS NULL AND r.expires_at > $2 AND a.credential_version = r.credential_version AND a.disabled_at IS NULL"
    };
}

impl super::Recoveries<'_> {
    /// Stores a recovery, replacing the account's earlier one (whose link or code stops
    /// working), and records `event` (`recovery_requested`, whose notice goes to the
    /// channels other than the one carrying the recovery), in one transaction.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn put_recovery(&self, r: &NewRecovery<'_>, event: &NewEvent<'_>) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        // One statement replaces the account's earlier recovery: two requests at once on
        // PostgreSQL both get past a DELETE of nothing, and the second INSERT would then
        // meet the first one's row; here it waits for it and takes its place.
        sqlx::query(
            "INSERT INTO recoveries (id, account_id, channel, proof, secret, credential_version, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (account_id) DO UPDATE SET id = excluded.id, channel = excluded.channel, \
             proof = excluded.proof, secret = excluded.secret, \
             credential_version = excluded.credential_version, created_at = excluded.created_at, \
             expires_at = excluded.expires_at, failures = 0, used_at = NULL, new_password_hash = NULL",
        )
        .bind(r.id)
        .bind(r.account_id.as_str())
        .bind(r.channel.as_str())
        .bind(match r.channel {
            RecoveryChannel::Email => "token",
            RecoveryChannel::Sms => "code",
        })
        .bind(r.secret)
        .bind(r.credential_version)
        .bind(r.now.0)
        .bind(r.expires_at.0)
        .execute(&mut *tx)
        .await?;
        let event_id = event.insert(&mut tx).await?;
        // The channel that carries the link or code already tells the owner.
        let done = match r.channel {
            RecoveryChannel::Email => "UPDATE notices SET email_done = 1 WHERE event_id = $1",
            RecoveryChannel::Sms => "UPDATE notices SET sms_done = 1 WHERE event_id = $1",
        };
        sqlx::query(done).bind(event_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes back a recovery whose message could not be sent (nothing usable went out).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn drop_recovery(&self, id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM recoveries WHERE id = $1 AND used_at IS NULL")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The live recovery whose link token hashes to `secret`.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn recovery_by_token(
        &self,
        secret: &str,
        now: UnixTime,
    ) -> StoreResult<Option<RecoveryRecord>> {
        let sql = concat!(
            "SELECT r.id, r.account_id, a.username, r.channel, r.expires_at, a.two_factor_since \
             FROM recoveries r JOIN accounts a ON a.id = r.account_id \
             WHERE r.secret = $1 AND r.proof = 'token' AND ",
            alive!()
        );
        Ok(sqlx::query_as::<_, RecoveryRow>(sql)
            .bind(secret)
            .bind(now.0)
            .fetch_optional(&self.pool)
            .await?
            .map(RecoveryRecord::from))
    }

    /// **Charges** one try of a texted recovery code of the account — before it is compared,
    /// so parallel guesses cannot take more than `max_failures` (NIST SP 800-63B §5.2.2) —
    /// and returns the stored HMAC to compare with; `None` when the account has no live
    /// code or it took its tries.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn charge_recovery_code(
        &self,
        account: &AccountId,
        max_failures: i64,
        now: UnixTime,
    ) -> StoreResult<Option<ChargedCode>> {
        let mut tx = self.write_tx().await?;
        let sql = concat!(
            "UPDATE recoveries SET failures = failures + 1 WHERE id = (SELECT r.id FROM recoveries r JOIN accounts a ON a.id = r.account_id \
             WHERE r.account_id = $1 AND r.proof = 'code' AND r.failures < $3 AND ",
            alive!(),
            ") RETURNING secret, failures"
        );
        let charged: Option<(String, i64)> = sqlx::query_as(sql)
            .bind(account.as_str())
            .bind(now.0)
            .bind(max_failures)
            .fetch_optional(&mut *tx)
            .await?;
        let Some((secret, failures)) = charged else {
            tx.rollback().await?;
            return Ok(None);
        };
        let row: RecoveryRow = sqlx::query_as(
            "SELECT r.id, r.account_id, a.username, r.channel, r.expires_at, a.two_factor_since \
             FROM recoveries r JOIN accounts a ON a.id = r.account_id WHERE r.account_id = $1",
        )
        .bind(account.as_str())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(ChargedCode {
            recovery: row.into(),
            secret,
            tries_left: (max_failures - failures).max(0),
        }))
    }

    /// Gives back the try a right code was charged.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn refund_recovery_code(&self, id: &str) -> StoreResult<()> {
        sqlx::query("UPDATE recoveries SET failures = failures - 1 WHERE id = $1 AND failures > 0")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Turns a proven code into a link token (its SHA-256 `secret`), so the pages can carry
    /// the recovery in a cookie; the code stops working. Returns whether it did.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn exchange_recovery_code(&self, id: &str, secret: &str) -> StoreResult<bool> {
        Ok(sqlx::query(
            "UPDATE recoveries SET proof = 'token', secret = $2 WHERE id = $1 AND proof = 'code' AND used_at IS NULL",
        )
        .bind(id)
        .bind(secret)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1)
    }

    /// Holds the new password's hash on the recovery until its second factor comes — only
    /// the first one chosen: the same link never replaces it (contract v3; whoever else
    /// holds the link cannot swap in their password while the owner is in the second step).
    /// Returns the hash held now: `hash` when it was the first, else the one chosen before.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn hold_recovery_password(
        &self,
        id: &str,
        hash: &str,
    ) -> StoreResult<Option<String>> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "UPDATE recoveries SET new_password_hash = $2 WHERE id = $1 AND used_at IS NULL AND new_password_hash IS NULL",
        )
        .bind(id)
        .bind(hash)
        .execute(&mut *tx)
        .await?;
        let held: Option<Option<String>> = sqlx::query_scalar(
            "SELECT new_password_hash FROM recoveries WHERE id = $1 AND used_at IS NULL",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(held.flatten())
    }

    /// The new password's hash already chosen with this recovery, if one was.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn held_recovery_password(&self, id: &str) -> StoreResult<Option<String>> {
        let held: Option<Option<String>> =
            sqlx::query_scalar("SELECT new_password_hash FROM recoveries WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(held.flatten())
    }

    /// Completes a recovery on an account without two-factor authentication: the password
    /// held on it is set, every session and login in flight ends, `session` (if any) is
    /// created and `event` recorded, in one transaction. Returns `false`, changing nothing,
    /// when the recovery was used, expired or outlived its password meanwhile.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn complete_recovery(
        &self,
        id: &str,
        session: Option<&NewSession<'_>>,
        event: &NewEvent<'_>,
    ) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        // A second factor turned on meanwhile must be asked for: only an account still
        // without one completes here.
        let off: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM accounts WHERE id = $1 AND two_factor_since IS NULL")
                .bind(event.account_id.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        if off.is_none() || !finish_recovery(&mut tx, id, event.account_id, event.at).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        if let Some(s) = session {
            s.insert(&mut tx).await?;
        }
        event.insert(&mut tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes recoveries that ended over a day ago (housekeeping).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn purge_recoveries(&self, now: UnixTime) -> StoreResult<u64> {
        Ok(sqlx::query("DELETE FROM recoveries WHERE expires_at <= $1")
            .bind(now.0 - 86_400)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}

/// Uses the recovery up and sets the password held on it — only if it is alive and the
/// password is still the one it was made under — then ends every session and login in
/// flight and clears the wrong-password counters (the owner proved themselves another way).
/// Returns `false` when it could not (the caller rolls back).
pub(crate) async fn finish_recovery(
    tx: &mut Transaction<'static, Any>,
    id: &str,
    account: &AccountId,
    now: UnixTime,
) -> StoreResult<bool> {
    let used: Option<(String, i64)> = sqlx::query_as(
        "UPDATE recoveries SET used_at = $1 WHERE id = $2 AND account_id = $3 AND used_at IS NULL \
         AND expires_at > $1 AND new_password_hash IS NOT NULL RETURNING new_password_hash, credential_version",
    )
    .bind(now.0)
    .bind(id)
    .bind(account.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    let Some((hash, version)) = used else {
        return Ok(false);
    };
    let changed = sqlx::query(
        "UPDATE accounts SET password_hash = $1, credential_version = credential_version + 1 \
         WHERE id = $2 AND credential_version = $3 AND disabled_at IS NULL",
    )
    .bind(&hash)
    .bind(account.as_str())
    .bind(version)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if changed != 1 {
        return Ok(false);
    }
    sqlx::query("UPDATE recoveries SET new_password_hash = NULL WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    super::lifecycle::end_credentials(
        tx,
        &super::Ending::new(CredentialEvent::RecoveryCompleted, account, None, now),
    )
    .await?;
    sqlx::query("DELETE FROM login_throttle WHERE subject = $1")
        .bind(account.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(true)
}
