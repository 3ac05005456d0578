//! The credential lifecycle applied: the one function that ends what an event ends
//! ([`CredentialEvent::ends`] decides), inside the transaction that records the event, on
//! every engine and for every node at once (the credentials live in the database).
//!
//! Grants without `offline_access` also end, here, whenever their session has gone; their
//! tokens are read only while their session lives (`oidc_grants.rs`), so a session that ends
//! by expiry, without any statement, takes them along too.

use sqlx::{Any, Transaction};

use super::StoreResult;
use crate::domain::{AccountId, CredentialEvent, SessionId, UnixTime};

/// An event to apply to an account's credentials.
#[derive(Clone, Copy, Debug)]
pub struct Ending<'a> {
    /// What happened.
    pub event: CredentialEvent,
    /// Whose.
    pub account: &'a AccountId,
    /// The session the event names: the one that ends ([`CredentialEvent::SessionEnded`]),
    /// else the one that made the change and stays.
    pub session: Option<&'a SessionId>,
    /// The app, for [`CredentialEvent::AppDisconnected`].
    pub client_id: Option<&'a str>,
    /// Now.
    pub now: UnixTime,
}

impl<'a> Ending<'a> {
    /// `event` on `account` at `now`, naming `session` (see [`Ending::session`]).
    pub fn new(
        event: CredentialEvent,
        account: &'a AccountId,
        session: Option<&'a SessionId>,
        now: UnixTime,
    ) -> Self {
        Self {
            event,
            account,
            session,
            client_id: None,
            now,
        }
    }
}

/// What `end_credentials` ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ended {
    /// Sessions (browser and API).
    pub sessions: u64,
    /// App grants (each with its codes, access and refresh tokens).
    pub grants: u64,
    /// Consents (an app disconnected).
    pub consents: u64,
}

/// Queues a back-channel logout for every app holding tokens from a session that ended by
/// expiry, before the statement that deletes it: `$1` now and `$2` the idle bound (every
/// expired session: housekeeping), or `$3` one session's id (found expired by a request).
/// The same rows as [`queue_logouts`]: one per app and session, grants whose code was
/// redeemed and that are not revoked.
pub(crate) const QUEUE_EXPIRED_LOGOUTS: &str = "INSERT INTO oidc_logouts \
     (client_id, account_id, session_id, created_at, next_at) \
     SELECT DISTINCT g.client_id, g.account_id, g.session_id, $1, $1 FROM oidc_grants g \
     JOIN oidc_clients c ON c.id = g.client_id JOIN sessions s ON s.id = g.session_id \
     WHERE (s.id = $3 OR ($3 = '' AND (s.expires_at <= $1 OR s.last_seen_at <= $2))) \
     AND g.code_used_at IS NOT NULL AND g.revoked_at IS NULL \
     AND c.backchannel_logout_uri IS NOT NULL";

/// Queues a back-channel logout (OpenID Connect Back-Channel Logout 1.0) for every app that
/// holds tokens from a session that ended now, or whose grant was revoked now: one row per
/// app and session, in the transaction that ended them, so the worker (`auth/oidc/
/// back_channel.rs`) sends each once it commits, and a crash loses none. An app holds tokens
/// from a grant whose code it redeemed and that was live before this event.
async fn queue_logouts(
    tx: &mut Transaction<'static, Any>,
    e: &Ending<'_>,
    gone_sessions: &[String],
    revoked: &[String],
) -> StoreResult<()> {
    if gone_sessions.is_empty() && revoked.is_empty() {
        return Ok(());
    }
    let held: Vec<(String, String, String, Option<i64>)> = sqlx::query_as(
        "SELECT g.id, g.client_id, g.session_id, g.revoked_at FROM oidc_grants g \
         JOIN oidc_clients c ON c.id = g.client_id \
         WHERE g.account_id = $1 AND g.session_id IS NOT NULL AND g.code_used_at IS NOT NULL \
         AND c.backchannel_logout_uri IS NOT NULL",
    )
    .bind(e.account.as_str())
    .fetch_all(&mut **tx)
    .await?;
    let mut queued: Vec<(&str, &str)> = Vec::new();
    for (grant, client, session, revoked_at) in &held {
        let now_revoked = revoked.contains(grant);
        let live_of_gone = revoked_at.is_none() && gone_sessions.contains(session);
        if !(now_revoked || live_of_gone) || queued.contains(&(client.as_str(), session.as_str())) {
            continue;
        }
        queued.push((client, session));
        sqlx::query(
            "INSERT INTO oidc_logouts (client_id, account_id, session_id, created_at, next_at) \
             VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(client)
        .bind(e.account.as_str())
        .bind(session)
        .bind(e.now.0)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Ends what `e.event` ends, in the caller's transaction.
///
/// # Errors
/// On a database failure (the caller's transaction then rolls back).
pub(crate) async fn end_credentials(
    tx: &mut Transaction<'static, Any>,
    e: &Ending<'_>,
) -> StoreResult<Ended> {
    let ends = e.event.ends();
    let account = e.account.as_str();
    let named = e.session.map_or("", SessionId::as_str);
    let mut ended = Ended::default();
    if ends.logins_in_flight {
        for sql in [
            "DELETE FROM challenges WHERE account_id = $1 AND finished_at IS NULL",
            // Passkey registrations and second steps in progress (issue 24).
            "DELETE FROM webauthn_flows WHERE account_id = $1",
        ] {
            sqlx::query(sql).bind(account).execute(&mut **tx).await?;
        }
    }
    if ends.passkeys {
        sqlx::query("DELETE FROM passkeys WHERE account_id = $1")
            .bind(account)
            .execute(&mut **tx)
            .await?;
    }
    let sessions = match (ends.the_session, ends.other_sessions) {
        (true, true) => Some("DELETE FROM sessions WHERE account_id = $1 RETURNING id"),
        (true, false) => {
            Some("DELETE FROM sessions WHERE account_id = $1 AND id = $2 RETURNING id")
        }
        (false, true) => {
            Some("DELETE FROM sessions WHERE account_id = $1 AND id <> $2 RETURNING id")
        }
        (false, false) => None,
    };
    let mut gone_sessions: Vec<String> = Vec::new();
    if let Some(sql) = sessions {
        let mut q = sqlx::query_scalar(sql).bind(account);
        if sql.contains("$2") {
            q = q.bind(named);
        }
        gone_sessions = q.fetch_all(&mut **tx).await?;
        ended.sessions = gone_sessions.len() as u64;
    }
    // Which grants end: all of them at a security event; one app's when it is disconnected;
    // and always those that need a session that is gone (a grant without offline_access, or
    // a code not yet redeemed).
    macro_rules! revoke {
        ($($more:literal),*) => {
            concat!(
                "UPDATE oidc_grants SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL",
                $($more,)*
                " RETURNING id"
            )
        };
    }
    let revoked: Vec<String> = if ends.offline_grants {
        sqlx::query_scalar(revoke!())
            .bind(e.now.0)
            .bind(account)
            .fetch_all(&mut **tx)
            .await?
    } else if ends.one_app {
        sqlx::query_scalar(revoke!(" AND client_id = $3"))
            .bind(e.now.0)
            .bind(account)
            .bind(e.client_id.unwrap_or(""))
            .fetch_all(&mut **tx)
            .await?
    } else {
        sqlx::query_scalar(revoke!(
            " AND (offline = 0 OR code_used_at IS NULL) \
             AND (session_id IS NULL OR session_id NOT IN (SELECT id FROM sessions WHERE account_id = $2))"
        ))
        .bind(e.now.0)
        .bind(account)
        .fetch_all(&mut **tx)
        .await?
    };
    ended.grants = revoked.len() as u64;
    queue_logouts(tx, e, &gone_sessions, &revoked).await?;
    if !revoked.is_empty() {
        sqlx::query(
            "DELETE FROM oidc_tokens WHERE grant_id IN (SELECT id FROM oidc_grants WHERE account_id = $1 AND revoked_at IS NOT NULL)",
        )
        .bind(account)
        .execute(&mut **tx)
        .await?;
    }
    if ends.one_app {
        ended.consents =
            sqlx::query("DELETE FROM oidc_consents WHERE account_id = $1 AND client_id = $2")
                .bind(account)
                .bind(e.client_id.unwrap_or(""))
                .execute(&mut **tx)
                .await?
                .rows_affected();
    }
    Ok(ended)
}
