//! The notice queue: security notices written in the same transaction as the change they
//! tell of, claimed by one worker at a time (a conditional update, so several nodes never
//! send one twice) and retried with back-off until every channel took it.

use sqlx::{Any, Transaction};

use super::StoreResult;
use crate::domain::{AccountId, UnixTime};

/// A claimed notice, with the event it tells of.
#[derive(Clone, Debug)]
pub struct NoticeRecord {
    /// The event's id (the notice's key).
    pub event_id: i64,
    /// Whose.
    pub account_id: AccountId,
    /// The account's username.
    pub username: String,
    /// The event kind's API name.
    pub kind: String,
    /// When it happened.
    pub at: UnixTime,
    /// From where.
    pub ip: Option<String>,
    /// With what.
    pub user_agent: Option<String>,
    /// A few words more (never a secret).
    pub detail: Option<String>,
    /// The phone to text (E.164), as it was at the change.
    pub phone: Option<String>,
    /// The address to email, as it was at the change.
    pub email: Option<String>,
    /// An address that was replaced or removed, told too.
    pub old_email: Option<String>,
    /// The text went out (or was coalesced).
    pub sms_done: bool,
    /// The email went out (or was coalesced).
    pub email_done: bool,
    /// Deliveries tried before this one.
    pub attempts: i64,
}

#[derive(sqlx::FromRow)]
struct NoticeRow {
    event_id: i64,
    account_id: String,
    username: String,
    kind: String,
    at: i64,
    ip: Option<String>,
    user_agent: Option<String>,
    detail: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    old_email: Option<String>,
    sms_done: i64,
    email_done: i64,
    attempts: i64,
}

impl From<NoticeRow> for NoticeRecord {
    fn from(r: NoticeRow) -> Self {
        Self {
            event_id: r.event_id,
            account_id: AccountId::from_stored(&r.account_id),
            username: r.username,
            kind: r.kind,
            at: UnixTime(r.at),
            ip: r.ip,
            user_agent: r.user_agent,
            detail: r.detail,
            phone: r.phone,
            email: r.email,
            old_email: r.old_email,
            sms_done: r.sms_done != 0,
            email_done: r.email_done != 0,
            attempts: r.attempts,
        }
    }
}

/// What became of one delivery.
#[derive(Clone, Copy, Debug)]
pub struct NoticeOutcome {
    /// The text went out (or needs none).
    pub sms_done: bool,
    /// The email went out (or needs none).
    pub email_done: bool,
    /// Every channel is done, or it is given up: no more tries.
    pub finished: bool,
    /// When to try again otherwise.
    pub retry_at: UnixTime,
}

/// Queues the notice of event `event_id`, to the account's verified phone and email as they
/// are now, inside the change's transaction. Returns whether it waits for delivery.
pub(crate) async fn enqueue(
    tx: &mut Transaction<'static, Any>,
    event_id: i64,
    account: &AccountId,
    at: UnixTime,
) -> StoreResult<bool> {
    // An account with no phone and no address (an authenticator app only) has nowhere to be
    // told: the notice is done as it is queued, so the change that made it does not wait for
    // a delivery round (claim, look-up, record: two more commits) that sends nothing.
    let waiting: i64 = sqlx::query_scalar(
        "INSERT INTO notices (event_id, account_id, phone, email, next_at, done_at, outcome) \
         SELECT $1, $2, d.phone, d.email, $3, \
         CASE WHEN d.phone IS NULL AND d.email IS NULL THEN $3 END, \
         CASE WHEN d.phone IS NULL AND d.email IS NULL THEN 'nowhere to send' END \
         FROM (SELECT (SELECT phone FROM sms_phones WHERE account_id = $2) AS phone, \
         (SELECT email FROM accounts WHERE id = $2 AND email_verified_at IS NOT NULL) AS email) d \
         RETURNING CASE WHEN done_at IS NULL THEN 1 ELSE 0 END",
    )
    .bind(event_id)
    .bind(account.as_str())
    .bind(at.0)
    .fetch_one(&mut **tx)
    .await?;
    Ok(waiting == 1)
}

/// Adds a destination that the change itself took away (the removed phone, the replaced
/// address), so it is told too.
pub(crate) async fn also_tell(
    tx: &mut Transaction<'static, Any>,
    event_id: i64,
    phone: Option<&str>,
    old_email: Option<&str>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE notices SET phone = COALESCE($2, phone), old_email = COALESCE($3, old_email), \
         done_at = CASE WHEN COALESCE($2, $3) IS NULL THEN done_at END, \
         outcome = CASE WHEN COALESCE($2, $3) IS NULL THEN outcome END \
         WHERE event_id = $1",
    )
    .bind(event_id)
    .bind(phone)
    .bind(old_email)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl super::Notices<'_> {
    /// Claims the oldest due notice (of one account, or any) for `lease_secs`: a conditional
    /// update, so a notice is held by one worker at a time even with several nodes; a
    /// worker that dies lets it go when the lease ends.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn claim_notice(
        &self,
        now: UnixTime,
        account: Option<&AccountId>,
        lease_secs: i64,
    ) -> StoreResult<Option<NoticeRecord>> {
        for _ in 0..5 {
            let candidate: Option<(i64,)> = match account {
                Some(a) => {
                    sqlx::query_as(
                        "SELECT event_id FROM notices WHERE done_at IS NULL AND next_at <= $1 \
                         AND claimed_until < $1 AND account_id = $2 \
                         ORDER BY next_at, event_id LIMIT 1",
                    )
                    .bind(now.0)
                    .bind(a.as_str())
                    .fetch_optional(&self.pool)
                    .await?
                }
                None => {
                    sqlx::query_as(
                        "SELECT event_id FROM notices WHERE done_at IS NULL AND next_at <= $1 \
                         AND claimed_until < $1 ORDER BY next_at, event_id LIMIT 1",
                    )
                    .bind(now.0)
                    .fetch_optional(&self.pool)
                    .await?
                }
            };
            let Some((id,)) = candidate else {
                return Ok(None);
            };
            let taken = sqlx::query(
                "UPDATE notices SET claimed_until = $2, attempts = attempts + 1 \
                 WHERE event_id = $1 AND done_at IS NULL AND claimed_until < $3",
            )
            .bind(id)
            .bind(now.0 + lease_secs)
            .bind(now.0)
            .execute(&self.pool)
            .await?
            .rows_affected();
            if taken == 1 {
                let row = sqlx::query_as::<_, NoticeRow>(
                    "SELECT n.event_id, n.account_id, a.username, e.kind, e.at, e.ip, e.user_agent, \
                     e.detail, n.phone, n.email, n.old_email, n.sms_done, n.email_done, \
                     n.attempts - 1 AS attempts \
                     FROM notices n JOIN events e ON e.id = n.event_id \
                     JOIN accounts a ON a.id = n.account_id WHERE n.event_id = $1",
                )
                .bind(id)
                .fetch_one(&self.pool)
                .await?;
                return Ok(Some(row.into()));
            }
            // Another worker took it first: look again.
        }
        Ok(None)
    }

    /// Records a delivery: channels done, and either finished or due again at `retry_at`.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn finish_notice(
        &self,
        event_id: i64,
        outcome: NoticeOutcome,
        now: UnixTime,
        note: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE notices SET sms_done = $2, email_done = $3, claimed_until = 0, \
             done_at = $4, next_at = $5, outcome = $6 WHERE event_id = $1",
        )
        .bind(event_id)
        .bind(i64::from(outcome.sms_done))
        .bind(i64::from(outcome.email_done))
        .bind(outcome.finished.then_some(now.0))
        .bind(outcome.retry_at.0)
        .bind(note)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// How many notices wait to go out (for the metrics).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn pending_notices(&self) -> StoreResult<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM notices WHERE done_at IS NULL")
            .fetch_one(&self.pool)
            .await?;
        Ok(n)
    }
}
