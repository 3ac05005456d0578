//! The device authorization grant's requests (RFC 8628): made by the device, decided once
//! by the person at `/device` (a conditional update from `pending`, with the approval's grant
//! in the same transaction), and their tokens handed
//! out once to the polling device (a conditional update from `approved`).

use super::{StoreResult, conflict_or};
use crate::domain::UnixTime;

/// A device's request to store.
#[derive(Clone, Debug)]
pub struct NewDeviceRequest<'a> {
    /// SHA-256 of the device code.
    pub id: &'a str,
    /// Keyed hash of the user code.
    pub user_code_mac: &'a str,
    /// The app.
    pub client_id: &'a str,
    /// The scopes it will get (already narrowed to the app's).
    pub scope: &'a str,
    /// Now.
    pub now: UnixTime,
    /// When it dies.
    pub expires_at: UnixTime,
    /// Seconds between polls.
    pub interval_secs: i64,
}

/// A pending request, as the person approving it sees it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DeviceRequestRecord {
    /// SHA-256 of the device code.
    pub id: String,
    /// The app.
    pub client_id: String,
    /// Its name.
    pub client_name: String,
    /// What it asks for.
    pub scope: String,
    /// When it dies.
    pub expires_at: i64,
}

/// What a poll of the token endpoint finds (RFC 8628 §3.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DevicePoll {
    /// No such device code for this client.
    Unknown,
    /// Past its 10 minutes.
    Expired,
    /// Polled sooner than its interval (now 5 seconds longer).
    SlowDown,
    /// Not decided yet.
    Pending,
    /// The person said no.
    Denied,
    /// Approved: the code of its grant, to redeem now (only this poll gets it).
    Approved(String),
    /// Its tokens were handed out already.
    Done,
}

impl super::Devices<'_> {
    /// Stores a device's request.
    ///
    /// # Errors
    /// [`super::StoreError::Conflict`] when the user code is taken (draw another); on a
    /// database failure.
    pub async fn create(&self, r: &NewDeviceRequest<'_>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO oidc_device_requests (id, user_code_mac, client_id, scope, created_at, \
             expires_at, interval_secs, status) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending')",
        )
        .bind(r.id)
        .bind(r.user_code_mac)
        .bind(r.client_id)
        .bind(r.scope)
        .bind(r.now.0)
        .bind(r.expires_at.0)
        .bind(r.interval_secs)
        .execute(&self.pool)
        .await
        .map_err(conflict_or)?;
        Ok(())
    }

    /// The pending, unexpired request with this user code.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn pending(
        &self,
        user_code_mac: &str,
        now: UnixTime,
    ) -> StoreResult<Option<DeviceRequestRecord>> {
        Ok(sqlx::query_as::<_, DeviceRequestRecord>(
            "SELECT d.id, d.client_id, c.name AS client_name, d.scope, d.expires_at \
             FROM oidc_device_requests d JOIN oidc_clients c ON c.id = d.client_id \
             WHERE d.user_code_mac = $1 AND d.status = 'pending' AND d.expires_at > $2",
        )
        .bind(user_code_mac)
        .bind(now.0)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Decides a pending request once: `approved` with `grant` (its code kept for the
    /// device's next poll), or `denied` (`None`). One transaction: the conditional update
    /// from `pending` and the grant are written together or not at all, so of two racing
    /// decisions one wins and the other leaves nothing behind. Returns whether this call
    /// decided it.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn decide(
        &self,
        id: &str,
        grant: Option<&super::NewGrant<'_>>,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        let decided = sqlx::query(
            "UPDATE oidc_device_requests SET status = $2, code_hash = $3 \
             WHERE id = $1 AND status = 'pending' AND expires_at > $4",
        )
        .bind(id)
        .bind(if grant.is_some() {
            "approved"
        } else {
            "denied"
        })
        .bind(grant.map(|g| g.code_hash))
        .bind(now.0)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !decided {
            tx.rollback().await?;
            return Ok(false);
        }
        if let Some(g) = grant {
            super::oidc_grants::insert_grant(&mut *tx, g).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// A poll of the token endpoint by `client_id` for the device code whose SHA-256 is `id`.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn poll(&self, id: &str, client_id: &str, now: UnixTime) -> StoreResult<DevicePoll> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT status, expires_at FROM oidc_device_requests WHERE id = $1 AND client_id = $2",
        )
        .bind(id)
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some((status, expires_at)) = row else {
            return Ok(DevicePoll::Unknown);
        };
        if expires_at <= now.0 {
            return Ok(DevicePoll::Expired);
        }
        // Each poll moves `last_polled_at` only when the interval has passed; one that comes
        // sooner adds 5 seconds to the interval (§3.5).
        let on_time = sqlx::query(
            "UPDATE oidc_device_requests SET last_polled_at = $2 WHERE id = $1 \
             AND (last_polled_at IS NULL OR last_polled_at + interval_secs <= $2)",
        )
        .bind(id)
        .bind(now.0)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1;
        if !on_time {
            sqlx::query(
                "UPDATE oidc_device_requests SET interval_secs = interval_secs + 5, \
                 last_polled_at = $2 WHERE id = $1",
            )
            .bind(id)
            .bind(now.0)
            .execute(&self.pool)
            .await?;
            return Ok(DevicePoll::SlowDown);
        }
        Ok(match status.as_str() {
            "pending" => DevicePoll::Pending,
            "denied" => DevicePoll::Denied,
            "approved" => {
                let code: Option<Option<String>> = sqlx::query_scalar(
                    "UPDATE oidc_device_requests SET status = 'done' \
                     WHERE id = $1 AND status = 'approved' RETURNING code_hash",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                match code.flatten() {
                    Some(c) => DevicePoll::Approved(c),
                    None => DevicePoll::Done,
                }
            }
            _ => DevicePoll::Done,
        })
    }

    /// Deletes requests an hour past their end (housekeeping).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn purge(&self, now: UnixTime) -> StoreResult<u64> {
        Ok(
            sqlx::query("DELETE FROM oidc_device_requests WHERE expires_at < $1")
                .bind(now.0 - 3600)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}
