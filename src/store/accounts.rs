//! Accounts: creation, lookup, password hashes, and the operator's enable/disable (which
//! also clears the wrong-password and wrong-code counts; the wrong-password counters
//! themselves are in `limits.rs`).

use super::{NewEvent, StoreResult, conflict_or};
use crate::domain::{AccountId, ClientInfo, CredentialEvent, EventKind, UnixTime, Username};

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
    /// Bumped by every password change; a login binds its session to the one it verified.
    pub credential_version: i64,
    /// When two-factor authentication was turned on; `None` when it is off.
    pub two_factor_since: Option<UnixTime>,
}

/// The columns of [`AccountRow`], as a literal so that queries stay `&'static str`.
macro_rules! account_columns {
    () => {
        "id, username, password_hash, created_at, disabled_at, credential_version, two_factor_since"
    };
    ($t:literal) => {
        concat!(
            $t,
            ".id, ",
            $t,
            ".username, ",
            $t,
            ".password_hash, ",
            $t,
            ".created_at, ",
            $t,
            ".disabled_at, ",
            $t,
            ".credential_version, ",
            $t,
            ".two_factor_since"
        )
    };
}
pub(super) use account_columns;

/// An `accounts` row as the database returns it.
#[derive(sqlx::FromRow)]
pub(super) struct AccountRow {
    id: String,
    username: String,
    password_hash: String,
    created_at: i64,
    disabled_at: Option<i64>,
    credential_version: i64,
    two_factor_since: Option<i64>,
}

impl From<AccountRow> for AccountRecord {
    fn from(r: AccountRow) -> Self {
        Self {
            id: AccountId::from_stored(r.id),
            username: r.username,
            password_hash: r.password_hash,
            created_at: UnixTime(r.created_at),
            disabled_at: r.disabled_at.map(UnixTime),
            credential_version: r.credential_version,
            two_factor_since: r.two_factor_since.map(UnixTime),
        }
    }
}

impl super::Accounts<'_> {
    /// Creates an account.
    ///
    /// # Errors
    /// [`StoreError::Conflict`](super::StoreError::Conflict) when the username is taken (the
    /// unique index decides, so two racing sign-ups cannot both win).
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
        Ok(sqlx::query_as::<_, AccountRow>(concat!(
            "SELECT ",
            account_columns!(),
            " FROM accounts WHERE username = $1"
        ))
        .bind(username.as_str())
        .fetch_optional(&self.pool)
        .await?
        .map(AccountRecord::from))
    }

    /// The account with this id, if any.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn account_by_id(&self, id: &AccountId) -> StoreResult<Option<AccountRecord>> {
        Ok(sqlx::query_as::<_, AccountRow>(concat!(
            "SELECT ",
            account_columns!(),
            " FROM accounts WHERE id = $1"
        ))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?
        .map(AccountRecord::from))
    }

    /// Every account, by username (for the admin CLI).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list_accounts(&self) -> StoreResult<Vec<AccountRecord>> {
        Ok(sqlx::query_as::<_, AccountRow>(concat!(
            "SELECT ",
            account_columns!(),
            " FROM accounts ORDER BY username"
        ))
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(AccountRecord::from)
        .collect())
    }

    /// Stores a re-made password hash (same password, current parameters), unless the
    /// password was changed since it was verified (`verified`, the credential version).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn update_password_hash(
        &self,
        id: &AccountId,
        verified: i64,
        hash: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE accounts SET password_hash = $1 WHERE id = $2 AND credential_version = $3",
        )
        .bind(hash)
        .bind(id.as_str())
        .bind(verified)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Disables (`Some(now)`) or enables (`None`) an account; disabling also ends every
    /// session at once. Either is recorded and told to the owner. Returns `false` when there
    /// is no such user.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn set_disabled(
        &self,
        username: &Username,
        disabled_at: Option<UnixTime>,
        now: UnixTime,
        operator: &ClientInfo,
        reason: Option<&str>,
    ) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        let id: Option<String> = sqlx::query_scalar(
            "UPDATE accounts SET disabled_at = $1 WHERE username = $2 RETURNING id",
        )
        .bind(disabled_at.map(|t| t.0))
        .bind(username.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id.map(AccountId::from_stored) else {
            return Ok(false);
        };
        // Enabling also forgets the wrong-password and wrong-code counts: the operator has
        // acted for the owner (NIST SP 800-63B §5.2.2).
        sqlx::query("DELETE FROM login_throttle WHERE subject = $1")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE accounts SET sf_failures = 0, sf_locked_until = NULL, sf_lockouts = 0 WHERE id = $1",
        )
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
        if disabled_at.is_some() {
            super::lifecycle::end_credentials(
                &mut tx,
                &super::Ending::new(CredentialEvent::OperatorDisable, &id, None, now),
            )
            .await?;
        }
        // Recorded with who and why in the detail, and told to the owner (a notice).
        let (kind, what) = if disabled_at.is_some() {
            (
                EventKind::AccountDisabled,
                "account disabled by the operator; every session ended",
            )
        } else {
            (EventKind::AccountEnabled, "account enabled by the operator")
        };
        let detail = match reason {
            Some(r) => format!("{what} ({r})"),
            None => what.to_owned(),
        };
        NewEvent {
            account_id: &id,
            kind,
            at: now,
            client: operator,
            detail: Some(&detail),
        }
        .insert(&mut tx)
        .await?;
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
