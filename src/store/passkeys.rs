//! Passkeys and security keys (WebAuthn, issue 24): the registered credentials and the
//! flows in progress.
//!
//! A credential is added in the transaction that records it, turns 2FA on with the first
//! backup codes when it was off, and keeps the account at its most (`INSERT … SELECT …
//! WHERE (SELECT COUNT(*) …) < max`); a unique index keeps a credential on one account. A
//! flow's state (the challenge webauthn-rs-core must get back) is read or taken by the
//! statement that uses it; an assertion is used up in the second step's transaction
//! (`second_step.rs`, `Proof::Passkey`), where the signature counter is raised.

use super::backup_codes::NewBatch;
use super::two_factor::{after_removal, enable_if_off};
use super::{NewEvent, StoreError, StoreResult, conflict_or};
use crate::domain::{AccountId, ClientInfo, EventKind, PasskeyId, SessionId, UnixTime};

/// A registered passkey or security key.
#[derive(Clone, Debug)]
pub struct PasskeyRecord {
    /// Its id.
    pub id: PasskeyId,
    /// Whose.
    pub account_id: AccountId,
    /// The name its owner gave it.
    pub name: String,
    /// The credential as webauthn-rs-core serialised it (JSON).
    pub credential: String,
    /// The signature counter last accepted.
    pub counter: i64,
    /// When it was added.
    pub created_at: UnixTime,
    /// When it last logged in.
    pub last_used_at: Option<UnixTime>,
}

#[derive(sqlx::FromRow)]
struct PasskeyRow {
    id: String,
    account_id: String,
    name: String,
    credential: String,
    counter: i64,
    created_at: i64,
    last_used_at: Option<i64>,
}

impl From<PasskeyRow> for PasskeyRecord {
    fn from(r: PasskeyRow) -> Self {
        Self {
            id: PasskeyId::from_stored(r.id),
            account_id: AccountId::from_stored(r.account_id),
            name: r.name,
            credential: r.credential,
            counter: r.counter,
            created_at: UnixTime(r.created_at),
            last_used_at: r.last_used_at.map(UnixTime),
        }
    }
}

/// `SELECT` the columns of [`PasskeyRow`] from `passkeys`, then the rest of the statement.
macro_rules! select_passkeys {
    ($rest:literal) => {
        concat!(
            "SELECT id, account_id, name, credential, counter, created_at, last_used_at FROM passkeys ",
            $rest
        )
    };
}

/// A passkey to add, with what its addition does.
#[derive(Clone, Copy, Debug)]
pub struct NewPasskey<'a> {
    /// Its new id.
    pub id: &'a PasskeyId,
    /// Whose.
    pub account: &'a AccountId,
    /// Its name.
    pub name: &'a str,
    /// The credential id, base64url (unique).
    pub credential_id: &'a str,
    /// The credential, serialised.
    pub credential: &'a str,
    /// The authenticator's AAGUID (all zeros when it gave none).
    pub aaguid: &'a str,
    /// Whether the authenticator verified the user at registration.
    pub user_verified: bool,
    /// Now.
    pub now: UnixTime,
    /// From where.
    pub client: &'a ClientInfo,
    /// The first backup codes, if this turns 2FA on.
    pub first_batch: &'a NewBatch,
    /// Passkeys an account may have.
    pub max: i64,
}

/// How adding a passkey went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasskeyAdded {
    /// Added; `enabled_now` when it turned 2FA on.
    Added {
        /// 2FA was off and is on now.
        enabled_now: bool,
    },
    /// The account has its most already.
    TooMany,
    /// This credential is registered already (here or on another account).
    Duplicate,
}

/// What a flow is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowKind {
    /// Adding a passkey.
    Register,
    /// Logging in with a passkey alone.
    Passwordless,
    /// A passkey at the second step of a login (keyed by the challenge's id).
    SecondStep,
}

impl FlowKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Passwordless => "passwordless",
            Self::SecondStep => "second_step",
        }
    }
}

/// A flow to store.
#[derive(Clone, Copy, Debug)]
pub struct NewFlow<'a> {
    /// The SHA-256 of its token, or the challenge's id.
    pub id: &'a str,
    /// What it is for.
    pub kind: FlowKind,
    /// Whose, when known.
    pub account: Option<&'a AccountId>,
    /// The session that started it (a registration).
    pub session: Option<&'a SessionId>,
    /// webauthn-rs-core's state, serialised.
    pub state: &'a str,
    /// When it dies.
    pub expires_at: UnixTime,
}

/// A stored flow.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct FlowRecord {
    /// Whose, when known.
    pub account_id: Option<String>,
    /// The session that started it.
    pub session_id: Option<String>,
    /// webauthn-rs-core's state, serialised.
    pub state: String,
}

impl super::Passkeys<'_> {
    /// The account's passkeys, oldest first.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list(&self, account: &AccountId) -> StoreResult<Vec<PasskeyRecord>> {
        let rows: Vec<PasskeyRow> = sqlx::query_as(select_passkeys!(
            "WHERE account_id = $1 ORDER BY created_at, id"
        ))
        .bind(account.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(PasskeyRecord::from).collect())
    }

    /// How many passkeys the account has.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn count(&self, account: &AccountId) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM passkeys WHERE account_id = $1")
                .bind(account.as_str())
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// The passkey with this credential id (base64url), whoever's it is.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn by_credential_id(
        &self,
        credential_id: &str,
    ) -> StoreResult<Option<PasskeyRecord>> {
        let row: Option<PasskeyRow> = sqlx::query_as(select_passkeys!("WHERE credential_id = $1"))
            .bind(credential_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(PasskeyRecord::from))
    }

    /// Adds a passkey (see [`PasskeyAdded`]): the event (and its notice), and 2FA turned on
    /// with its first backup codes when it was off, all in one transaction.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn add(&self, p: &NewPasskey<'_>) -> StoreResult<PasskeyAdded> {
        let mut tx = self.account_tx(p.account).await?;
        let inserted = sqlx::query(
            "INSERT INTO passkeys (id, account_id, name, credential_id, credential, counter, aaguid, user_verified, created_at) \
             SELECT $1, $2, $3, $4, $5, 0, $6, $7, $8 \
             WHERE (SELECT COUNT(*) FROM passkeys WHERE account_id = $2) < $9",
        )
        .bind(p.id.as_str())
        .bind(p.account.as_str())
        .bind(p.name)
        .bind(p.credential_id)
        .bind(p.credential)
        .bind(p.aaguid)
        .bind(i64::from(p.user_verified))
        .bind(p.now.0)
        .bind(p.max)
        .execute(&mut *tx)
        .await;
        let inserted = match inserted.map_err(conflict_or) {
            Ok(r) => r.rows_affected(),
            Err(StoreError::Conflict) => {
                tx.rollback().await?;
                return Ok(PasskeyAdded::Duplicate);
            }
            Err(e) => return Err(e),
        };
        if inserted != 1 {
            tx.rollback().await?;
            return Ok(PasskeyAdded::TooMany);
        }
        NewEvent {
            account_id: p.account,
            kind: EventKind::PasskeyAdded,
            at: p.now,
            client: p.client,
            detail: Some(p.name),
        }
        .insert(&mut tx)
        .await?;
        let enabled_now = enable_if_off(&mut tx, p.account, p.now, p.first_batch, p.client).await?;
        tx.commit().await?;
        Ok(PasskeyAdded::Added { enabled_now })
    }

    /// Removes one of the account's passkeys: the event and its notice, every other session
    /// ends (`CredentialEvent::MethodRemoved`), and 2FA goes off when it was the last
    /// method. `None` when there is no such passkey; else whether 2FA went off.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn remove(
        &self,
        account: &AccountId,
        id: &PasskeyId,
        now: UnixTime,
        client: &ClientInfo,
        keep: &SessionId,
    ) -> StoreResult<Option<bool>> {
        let mut tx = self.account_tx(account).await?;
        let name: Option<String> = sqlx::query_scalar(
            "DELETE FROM passkeys WHERE id = $1 AND account_id = $2 RETURNING name",
        )
        .bind(id.as_str())
        .bind(account.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(name) = name else {
            tx.rollback().await?;
            return Ok(None);
        };
        NewEvent {
            account_id: account,
            kind: EventKind::PasskeyRemoved,
            at: now,
            client,
            detail: Some(&name),
        }
        .insert(&mut tx)
        .await?;
        let disabled = after_removal(&mut tx, account, now, client, keep, None).await?;
        tx.commit().await?;
        Ok(Some(disabled))
    }

    /// Stores a flow; a second step's replaces the challenge's earlier one.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn put_flow(&self, f: &NewFlow<'_>) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM webauthn_flows WHERE id = $1")
            .bind(f.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO webauthn_flows (id, kind, account_id, session_id, state, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(f.id)
        .bind(f.kind.as_str())
        .bind(f.account.map(AccountId::as_str))
        .bind(f.session.map(SessionId::as_str))
        .bind(f.state)
        .bind(f.expires_at.0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A live flow of this kind, left in place (the transaction that uses the assertion
    /// takes it).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn flow(
        &self,
        id: &str,
        kind: FlowKind,
        now: UnixTime,
    ) -> StoreResult<Option<FlowRecord>> {
        Ok(sqlx::query_as(
            "SELECT account_id, session_id, state FROM webauthn_flows WHERE id = $1 AND kind = $2 AND expires_at > $3",
        )
        .bind(id)
        .bind(kind.as_str())
        .bind(now.0)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Takes a live flow of this kind: one conditional `DELETE … RETURNING`, so it is used
    /// once however many nodes race for it.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn take_flow(
        &self,
        id: &str,
        kind: FlowKind,
        now: UnixTime,
    ) -> StoreResult<Option<FlowRecord>> {
        let mut tx = self.write_tx().await?;
        let flow: Option<FlowRecord> = sqlx::query_as(
            "DELETE FROM webauthn_flows WHERE id = $1 AND kind = $2 AND expires_at > $3 RETURNING account_id, session_id, state",
        )
        .bind(id)
        .bind(kind.as_str())
        .bind(now.0)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(flow)
    }

    /// Deletes flows that ran out (housekeeping).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn purge_flows(&self, now: UnixTime) -> StoreResult<u64> {
        Ok(
            sqlx::query("DELETE FROM webauthn_flows WHERE expires_at <= $1")
                .bind(now.0)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}
