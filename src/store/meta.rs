//! Facts about the installation (the secret key's check value) and the browsers that
//! logged in before (device cookies).

use super::StoreResult;
use crate::domain::{AccountId, UnixTime};

/// The events that mean "logged in".
macro_rules! login_kinds {
    () => {
        "('login', 'login_sms', 'login_totp', 'login_backup_code', 'recovery_completed')"
    };
}

impl super::Meta<'_> {
    /// A stored fact, if set.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn value(&self, name: &str) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM server_meta WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Stores a fact unless it is set already; returns the value that is stored now.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn value_or_insert(&self, name: &str, value: &str) -> StoreResult<String> {
        sqlx::query(
            "INSERT INTO server_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(self.value(name).await?.unwrap_or_else(|| value.to_owned()))
    }

    /// Whether the browser holding this device cookie (its SHA-256) logged in to the
    /// account before.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn device_known(&self, token_hash: &str, account: &AccountId) -> StoreResult<bool> {
        let n: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM devices WHERE token_hash = $1 AND account_id = $2")
                .bind(token_hash)
                .bind(account.as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok(n.is_some())
    }

    /// Whether a login to the account comes from a browser or an app that never logged in
    /// to it before — a browser by its device cookie (`device`, its SHA-256; none for a
    /// browser that shows none), an app by its user agent — on an account that has logged
    /// in before (its very first login, right after sign-up, is no news).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn is_new_device(
        &self,
        account: &AccountId,
        browser: bool,
        device: Option<&str>,
        user_agent: Option<&str>,
    ) -> StoreResult<bool> {
        if !browser {
            // An app: both questions in one statement (this runs on every login).
            let (before, seen): (i64, i64) = sqlx::query_as(concat!(
                "SELECT CASE WHEN EXISTS (SELECT 1 FROM events WHERE account_id = $1 AND kind IN ",
                login_kinds!(),
                ") THEN 1 ELSE 0 END, \
                 CASE WHEN EXISTS (SELECT 1 FROM events WHERE account_id = $1 AND kind IN ",
                login_kinds!(),
                " AND COALESCE(user_agent, '') = $2) THEN 1 ELSE 0 END"
            ))
            .bind(account.as_str())
            .bind(user_agent.unwrap_or(""))
            .fetch_one(&self.pool)
            .await?;
            return Ok(before == 1 && seen == 0);
        }
        let logged_in_before: Option<i64> = sqlx::query_scalar(concat!(
            "SELECT 1 FROM events WHERE account_id = $1 AND kind IN ",
            login_kinds!(),
            " LIMIT 1"
        ))
        .bind(account.as_str())
        .fetch_optional(&self.pool)
        .await?;
        if logged_in_before.is_none() {
            return Ok(false);
        }
        Ok(match device {
            Some(d) => !self.device_known(d, account).await?,
            None => true,
        })
    }

    /// Housekeeping: forgets browsers not seen since `before`.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn purge_devices(&self, before: UnixTime) -> StoreResult<u64> {
        Ok(sqlx::query("DELETE FROM devices WHERE last_used_at <= $1")
            .bind(before.0)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}
