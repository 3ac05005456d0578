//! Login activity: every login, failure, logout and change, kept per account.

use sqlx::{Any, Transaction};

use super::StoreResult;
use crate::domain::{AccountId, ClientInfo, EventKind, UnixTime};

/// An event to record.
#[derive(Clone, Copy, Debug)]
pub struct NewEvent<'a> {
    /// Whose account.
    pub account_id: &'a AccountId,
    /// What happened.
    pub kind: EventKind,
    /// When.
    pub at: UnixTime,
    /// From where.
    pub client: &'a ClientInfo,
    /// A few words more (never a secret).
    pub detail: Option<&'a str>,
}

/// An event as stored.
#[derive(Clone, Debug)]
pub struct EventRecord {
    /// The kind's API name.
    pub kind: String,
    /// When.
    pub at: UnixTime,
    /// The client's IP address.
    pub ip: Option<String>,
    /// The client's user agent.
    pub user_agent: Option<String>,
    /// A few words more.
    pub detail: Option<String>,
}

impl NewEvent<'_> {
    /// Inserts the event inside a caller's transaction, and, for a change the owner must be
    /// told of, its security notice (`notices.rs`): both commit or neither. Returns the
    /// event's id.
    pub(crate) async fn insert(&self, tx: &mut Transaction<'static, Any>) -> StoreResult<i64> {
        Ok(self.record(tx).await?.0)
    }

    /// [`NewEvent::insert`], also saying whether a notice of it waits for delivery (one with
    /// nowhere to go is done as it is queued).
    pub(crate) async fn record(
        &self,
        tx: &mut Transaction<'static, Any>,
    ) -> StoreResult<(i64, bool)> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO events (account_id, kind, at, ip, user_agent, detail) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(self.account_id.as_str())
        .bind(self.kind.as_str())
        .bind(self.at.0)
        .bind(self.client.ip.as_deref())
        .bind(self.client.user_agent.as_deref())
        .bind(self.detail)
        .fetch_one(&mut **tx)
        .await?;
        let waiting = match self.kind.notice() {
            Some(_) => super::notices::enqueue(tx, id, self.account_id, self.at).await?,
            None => false,
        };
        Ok((id, waiting))
    }
}

/// An `events` row as the database returns it.
#[derive(sqlx::FromRow)]
struct EventRow {
    kind: String,
    at: i64,
    ip: Option<String>,
    user_agent: Option<String>,
    detail: Option<String>,
}

impl From<EventRow> for EventRecord {
    fn from(r: EventRow) -> Self {
        Self {
            kind: r.kind,
            at: UnixTime(r.at),
            ip: r.ip,
            user_agent: r.user_agent,
            detail: r.detail,
        }
    }
}

impl super::Events<'_> {
    /// Deletes activity recorded before `before` (and the notices of it, long delivered),
    /// for the retention rule. Returns how many events went.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn purge_events(&self, before: UnixTime) -> StoreResult<u64> {
        Ok(sqlx::query("DELETE FROM events WHERE at < $1")
            .bind(before.0)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// Records one event on its own.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn add_event(&self, event: &NewEvent<'_>) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        event.insert(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The newest `limit` events of an account, newest first.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list_events(
        &self,
        account: &AccountId,
        limit: i64,
    ) -> StoreResult<Vec<EventRecord>> {
        Ok(sqlx::query_as::<_, EventRow>(
            "SELECT kind, at, ip, user_agent, detail FROM events WHERE account_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(account.as_str())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(EventRecord::from)
        .collect())
    }
}
