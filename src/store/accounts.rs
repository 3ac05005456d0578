//! Accounts: creation, lookup, password hashes, the operator's enable/disable, and the
//! counter of consecutive wrong passwords.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{NewEvent, Store, StoreResult, conflict_or};
use crate::domain::{AccountId, ClientInfo, EventKind, UnixTime, Username};

/// An account as stored.
#[derive(Clone, Debug)]
pub struct AccountRecord {
    /// Its id.
    pub id: AccountId,
    /// The canonical username.
    pub username: String,
    /// The argon2id PHC string.
    pub password_hash: String,
    /// When it was created.
    pub created_at: UnixTime,
    /// When the operator disabled it, if they did.
    pub disabled_at: Option<UnixTime>,
    /// Wrong passwords in a row since the last success.
    pub failed_logins: i64,
    /// Password logins are paused until then.
    pub locked_until: Option<UnixTime>,
    /// When two-factor authentication was turned on; `None` when it is off.
    pub two_factor_since: Option<UnixTime>,
}

/// What a recorded wrong password led to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginFailure {
    /// Wrong passwords in a row, this one included; 0 when logins were already paused
    /// (then nothing was counted).
    pub consecutive: i64,
    /// Password logins are paused until then, when they already were.
    pub paused_until: Option<UnixTime>,
}

const ACCOUNT_COLUMNS: &str = "id, username, password_hash, created_at, disabled_at, failed_logins, locked_until, two_factor_since";

fn account_from_row(row: &AnyRow) -> StoreResult<AccountRecord> {
    Ok(AccountRecord {
        id: AccountId::from_stored(row.try_get::<String, _>("id")?),
        username: row.try_get("username")?,
        password_hash: row.try_get("password_hash")?,
        created_at: UnixTime(row.try_get("created_at")?),
        disabled_at: row.try_get::<Option<i64>, _>("disabled_at")?.map(UnixTime),
        failed_logins: row.try_get("failed_logins")?,
        locked_until: row.try_get::<Option<i64>, _>("locked_until")?.map(UnixTime),
        two_factor_since: row
            .try_get::<Option<i64>, _>("two_factor_since")?
            .map(UnixTime),
    })
}

impl Store {
    /// Creates an account.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the username is taken (the unique index decides, so two
    /// racing sign-ups cannot both win).
    pub async fn create_account(
        &self,
        id: &AccountId,
        username: &Username,
        password_hash: &str,
        now: UnixTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO accounts (id, username, password_hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id.as_str())
        .bind(username.as_str())
        .bind(password_hash)
        .bind(now.0)
        .execute(&self.pool)
        .await
        .map_err(conflict_or)?;
        Ok(())
    }

    /// The account with this username, if any.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn account_by_username(
        &self,
        username: &Username,
    ) -> StoreResult<Option<AccountRecord>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE username = $1"
        ));
        sqlx::query(sql)
            .bind(username.as_str())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(account_from_row)
            .transpose()
    }

    /// The account with this id, if any.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn account_by_id(&self, id: &AccountId) -> StoreResult<Option<AccountRecord>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"
        ));
        sqlx::query(sql)
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(account_from_row)
            .transpose()
    }

    /// Every account, by username (for the admin CLI).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list_accounts(&self) -> StoreResult<Vec<AccountRecord>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY username"
        ));
        sqlx::query(sql)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(account_from_row)
            .collect()
    }

    /// Stores a re-made password hash (same password, current parameters).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn update_password_hash(&self, id: &AccountId, hash: &str) -> StoreResult<()> {
        sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Counts one more wrong password, atomically, and records the event; when the count
    /// reaches a multiple of `threshold`, pauses password logins until `lock_for(count)`
    /// seconds from now. All in one transaction, so concurrent guesses on several nodes
    /// cannot lose a count.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn record_login_failure(
        &self,
        id: &AccountId,
        event: &NewEvent<'_>,
        threshold: i64,
        lock_for: impl Fn(i64) -> i64,
    ) -> StoreResult<LoginFailure> {
        let mut tx = self.write_tx().await?;
        // A guess that was queued for hashing when the pause began is not counted, and its
        // caller answers "paused" whether it was right or wrong (no oracle during a pause).
        let consecutive: Option<i64> = sqlx::query_scalar(
            "UPDATE accounts SET failed_logins = failed_logins + 1 \
             WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2) RETURNING failed_logins",
        )
        .bind(id.as_str())
        .bind(event.at.0)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(consecutive) = consecutive else {
            let until: Option<i64> =
                sqlx::query_scalar("SELECT locked_until FROM accounts WHERE id = $1")
                    .bind(id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?
                    .flatten();
            tx.rollback().await?;
            return Ok(LoginFailure {
                consecutive: 0,
                paused_until: Some(UnixTime(until.unwrap_or(event.at.0 + 1))),
            });
        };
        if threshold > 0 && consecutive % threshold == 0 {
            let secs = lock_for(consecutive);
            sqlx::query("UPDATE accounts SET locked_until = $1 WHERE id = $2")
                .bind(event.at.plus(secs).0)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            // The pause is told in the failure's detail: the activity kinds are a fixed list.
            let detail = format!("logins paused for {}", crate::auth::wait_text(secs));
            NewEvent {
                detail: Some(&detail),
                ..*event
            }
            .insert(&mut tx)
            .await?;
        } else {
            event.insert(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(LoginFailure {
            consecutive,
            paused_until: None,
        })
    }

    /// Disables (`Some(now)`) or enables (`None`) an account; disabling also ends every
    /// session at once. Returns `false` when there is no such user.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn set_disabled(
        &self,
        username: &Username,
        disabled_at: Option<UnixTime>,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        let id: Option<String> = sqlx::query_scalar(
            "UPDATE accounts SET disabled_at = $1, failed_logins = 0, locked_until = NULL WHERE username = $2 RETURNING id",
        )
        .bind(disabled_at.map(|t| t.0))
        .bind(username.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id.map(AccountId::from_stored) else {
            return Ok(false);
        };
        if disabled_at.is_some() {
            sqlx::query("DELETE FROM sessions WHERE account_id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            // Every session ended: recorded as a revocation (the activity kinds are a fixed
            // list), with the reason in the detail. Enabling again ends nothing.
            let operator = ClientInfo {
                ip: None,
                user_agent: Some("twofold admin CLI".into()),
            };
            NewEvent {
                account_id: &id,
                kind: EventKind::SessionRevoked,
                at: now,
                client: &operator,
                detail: Some("account disabled by the operator"),
            }
            .insert(&mut tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Counts the accounts (for the CLI and the benchmark).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn count_accounts(&self) -> StoreResult<i64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
            .fetch_one(&self.pool)
            .await?;
        Ok(n)
    }
}
