//! The back-channel logout queue (OpenID Connect Back-Channel Logout 1.0): rows written by
//! `end_credentials` (`lifecycle.rs`) in the transaction that ended a session an app holds
//! tokens from, claimed by one worker at a time (a conditional update, so several nodes never
//! send one twice) and retried with back-off until the app took it.

use super::StoreResult;
use crate::domain::UnixTime;

/// A claimed logout: which app to tell that which session of whose ended.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct LogoutRecord {
    /// The queue row.
    pub id: i64,
    /// The app.
    pub client_id: String,
    /// Where it takes logout tokens.
    pub uri: String,
    /// Whose session (the token's `sub`).
    pub account_id: String,
    /// The session that ended (the token's `sid`).
    pub session_id: String,
    /// When it was queued.
    pub created_at: i64,
    /// Deliveries tried before this one.
    pub attempts: i64,
}

impl super::Logouts<'_> {
    /// Claims the oldest due logout for `lease_secs`; a worker that dies lets it go when the
    /// lease ends.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn claim(&self, now: UnixTime, lease_secs: i64) -> StoreResult<Option<LogoutRecord>> {
        for _ in 0..5 {
            let candidate: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM oidc_logouts WHERE done_at IS NULL AND next_at <= $1 \
                 AND claimed_until < $1 ORDER BY next_at, id LIMIT 1",
            )
            .bind(now.0)
            .fetch_optional(&self.pool)
            .await?;
            let Some(id) = candidate else {
                return Ok(None);
            };
            let taken = sqlx::query(
                "UPDATE oidc_logouts SET claimed_until = $2, attempts = attempts + 1 \
                 WHERE id = $1 AND done_at IS NULL AND claimed_until < $3",
            )
            .bind(id)
            .bind(now.0 + lease_secs)
            .bind(now.0)
            .execute(&self.pool)
            .await?
            .rows_affected();
            if taken == 1 {
                // A client removed meanwhile took its rows with it (ON DELETE CASCADE); one
                // whose URI was taken away has nowhere to send: done.
                let row = sqlx::query_as::<_, LogoutRecord>(
                    "SELECT l.id, l.client_id, c.backchannel_logout_uri AS uri, l.account_id, \
                     l.session_id, l.created_at, l.attempts - 1 AS attempts \
                     FROM oidc_logouts l JOIN oidc_clients c ON c.id = l.client_id \
                     WHERE l.id = $1 AND c.backchannel_logout_uri IS NOT NULL",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                match row {
                    Some(r) => return Ok(Some(r)),
                    None => {
                        self.finish(id, now, None, "nowhere to send").await?;
                        continue;
                    }
                }
            }
            // Another worker took it first: look again.
        }
        Ok(None)
    }

    /// Records a delivery: done (`retry_at` `None`) or due again at `retry_at`.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn finish(
        &self,
        id: i64,
        now: UnixTime,
        retry_at: Option<UnixTime>,
        outcome: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE oidc_logouts SET claimed_until = 0, done_at = $2, next_at = $3, outcome = $4 \
             WHERE id = $1",
        )
        .bind(id)
        .bind(retry_at.is_none().then_some(now.0))
        .bind(retry_at.unwrap_or(now).0)
        .bind(outcome)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Deletes logouts delivered or given up before `before` (housekeeping).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn purge(&self, before: UnixTime) -> StoreResult<u64> {
        Ok(
            sqlx::query("DELETE FROM oidc_logouts WHERE done_at IS NOT NULL AND done_at < $1")
                .bind(before.0)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}
