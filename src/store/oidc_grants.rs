//! OpenID Connect grants: one row per authorization, with its code (used at most once, by
//! one conditional `UPDATE`), and the access and refresh tokens issued from it. A reused code
//! or refresh token revokes the whole grant in the same transaction that notices it (OAuth
//! 2.0 Security BCP §4.5, §4.14), on every node at once.

use sqlx::{Any, Transaction};

use super::StoreResult;
use crate::domain::{AccountId, SessionId, UnixTime};

/// A grant's login session is alive: not ended, not expired, not idle (the parameters
/// for now and for the idle bound). Everything that descends from a session is read
/// through this.
macro_rules! session_alive {
    ($now:literal, $idle:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM sessions s WHERE s.id = g.session_id AND s.expires_at > ",
            $now,
            " AND s.last_seen_at > ",
            $idle,
            ")"
        )
    };
}

/// An authorization to store: the code's hash and what its tokens will say.
#[derive(Clone, Debug)]
pub struct NewGrant<'a> {
    /// The grant's id.
    pub id: &'a str,
    /// SHA-256 of the code.
    pub code_hash: &'a str,
    /// For which client.
    pub client_id: &'a str,
    /// Whose.
    pub account_id: &'a AccountId,
    /// The redirect URI the code was sent to (the token request must name it again).
    pub redirect_uri: &'a str,
    /// Granted scopes, space-separated.
    pub scope: &'a str,
    /// The client's nonce.
    pub nonce: Option<&'a str>,
    /// The PKCE S256 challenge.
    pub code_challenge: Option<&'a str>,
    /// When the user authenticated.
    pub auth_time: UnixTime,
    /// The first factor of that login (`pwd`, or `hwk` for a passkey and no password).
    pub first_factor: &'a str,
    /// The second factor of that login.
    pub second_factor: Option<&'a str>,
    /// The authentication context class to tell the app, when it asked for one.
    pub acr: Option<&'a str>,
    /// The login session it descends from (the ID token's `sid`).
    pub session_id: &'a SessionId,
    /// Granted with `offline_access`: its tokens outlive the session (not its security
    /// events).
    pub offline: bool,
    /// The absolute end of its refresh tokens (from the login; rotation never moves it).
    pub refresh_until: UnixTime,
    /// Now.
    pub now: UnixTime,
    /// When the code dies.
    pub code_expires_at: UnixTime,
}

/// When a session counts as alive for the tokens that descend from it: now, and the last
/// use before which it is idle.
#[derive(Clone, Copy, Debug)]
pub struct SessionClock {
    /// Now.
    pub now: UnixTime,
    /// A session last seen at or before this has ended (idle).
    pub idle_before: UnixTime,
}

/// A grant as tokens read it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct GrantRecord {
    /// Its id.
    pub id: String,
    /// The client.
    pub client_id: String,
    /// Whose.
    pub account_id: String,
    /// The account's username.
    pub username: String,
    /// Granted scopes.
    pub scope: String,
    /// The client's nonce.
    pub nonce: Option<String>,
    /// When the user authenticated.
    pub auth_time: i64,
    /// The first factor of that login (`pwd`, `hwk`).
    pub first_factor: String,
    /// The second factor of that login.
    pub second_factor: Option<String>,
    /// The login session it descends from (`None` for a grant made before v3).
    pub session_id: Option<String>,
    /// The absolute end of its refresh tokens.
    pub refresh_until: Option<i64>,
    /// The authentication context class to tell the app, when it asked for one.
    pub acr: Option<String>,
}

/// A token to store.
#[derive(Clone, Copy, Debug)]
pub struct NewToken<'a> {
    /// SHA-256 of the token.
    pub hash: &'a str,
    /// `access` or `refresh`.
    pub kind: &'static str,
    /// Its scopes.
    pub scope: &'a str,
    /// When it dies.
    pub expires_at: UnixTime,
}

/// What a code's redemption must match.
#[derive(Clone, Copy, Debug)]
pub struct Redemption<'a> {
    /// SHA-256 of the code.
    pub code_hash: &'a str,
    /// The authenticated client.
    pub client_id: &'a str,
    /// The redirect URI named again.
    pub redirect_uri: &'a str,
    /// S256 of the PKCE verifier sent, if one was.
    pub verifier_challenge: Option<&'a str>,
    /// Now, and when the login session it descends from counts as idle.
    pub clock: SessionClock,
}

/// How a code or refresh token redemption went.
#[derive(Debug)]
pub enum Redeemed {
    /// Used up now: issue the grant's tokens with [`GrantTx::issue`] (dropped, it rolls back
    /// and the code or refresh token stays unused).
    Issued(Box<GrantTx>),
    /// Used before: the whole grant is now revoked.
    Reused,
    /// Unknown, expired, revoked, or not this client's / redirect URI's / verifier's.
    Invalid,
}

/// A live token, as userinfo and introspection see it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TokenRecord {
    /// `access` or `refresh`.
    pub kind: String,
    /// Its scopes.
    pub scope: String,
    /// When it was issued.
    pub created_at: i64,
    /// When it dies.
    pub expires_at: i64,
    /// The grant's client.
    pub client_id: String,
    /// Whose.
    pub account_id: String,
    /// The account's username.
    pub username: String,
    /// When the user authenticated.
    pub auth_time: i64,
    /// The first factor of that login (`pwd`, `hwk`).
    pub first_factor: String,
    /// The second factor of that login.
    pub second_factor: Option<String>,
}

/// The grant columns joined with the username.
macro_rules! grant_columns {
    () => {
        "g.id, g.client_id, g.account_id, a.username, g.scope, g.nonce, g.auth_time, g.first_factor, g.second_factor, g.session_id, g.refresh_until, g.acr"
    };
}

/// A code or refresh token just used up, in the transaction that used it: the tokens it
/// gives are inserted, and everything committed, by [`GrantTx::issue`].
pub struct GrantTx {
    tx: Transaction<'static, Any>,
    grant: GrantRecord,
}

impl std::fmt::Debug for GrantTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrantTx")
            .field("grant", &self.grant.id)
            .finish_non_exhaustive()
    }
}

impl GrantTx {
    /// The grant the tokens belong to.
    pub fn grant(&self) -> &GrantRecord {
        &self.grant
    }

    /// Inserts the tokens and commits: the code or refresh token is used and they exist,
    /// together or not at all.
    ///
    /// # Errors
    /// On a database failure (then nothing happened).
    pub async fn issue(
        mut self: Box<Self>,
        now: UnixTime,
        tokens: &[NewToken<'_>],
    ) -> StoreResult<()> {
        insert_tokens(&mut self.tx, &self.grant.id, now, tokens).await?;
        self.tx.commit().await?;
        Ok(())
    }
}

async fn insert_tokens(
    tx: &mut Transaction<'static, Any>,
    grant: &str,
    now: UnixTime,
    tokens: &[NewToken<'_>],
) -> StoreResult<()> {
    for t in tokens {
        sqlx::query(
            "INSERT INTO oidc_tokens (token_hash, grant_id, kind, scope, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(t.hash)
        .bind(grant)
        .bind(t.kind)
        .bind(t.scope)
        .bind(now.0)
        .bind(t.expires_at.0)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn revoke_grant(
    tx: &mut Transaction<'static, Any>,
    grant: &str,
    now: UnixTime,
) -> StoreResult<()> {
    sqlx::query("UPDATE oidc_grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now.0)
        .bind(grant)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM oidc_tokens WHERE grant_id = $1")
        .bind(grant)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Inserts a grant with its code, on the pool or in the caller's transaction.
pub(super) async fn insert_grant<'e, E>(e: E, g: &NewGrant<'_>) -> StoreResult<()>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    sqlx::query(
        "INSERT INTO oidc_grants (id, code_hash, client_id, account_id, redirect_uri, scope, nonce, code_challenge, auth_time, second_factor, created_at, code_expires_at, session_id, offline, refresh_until, first_factor, acr) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(g.id)
    .bind(g.code_hash)
    .bind(g.client_id)
    .bind(g.account_id.as_str())
    .bind(g.redirect_uri)
    .bind(g.scope)
    .bind(g.nonce)
    .bind(g.code_challenge)
    .bind(g.auth_time.0)
    .bind(g.second_factor)
    .bind(g.now.0)
    .bind(g.code_expires_at.0)
    .bind(g.session_id.as_str())
    .bind(i64::from(g.offline))
    .bind(g.refresh_until.0)
    .bind(g.first_factor)
    .bind(g.acr)
    .execute(e)
    .await?;
    Ok(())
}

impl super::Grants<'_> {
    /// Stores an authorization and its code.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn create_grant(&self, g: &NewGrant<'_>) -> StoreResult<()> {
        insert_grant(&self.pool, g).await
    }

    /// Redeems a code, once: one conditional `UPDATE` marks it used only when it is unused,
    /// unexpired, this client's, for this redirect URI and (with PKCE) this verifier's — and
    /// the tokens are inserted in the same transaction. A code that was used before revokes
    /// its grant (every token issued from it) and answers [`Redeemed::Reused`].
    ///
    /// # Errors
    /// On a database failure (then nothing changed).
    pub async fn redeem_code(&self, r: &Redemption<'_>) -> StoreResult<Redeemed> {
        let mut tx = self.write_tx().await?;
        // A code descends from the login session that authorized it: once that session
        // has ended (logout, expiry, a security event), the code is worth nothing.
        let used: Option<String> = sqlx::query_scalar(concat!(
            "UPDATE oidc_grants SET code_used_at = $1 WHERE id = (SELECT g.id FROM oidc_grants g \
             WHERE g.code_hash = $2 AND g.code_used_at IS NULL AND g.revoked_at IS NULL \
             AND g.code_expires_at > $1 AND g.client_id = $3 AND g.redirect_uri = $4 \
             AND ((g.code_challenge IS NULL AND $5 = '') OR g.code_challenge = $5) AND ",
            session_alive!("$1", "$6"),
            ") AND code_used_at IS NULL RETURNING id"
        ))
        .bind(r.clock.now.0)
        .bind(r.code_hash)
        .bind(r.client_id)
        .bind(r.redirect_uri)
        .bind(r.verifier_challenge.unwrap_or(""))
        .bind(r.clock.idle_before.0)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(grant) = used else {
            // Only this client's code counts as used again (RFC 6749 §4.1.2, §10.5): another
            // client presenting it learns nothing and changes nothing, so it cannot revoke
            // the rightful client's tokens nor spoil its code.
            let before: Option<(String, Option<i64>)> = sqlx::query_as(
                "SELECT id, code_used_at FROM oidc_grants WHERE code_hash = $1 AND client_id = $2",
            )
            .bind(r.code_hash)
            .bind(r.client_id)
            .fetch_optional(&mut *tx)
            .await?;
            return reused_or_invalid(tx, before, r.clock.now).await;
        };
        issued(tx, &grant).await
    }

    /// Uses a refresh token, once, and issues `tokens` in its place (rotation). A refresh
    /// token used before revokes its grant: the thief's and the owner's tokens stop alike.
    ///
    /// # Errors
    /// On a database failure (then nothing changed).
    pub async fn refresh(
        &self,
        token_hash: &str,
        client_id: &str,
        now: UnixTime,
    ) -> StoreResult<Redeemed> {
        let mut tx = self.write_tx().await?;
        // The grant's absolute end (`refresh_until`, from the login) bounds every refresh.
        let used: Option<String> = sqlx::query_scalar(
            "UPDATE oidc_tokens SET used_at = $1 WHERE token_hash = $2 AND kind = 'refresh' AND used_at IS NULL \
             AND expires_at > $1 AND grant_id IN (SELECT id FROM oidc_grants WHERE client_id = $3 AND revoked_at IS NULL \
             AND offline = 1 AND (refresh_until IS NULL OR refresh_until > $1)) \
             RETURNING grant_id",
        )
        .bind(now.0)
        .bind(token_hash)
        .bind(client_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(grant) = used else {
            let before: Option<(String, Option<i64>)> = sqlx::query_as(
                "SELECT t.grant_id, t.used_at FROM oidc_tokens t JOIN oidc_grants g ON g.id = t.grant_id \
                 WHERE t.token_hash = $1 AND t.kind = 'refresh' AND g.client_id = $2",
            )
            .bind(token_hash)
            .bind(client_id)
            .fetch_optional(&mut *tx)
            .await?;
            return reused_or_invalid(tx, before, now).await;
        };
        issued(tx, &grant).await
    }

    /// A token that works now: unexpired, an unused refresh token or an access token, of a
    /// grant not revoked, of an enabled account — and, without `offline_access`, while the
    /// login session it descends from lives.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn live_token(
        &self,
        token_hash: &str,
        clock: SessionClock,
    ) -> StoreResult<Option<TokenRecord>> {
        Ok(sqlx::query_as::<_, TokenRecord>(concat!(
            "SELECT t.kind, t.scope, t.created_at, t.expires_at, g.client_id, g.account_id, a.username, g.auth_time, g.first_factor, g.second_factor \
             FROM oidc_tokens t JOIN oidc_grants g ON g.id = t.grant_id JOIN accounts a ON a.id = g.account_id \
             WHERE t.token_hash = $2 AND t.expires_at > $1 AND t.used_at IS NULL AND g.revoked_at IS NULL AND a.disabled_at IS NULL \
             AND (g.offline = 1 OR ",
            session_alive!("$1", "$3"),
            ")"
        ))
        .bind(clock.now.0)
        .bind(token_hash)
        .bind(clock.idle_before.0)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Revokes a token of `client_id` (RFC 7009): an access token alone, a refresh token with
    /// its whole grant. Unknown tokens change nothing (and are not an error).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn revoke_token(
        &self,
        token_hash: &str,
        client_id: &str,
        now: UnixTime,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        let found: Option<(String, String)> = sqlx::query_as(
            "SELECT t.grant_id, t.kind FROM oidc_tokens t JOIN oidc_grants g ON g.id = t.grant_id \
             WHERE t.token_hash = $1 AND g.client_id = $2",
        )
        .bind(token_hash)
        .bind(client_id)
        .fetch_optional(&mut *tx)
        .await?;
        match found {
            Some((grant, kind)) if kind == "refresh" => revoke_grant(&mut tx, &grant, now).await?,
            Some(_) => {
                sqlx::query("DELETE FROM oidc_tokens WHERE token_hash = $1")
                    .bind(token_hash)
                    .execute(&mut *tx)
                    .await?;
            }
            None => {}
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records that a new login was asked for at `now` (`prompt=login`, `max_age`), under
    /// the SHA-256 of the token the browser carries through the login.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn put_login_request(
        &self,
        id_hash: &str,
        now: UnixTime,
        secs: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO oidc_login_requests (id, created_at, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(id_hash)
        .bind(now.0)
        .bind(now.0 + secs)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// When the live login request with this hash was made.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn login_request_time(
        &self,
        id_hash: &str,
        now: UnixTime,
    ) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT created_at FROM oidc_login_requests WHERE id = $1 AND expires_at > $2",
        )
        .bind(id_hash)
        .bind(now.0)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Keeps a pushed authorization request (RFC 9126) of `client_id` until `expires_at`.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn put_pushed_request(
        &self,
        id_hash: &str,
        client_id: &str,
        params: &str,
        expires_at: UnixTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO oidc_pushed_requests (id, client_id, params, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id_hash)
        .bind(client_id)
        .bind(params)
        .bind(expires_at.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes a live pushed request of `client_id`, once: its parameters.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn take_pushed_request(
        &self,
        id_hash: &str,
        client_id: &str,
        now: UnixTime,
    ) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "DELETE FROM oidc_pushed_requests WHERE id = $1 AND client_id = $2 AND expires_at > $3 \
             RETURNING params",
        )
        .bind(id_hash)
        .bind(client_id)
        .bind(now.0)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Deletes expired tokens and grants whose code and tokens are all gone (housekeeping).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn purge_grants(&self, now: UnixTime) -> StoreResult<u64> {
        let tokens = sqlx::query("DELETE FROM oidc_tokens WHERE expires_at <= $1")
            .bind(now.0)
            .execute(&self.pool)
            .await?
            .rows_affected();
        // A used or expired code is kept an hour, so that its reuse is still recognised.
        let grants = sqlx::query(
            "DELETE FROM oidc_grants WHERE code_expires_at <= $1 \
             AND NOT EXISTS (SELECT 1 FROM oidc_tokens t WHERE t.grant_id = oidc_grants.id)",
        )
        .bind(now.0 - 3600)
        .execute(&self.pool)
        .await?
        .rows_affected();
        let mut requests = 0;
        for sql in [
            "DELETE FROM oidc_login_requests WHERE expires_at <= $1",
            "DELETE FROM oidc_pushed_requests WHERE expires_at <= $1",
        ] {
            requests += sqlx::query(sql)
                .bind(now.0)
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        Ok(tokens + grants + requests)
    }
}

/// The end of a redemption whose conditional `UPDATE` used nothing up: `before` is the
/// grant and when its code or refresh token was used, if this client has one by that hash.
/// Used before: the whole grant is revoked, and that committed. Otherwise nothing changes.
async fn reused_or_invalid(
    mut tx: Transaction<'static, Any>,
    before: Option<(String, Option<i64>)>,
    now: UnixTime,
) -> StoreResult<Redeemed> {
    if let Some((id, Some(_))) = before {
        revoke_grant(&mut tx, &id, now).await?;
        tx.commit().await?;
        return Ok(Redeemed::Reused);
    }
    tx.rollback().await?;
    Ok(Redeemed::Invalid)
}

/// The end of a redemption that used up a code or refresh token of `grant`: the open
/// transaction, for [`GrantTx::issue`] to insert the tokens into and commit — unless the
/// grant was revoked or its account disabled meanwhile.
async fn issued(mut tx: Transaction<'static, Any>, grant: &str) -> StoreResult<Redeemed> {
    let Some(grant) = live_grant(&mut tx, grant).await? else {
        tx.rollback().await?;
        return Ok(Redeemed::Invalid);
    };
    Ok(Redeemed::Issued(Box::new(GrantTx { tx, grant })))
}

/// The grant, when it is not revoked and its account is enabled.
async fn live_grant(
    tx: &mut Transaction<'static, Any>,
    grant: &str,
) -> StoreResult<Option<GrantRecord>> {
    Ok(sqlx::query_as::<_, GrantRecord>(concat!(
        "SELECT ",
        grant_columns!(),
        " FROM oidc_grants g JOIN accounts a ON a.id = g.account_id \
         WHERE g.id = $1 AND g.revoked_at IS NULL AND a.disabled_at IS NULL"
    ))
    .bind(grant)
    .fetch_optional(&mut **tx)
    .await?)
}
