//! Sessions: one row per logged-in browser or app, found by the SHA-256 of its token.

use sqlx::{Any, Transaction};

use super::lifecycle::{Ending, end_credentials};
use super::{NewEvent, Store, StoreError, StoreResult, Throttle};
use crate::crypto::TokenHash;
use crate::domain::{
    AccountId, ClientInfo, CredentialEvent, FirstFactor, Method, SessionId, SessionKind, UnixTime,
};

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
    /// The SHA-256 of the browser's device cookie, to remember that it logged in here.
    pub device: Option<&'a str>,
    /// The first factor the login used: the password, or a passkey and no password.
    pub first_factor: FirstFactor,
    /// The second factor the login used; `None` for a password alone.
    pub second_factor: Option<Method>,
    /// It comes from a browser or app new to the account: a `login_new_device` event (and
    /// its notice) is recorded with it.
    pub new_device: bool,
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
    /// The first factor its login used.
    pub first_factor: FirstFactor,
    /// The second factor its login used; `None` for a password alone.
    pub second_factor: Option<Method>,
    /// The account's confirmed email address.
    pub email: Option<String>,
}

/// What a password login proved, bound into the statement that ends it: the credential
/// version the password was checked against (a password change in between refuses the
/// insert), the throttle whose pause or cap must still be open, whether to clear its
/// counters, and a re-made hash to store.
#[derive(Clone, Copy, Debug)]
pub struct PasswordProof<'a> {
    /// `accounts.credential_version` when the password was read.
    pub credential_version: i64,
    /// The wrong-password throttle the attempt was checked against.
    pub throttle: &'a Throttle,
    /// Clear the subject's counters (some were above zero).
    pub clear: bool,
    /// A hash of the same password with the current parameters.
    pub rehash: Option<&'a str>,
}

const INSERT_SESSION: &str = "INSERT INTO sessions (id, token_hash, account_id, kind, created_at, last_seen_at, expires_at, reauth_at, ip, user_agent, second_factor, first_factor) \
     VALUES ($1, $2, $3, $4, $5, $5, $6, $5, $7, $8, $9, $10)";

/// The session insert after a password: only while the password is still the one that was
/// verified, and no pause or cap of the throttle began meanwhile — checked by the same
/// statement, so that a right password found by one of many parallel guesses after a pause
/// began opens nothing, and a login in flight during a password change cannot survive it.
const INSERT_SESSION_AFTER_PASSWORD: &str = "INSERT INTO sessions (id, token_hash, account_id, kind, created_at, last_seen_at, expires_at, reauth_at, ip, user_agent) \
     SELECT $1, $2, $3, $4, $5, $5, $6, $5, $7, $8 \
     WHERE EXISTS (SELECT 1 FROM accounts WHERE id = $3 AND credential_version = $9) \
     AND NOT EXISTS (SELECT 1 FROM login_throttle WHERE (key IN ($10, $11, $12) AND locked_until > $5) \
     OR (key = $10 AND failures >= $13))";

impl NewSession<'_> {
    /// Inserts the session inside a caller's transaction (after a second factor: the
    /// challenge already carried the password's proof), and remembers the browser. Returns
    /// whether a new-device notice waits for delivery.
    pub(crate) async fn insert(&self, tx: &mut Transaction<'static, Any>) -> StoreResult<bool> {
        sqlx::query(INSERT_SESSION)
            .bind(self.id.as_str())
            .bind(self.token_hash.as_str())
            .bind(self.account_id.as_str())
            .bind(self.kind.as_str())
            .bind(self.now.0)
            .bind(self.expires_at.0)
            .bind(self.client.ip.as_deref())
            .bind(self.client.user_agent.as_deref())
            .bind(self.second_factor.map(Method::as_str))
            .bind(self.first_factor.as_str())
            .execute(&mut **tx)
            .await?;
        self.remember_device(tx).await
    }

    /// Inserts the session after a password, unless `proof` no longer holds. Returns
    /// whether it was inserted.
    pub(crate) async fn insert_after_password(
        &self,
        store: &Store,
        tx: &mut Transaction<'static, Any>,
        proof: &PasswordProof<'_>,
    ) -> StoreResult<bool> {
        if !store
            .sessions()
            .hold_credential(tx, self.account_id, proof.credential_version)
            .await?
        {
            return Ok(false);
        }
        let [k1, k2, k3] = proof.throttle.guard_keys();
        let inserted = sqlx::query(INSERT_SESSION_AFTER_PASSWORD)
            .bind(self.id.as_str())
            .bind(self.token_hash.as_str())
            .bind(self.account_id.as_str())
            .bind(self.kind.as_str())
            .bind(self.now.0)
            .bind(self.expires_at.0)
            .bind(self.client.ip.as_deref())
            .bind(self.client.user_agent.as_deref())
            .bind(proof.credential_version)
            .bind(k1)
            .bind(k2)
            .bind(k3)
            .bind(proof.throttle.cap)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if inserted == 1 {
            self.remember_device(tx).await?;
        }
        Ok(inserted == 1)
    }

    /// Records that this browser logged in to this account (OWASP device cookies), and a
    /// login from a new browser or app, whose notice commits with the session. Returns
    /// whether that notice waits for delivery.
    async fn remember_device(&self, tx: &mut Transaction<'static, Any>) -> StoreResult<bool> {
        let mut waiting = false;
        if self.new_device {
            (_, waiting) = NewEvent {
                account_id: self.account_id,
                kind: crate::domain::EventKind::LoginNewDevice,
                at: self.now,
                client: self.client,
                detail: None,
            }
            .record(tx)
            .await?;
        }
        if let Some(device) = self.device {
            sqlx::query(
                "INSERT INTO devices (token_hash, account_id, created_at, last_used_at) VALUES ($1, $2, $3, $3) \
                 ON CONFLICT (token_hash, account_id) DO UPDATE SET last_used_at = $3",
            )
            .bind(device)
            .bind(self.account_id.as_str())
            .bind(self.now.0)
            .execute(&mut **tx)
            .await?;
        }
        Ok(waiting)
    }
}

/// After a right password: clears the throttle's counters and stores a re-made hash — the
/// re-hash only while the credential is still the one verified, so a login in flight can
/// never write an old password back over a new one.
pub(crate) async fn after_right_password(
    tx: &mut Transaction<'static, Any>,
    account: &AccountId,
    proof: &PasswordProof<'_>,
) -> StoreResult<()> {
    if proof.clear {
        sqlx::query("DELETE FROM login_throttle WHERE subject = $1")
            .bind(proof.throttle.subject.as_str())
            .execute(&mut **tx)
            .await?;
    }
    if let Some(hash) = proof.rehash {
        sqlx::query(
            "UPDATE accounts SET password_hash = $1 WHERE id = $2 AND credential_version = $3",
        )
        .bind(hash)
        .bind(account.as_str())
        .bind(proof.credential_version)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The columns of [`SessionRow`] (a session joined with its account's username).
macro_rules! session_columns {
    () => {
        "s.id, s.account_id, a.username, s.kind, s.created_at, s.last_seen_at, \
         s.expires_at, s.reauth_at, s.ip, s.user_agent, s.second_factor, s.first_factor, \
         CASE WHEN a.email_verified_at IS NOT NULL THEN a.email END AS email"
    };
}

/// A `sessions` row joined with its username, as the database returns it.
#[derive(sqlx::FromRow)]
struct SessionRow {
    id: String,
    account_id: String,
    username: String,
    kind: String,
    created_at: i64,
    last_seen_at: i64,
    expires_at: i64,
    reauth_at: i64,
    ip: Option<String>,
    user_agent: Option<String>,
    second_factor: Option<String>,
    first_factor: String,
    email: Option<String>,
}

impl TryFrom<SessionRow> for SessionRecord {
    type Error = StoreError;

    fn try_from(r: SessionRow) -> StoreResult<Self> {
        Ok(Self {
            id: SessionId::from_stored(r.id),
            account_id: AccountId::from_stored(r.account_id),
            username: r.username,
            kind: SessionKind::parse(&r.kind).map_err(|_| StoreError::Corrupt("sessions.kind"))?,
            created_at: UnixTime(r.created_at),
            last_seen_at: UnixTime(r.last_seen_at),
            expires_at: UnixTime(r.expires_at),
            reauth_at: UnixTime(r.reauth_at),
            ip: r.ip,
            user_agent: r.user_agent,
            second_factor: r
                .second_factor
                .map(|m| {
                    Method::parse(&m).map_err(|_| StoreError::Corrupt("sessions.second_factor"))
                })
                .transpose()?,
            first_factor: FirstFactor::from_stored(&r.first_factor),
            email: r.email,
        })
    }
}

impl super::Sessions<'_> {
    /// Completes a login in one transaction: creates the session — after a password, only
    /// while its proof holds (else `false`, and nothing changes) — records the event, clears
    /// the throttle's counters and stores a re-made hash when there is one.
    ///
    /// # Errors
    /// On a database failure (then nothing of it happened).
    pub async fn complete_login(
        &self,
        session: &NewSession<'_>,
        event: &NewEvent<'_>,
        proof: Option<&PasswordProof<'_>>,
    ) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        match proof {
            Some(proof) => {
                if !session.insert_after_password(self, &mut tx, proof).await? {
                    tx.rollback().await?;
                    return Ok(false);
                }
                after_right_password(&mut tx, session.account_id, proof).await?;
            }
            // Just signed up: the password was chosen, not checked.
            None => {
                session.insert(&mut tx).await?;
            }
        }
        event.insert(&mut tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The session of this kind holding this token, if it exists and its account is
    /// enabled: a browser cookie never works as an API token, nor the other way round.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn session_by_token(
        &self,
        token: &TokenHash,
        kind: SessionKind,
    ) -> StoreResult<Option<SessionRecord>> {
        sqlx::query_as::<_, SessionRow>(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions s JOIN accounts a ON a.id = s.account_id \
             WHERE s.token_hash = $1 AND s.kind = $2 AND a.disabled_at IS NULL"
        ))
        .bind(token.as_str())
        .bind(kind.as_str())
        .fetch_optional(&self.pool)
        .await?
        .map(SessionRecord::try_from)
        .transpose()
    }

    /// Every session of an account, newest first.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list_sessions(&self, account: &AccountId) -> StoreResult<Vec<SessionRecord>> {
        sqlx::query_as::<_, SessionRow>(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions s JOIN accounts a ON a.id = s.account_id \
             WHERE s.account_id = $1 ORDER BY s.last_seen_at DESC, s.created_at DESC"
        ))
        .bind(account.as_str())
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(SessionRecord::try_from)
        .collect()
    }

    /// Records that the session's owner just proved a second factor in it (confirming a new
    /// method at set-up), unless the session already has one.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn mark_second_factor(&self, id: &SessionId, method: Method) -> StoreResult<()> {
        sqlx::query(
            "UPDATE sessions SET second_factor = $1 WHERE id = $2 AND second_factor IS NULL",
        )
        .bind(method.as_str())
        .bind(id.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
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
        let gone = end_credentials(
            &mut tx,
            &Ending::new(
                CredentialEvent::SessionEnded,
                event.account_id,
                Some(id),
                event.at,
            ),
        )
        .await?
        .sessions;
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
    pub async fn delete_session(&self, id: &SessionId, now: UnixTime) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        // Apps holding tokens from it hear that it ended (Back-Channel Logout 1.0).
        sqlx::query(super::lifecycle::QUEUE_EXPIRED_LOGOUTS)
            .bind(now.0)
            .bind(now.0)
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes the password in one transaction: stores the new hash and bumps the
    /// credential version — only if the version is still `verified`, the one whose password
    /// the caller checked (two racing changes: one wins) — ends every other session and
    /// every login in flight of the account, refreshes `keep`'s recent authentication and
    /// records the event. Returns `false`, changing nothing, when the password was changed
    /// meanwhile.
    ///
    /// # Errors
    /// On a database failure (then nothing changed).
    pub async fn change_password(
        &self,
        keep: &SessionId,
        verified: i64,
        new_hash: &str,
        event: &NewEvent<'_>,
    ) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        let changed = sqlx::query(
            "UPDATE accounts SET password_hash = $1, credential_version = credential_version + 1 \
             WHERE id = $2 AND credential_version = $3",
        )
        .bind(new_hash)
        .bind(event.account_id.as_str())
        .bind(verified)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        end_credentials(
            &mut tx,
            &Ending::new(
                CredentialEvent::PasswordChanged,
                event.account_id,
                Some(keep),
                event.at,
            ),
        )
        .await?;
        sqlx::query("UPDATE sessions SET reauth_at = $1 WHERE id = $2")
            .bind(event.at.0)
            .bind(keep.as_str())
            .execute(&mut *tx)
            .await?;
        event.insert(&mut tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// After a right password outside a login (re-authentication): clears the throttle and
    /// stores a re-made hash, in one transaction.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn clear_after_password(
        &self,
        account: &AccountId,
        proof: &PasswordProof<'_>,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        after_right_password(&mut tx, account, proof).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Holds the account's credential at `version` until the transaction ends, or says it
    /// moved on. On PostgreSQL `SELECT … FOR SHARE` waits for a password change in flight and
    /// then sees its new version (a plain read would see the old one and let a login made
    /// with the old password commit after the change); SQLite's `BEGIN IMMEDIATE` has
    /// already serialized the writers.
    pub(crate) async fn hold_credential(
        &self,
        tx: &mut Transaction<'static, Any>,
        account: &AccountId,
        version: i64,
    ) -> StoreResult<bool> {
        let sql = match self.engine {
            super::Engine::Postgres => {
                "SELECT 1 FROM accounts WHERE id = $1 AND credential_version = $2 FOR SHARE"
            }
            super::Engine::Sqlite => {
                "SELECT 1 FROM accounts WHERE id = $1 AND credential_version = $2"
            }
        };
        let held: Option<i64> = sqlx::query_scalar(sql)
            .bind(account.as_str())
            .bind(version)
            .fetch_optional(&mut **tx)
            .await?;
        Ok(held.is_some())
    }

    /// Ends what `what` ends of the account's credentials ([`CredentialEvent::ends`]; `keep`
    /// is the session that made the change, if any), recording `event`. Returns how many
    /// sessions ended.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn end_sessions(
        &self,
        what: CredentialEvent,
        keep: Option<&SessionId>,
        event: &NewEvent<'_>,
    ) -> StoreResult<u64> {
        let mut tx = self.write_tx().await?;
        let ended = end_credentials(
            &mut tx,
            &Ending::new(what, event.account_id, keep, event.at),
        )
        .await?;
        event.insert(&mut tx).await?;
        tx.commit().await?;
        Ok(ended.sessions)
    }

    /// Gives a session a new token (at re-authentication), so a token seen before the
    /// password was confirmed again stops working.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn rotate_session_token(
        &self,
        id: &SessionId,
        new_hash: &TokenHash,
        now: UnixTime,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET token_hash = $1, reauth_at = $2 WHERE id = $3")
            .bind(new_hash.as_str())
            .bind(now.0)
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes sessions past their absolute end or idle for longer than `idle_secs`
    /// (housekeeping; lookups check both limits anyway). Returns how many went.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn purge_sessions(&self, now: UnixTime, idle_secs: i64) -> StoreResult<u64> {
        let mut tx = self.write_tx().await?;
        // Apps holding tokens from them hear that they ended (Back-Channel Logout 1.0).
        sqlx::query(super::lifecycle::QUEUE_EXPIRED_LOGOUTS)
            .bind(now.0)
            .bind(now.0 - idle_secs)
            .bind("")
            .execute(&mut *tx)
            .await?;
        let gone = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
            .bind(now.0)
            .bind(now.0 - idle_secs)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(gone)
    }
}
