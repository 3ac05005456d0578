//! Sessions: one row per logged-in browser or app, found by the SHA-256 of its token.

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::{NewEvent, Store, StoreError, StoreResult};
use crate::crypto::TokenHash;
use crate::domain::{AccountId, ClientInfo, SessionId, UnixTime};

/// A browser (cookie) or app (bearer token) session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    /// A browser, holding a cookie.
    Web,
    /// An app or script, holding a bearer token.
    Api,
}

impl SessionKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::Api => "api",
        }
    }

    pub(crate) fn parse(s: &str) -> StoreResult<Self> {
        match s {
            "web" => Ok(Self::Web),
            "api" => Ok(Self::Api),
            _ => Err(StoreError::Corrupt("sessions.kind")),
        }
    }
}

/// A session to create.
#[derive(Clone, Debug)]
pub struct NewSession<'a> {
    /// Its public id.
    pub id: &'a SessionId,
    /// The SHA-256 of its token.
    pub token_hash: &'a TokenHash,
    /// Whose.
    pub account_id: &'a AccountId,
    /// Browser or app.
    pub kind: SessionKind,
    /// Now (creation, last seen and recent authentication).
    pub now: UnixTime,
    /// The absolute end of the session.
    pub expires_at: UnixTime,
    /// From where.
    pub client: &'a ClientInfo,
}

/// A live session joined with its account.
#[derive(Clone, Debug)]
pub struct SessionRecord {
    /// Its public id.
    pub id: SessionId,
    /// Whose.
    pub account_id: AccountId,
    /// The account's username.
    pub username: String,
    /// Browser or app.
    pub kind: SessionKind,
    /// When it was created.
    pub created_at: UnixTime,
    /// When it was last used (to a minute).
    pub last_seen_at: UnixTime,
    /// Its absolute end.
    pub expires_at: UnixTime,
    /// When the password was last confirmed in it.
    pub reauth_at: UnixTime,
    /// The IP address it was last seen from.
    pub ip: Option<String>,
    /// The user agent that created it.
    pub user_agent: Option<String>,
}

impl NewSession<'_> {
    /// Inserts the session inside a caller's transaction, unless password logins on its
    /// account are paused at `now` — checked by the same statement, so that a right password
    /// found by one of many parallel guesses after the lock opens nothing. Returns whether
    /// it was inserted.
    pub(crate) async fn insert_unless_locked(
        &self,
        tx: &mut Transaction<'static, Any>,
    ) -> StoreResult<bool> {
        self.insert_where(
            tx,
            "WHERE NOT EXISTS (SELECT 1 FROM accounts WHERE id = $3 AND locked_until > $5)",
        )
        .await
    }

    /// Inserts the session inside a caller's transaction (after a second factor: the
    /// password-pause does not apply there).
    pub(crate) async fn insert(&self, tx: &mut Transaction<'static, Any>) -> StoreResult<()> {
        self.insert_where(tx, "").await.map(|_| ())
    }

    async fn insert_where(
        &self,
        tx: &mut Transaction<'static, Any>,
        guard: &'static str,
    ) -> StoreResult<bool> {
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO sessions (id, token_hash, account_id, kind, created_at, last_seen_at, expires_at, reauth_at, ip, user_agent) \
             SELECT $1, $2, $3, $4, $5, $5, $6, $5, $7, $8 {guard}"
        ));
        let inserted = sqlx::query(sql)
            .bind(self.id.as_str())
            .bind(self.token_hash.as_str())
            .bind(self.account_id.as_str())
            .bind(self.kind.as_str())
            .bind(self.now.0)
            .bind(self.expires_at.0)
            .bind(self.client.ip.as_deref())
            .bind(self.client.user_agent.as_deref())
            .execute(&mut **tx)
            .await?
            .rows_affected();
        Ok(inserted == 1)
    }
}

/// After a right password: clears the wrong-password count and stores a re-made hash.
pub(crate) async fn clear_login_failures(
    tx: &mut Transaction<'static, Any>,
    account: &AccountId,
    rehash: Option<&str>,
    now: UnixTime,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE accounts SET failed_logins = 0, locked_until = NULL, password_hash = COALESCE($1, password_hash) \
         WHERE id = $2 AND (locked_until IS NULL OR locked_until <= $3)",
    )
    .bind(rehash)
    .bind(account.as_str())
    .bind(now.0)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

const SESSION_COLUMNS: &str = "s.id, s.account_id, a.username, s.kind, s.created_at, s.last_seen_at, \
     s.expires_at, s.reauth_at, s.ip, s.user_agent";

fn session_from_row(row: &AnyRow) -> StoreResult<SessionRecord> {
    Ok(SessionRecord {
        id: SessionId::from_stored(row.try_get::<String, _>("id")?),
        account_id: AccountId::from_stored(row.try_get::<String, _>("account_id")?),
        username: row.try_get("username")?,
        kind: SessionKind::parse(&row.try_get::<String, _>("kind")?)?,
        created_at: UnixTime(row.try_get("created_at")?),
        last_seen_at: UnixTime(row.try_get("last_seen_at")?),
        expires_at: UnixTime(row.try_get("expires_at")?),
        reauth_at: UnixTime(row.try_get("reauth_at")?),
        ip: row.try_get("ip")?,
        user_agent: row.try_get("user_agent")?,
    })
}

impl Store {
    /// Completes a password login in one transaction: creates the session (unless password
    /// logins were paused meanwhile: then `false`, and nothing changes), records the event,
    /// and clears the wrong-password count (when the caller saw one) and stores a re-made
    /// hash (when there is one). A plain login is two statements.
    ///
    /// # Errors
    /// On a database failure (then nothing of it happened).
    pub async fn complete_login(
        &self,
        session: &NewSession<'_>,
        event: &NewEvent<'_>,
        clear_failures: bool,
        rehash: Option<&str>,
    ) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        if !session.insert_unless_locked(&mut tx).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        event.insert(&mut tx).await?;
        if clear_failures || rehash.is_some() {
            clear_login_failures(&mut tx, session.account_id, rehash, session.now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The session holding this token, if it exists and its account is enabled.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn session_by_token(&self, token: &TokenHash) -> StoreResult<Option<SessionRecord>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s JOIN accounts a ON a.id = s.account_id \
             WHERE s.token_hash = $1 AND a.disabled_at IS NULL"
        ));
        sqlx::query(sql)
            .bind(token.as_str())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(session_from_row)
            .transpose()
    }

    /// Every session of an account, newest first.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list_sessions(&self, account: &AccountId) -> StoreResult<Vec<SessionRecord>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s JOIN accounts a ON a.id = s.account_id \
             WHERE s.account_id = $1 ORDER BY s.last_seen_at DESC, s.created_at DESC"
        ));
        sqlx::query(sql)
            .bind(account.as_str())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(session_from_row)
            .collect()
    }

    /// Notes that a session was used now, from `ip`.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn touch_session(
        &self,
        id: &SessionId,
        now: UnixTime,
        ip: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1, ip = COALESCE($2, ip) WHERE id = $3")
            .bind(now.0)
            .bind(ip)
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Opens the recent-authentication window of a session.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn set_reauth(&self, id: &SessionId, now: UnixTime) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET reauth_at = $1 WHERE id = $2")
            .bind(now.0)
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends a session of this account and records why. Returns `false` when the account has
    /// no session with that id (so another account's session can never be ended).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn end_session(&self, id: &SessionId, event: &NewEvent<'_>) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        let gone = sqlx::query("DELETE FROM sessions WHERE id = $1 AND account_id = $2")
            .bind(id.as_str())
            .bind(event.account_id.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if gone == 1 {
            event.insert(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(gone == 1)
    }

    /// Deletes a session that has expired (no event: nobody acted).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn delete_session(&self, id: &SessionId) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Changes the password in one transaction: stores the new hash, ends every other
    /// session of the account, refreshes `keep`'s recent authentication and records the event.
    ///
    /// # Errors
    /// On a database failure (then nothing changed).
    pub async fn change_password(
        &self,
        keep: &SessionId,
        new_hash: &str,
        event: &NewEvent<'_>,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2")
            .bind(new_hash)
            .bind(event.account_id.as_str())
            .execute(&mut *tx)
            .await?;
        // Logins half-way through (password given, code pending) were made with the old
        // password: they end too.
        sqlx::query("DELETE FROM challenges WHERE account_id = $1 AND finished_at IS NULL")
            .bind(event.account_id.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE account_id = $1 AND id <> $2")
            .bind(event.account_id.as_str())
            .bind(keep.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE sessions SET reauth_at = $1 WHERE id = $2")
            .bind(event.at.0)
            .bind(keep.as_str())
            .execute(&mut *tx)
            .await?;
        event.insert(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes sessions past their absolute end or idle for longer than `idle_secs`
    /// (housekeeping; lookups check both limits anyway). Returns how many went.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn purge_sessions(&self, now: UnixTime, idle_secs: i64) -> StoreResult<u64> {
        Ok(
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
                .bind(now.0)
                .bind(now.0 - idle_secs)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}
