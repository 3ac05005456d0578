//! Sign in with Twofold (OpenID Connect): signing keys, clients and consents. Grants (codes
//! and tokens) are in `oidc_grants.rs`.

use super::{NewEvent, StoreError, StoreResult, conflict_or};
use crate::domain::{AccountId, ClientInfo, CredentialEvent, EventKind, UnixTime};

/// The columns of [`ClientRow`].
macro_rules! client_columns {
    () => {
        "id, name, secret_hash, redirect_uris, post_logout_uris, require_two_factor, skip_consent, created_at, scopes, allow_no_pkce, backchannel_logout_uri, device"
    };
}

/// A stored signing key (the private key sealed).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SigningKeyRecord {
    /// Its key id (`kid`).
    pub kid: String,
    /// The algorithm: `RS256`, the only one Twofold signs with.
    pub alg: String,
    /// The PKCS#8 private key, AES-256-GCM sealed.
    pub sealed: String,
    /// When it was made.
    pub created_at: i64,
    /// When a newer key replaced it, if one did.
    pub retired_at: Option<i64>,
}

/// A relying party as stored.
#[derive(Clone, Debug)]
pub struct ClientRecord {
    /// Its `client_id`.
    pub id: String,
    /// The name people see on the consent page.
    pub name: String,
    /// SHA-256 (hex) of its secret; `None` for a public client.
    pub secret_hash: Option<String>,
    /// Registered redirect URIs (matched exactly).
    pub redirect_uris: Vec<String>,
    /// Registered post-logout redirect URIs.
    pub post_logout_uris: Vec<String>,
    /// Only users who completed two factors.
    pub require_two_factor: bool,
    /// No consent page.
    pub skip_consent: bool,
    /// When it was registered.
    pub created_at: UnixTime,
    /// The scopes it may receive; `None` for a client registered before v3 (every scope).
    pub scopes: Option<Vec<String>>,
    /// A confidential client allowed to send no PKCE (`--allow-no-pkce`).
    pub allow_no_pkce: bool,
    /// Where its logout tokens go (`--backchannel-logout-uri`).
    pub backchannel_logout_uri: Option<String>,
    /// It may use the device authorization grant (`--device`).
    pub device: bool,
}

#[derive(sqlx::FromRow)]
struct ClientRow {
    id: String,
    name: String,
    secret_hash: Option<String>,
    redirect_uris: String,
    post_logout_uris: String,
    require_two_factor: i64,
    skip_consent: i64,
    created_at: i64,
    scopes: Option<String>,
    allow_no_pkce: i64,
    backchannel_logout_uri: Option<String>,
    device: i64,
}

impl TryFrom<ClientRow> for ClientRecord {
    type Error = StoreError;

    fn try_from(r: ClientRow) -> StoreResult<Self> {
        let list = |s: &str, what| {
            serde_json::from_str::<Vec<String>>(s).map_err(|_| StoreError::Corrupt(what))
        };
        Ok(Self {
            redirect_uris: list(&r.redirect_uris, "oidc_clients.redirect_uris")?,
            post_logout_uris: list(&r.post_logout_uris, "oidc_clients.post_logout_uris")?,
            id: r.id,
            name: r.name,
            secret_hash: r.secret_hash,
            require_two_factor: r.require_two_factor != 0,
            skip_consent: r.skip_consent != 0,
            created_at: UnixTime(r.created_at),
            scopes: r
                .scopes
                .map(|s| s.split_ascii_whitespace().map(str::to_owned).collect()),
            allow_no_pkce: r.allow_no_pkce != 0,
            backchannel_logout_uri: r.backchannel_logout_uri,
            device: r.device != 0,
        })
    }
}

/// A list of URIs as stored: a JSON array.
fn list_json(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// A connected app as its owner sees it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ConsentRecord {
    /// The client.
    pub client_id: String,
    /// Its name.
    pub name: String,
    /// What was allowed (space-separated).
    pub scope: String,
    /// When.
    pub granted_at: i64,
}

impl super::OidcRecords<'_> {
    /// Every signing key, newest first.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        Ok(sqlx::query_as::<_, SigningKeyRecord>(
            "SELECT kid, alg, sealed, created_at, retired_at FROM oidc_keys ORDER BY created_at DESC, kid DESC",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Adds a signing key, retiring the current keys of the same algorithm at `now` (they
    /// stay published until what they signed has expired).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn add_signing_key(&self, key: &SigningKeyRecord, retire: bool) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        if retire {
            sqlx::query(
                "UPDATE oidc_keys SET retired_at = $1 WHERE alg = $2 AND retired_at IS NULL",
            )
            .bind(key.created_at)
            .bind(&key.alg)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO oidc_keys (kid, alg, sealed, created_at, retired_at) VALUES ($1, $2, $3, $4, NULL)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.sealed)
        .bind(key.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds the first key of an algorithm unless another node did first. Returns whether it
    /// was added.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn add_first_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        // The unique name decides between nodes starting together: one first key per algorithm.
        let first = sqlx::query(
            "INSERT INTO server_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(format!("oidc_first_key_{}", key.alg))
        .bind(&key.kid)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if first != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO oidc_keys (kid, alg, sealed, created_at, retired_at) VALUES ($1, $2, $3, $4, NULL)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.sealed)
        .bind(key.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes keys retired before `before` (nothing they signed is still valid).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn purge_signing_keys(&self, before: UnixTime) -> StoreResult<u64> {
        Ok(
            sqlx::query("DELETE FROM oidc_keys WHERE retired_at IS NOT NULL AND retired_at <= $1")
                .bind(before.0)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    /// Registers a client.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] for a taken id; on a database failure.
    pub async fn add_client(&self, c: &ClientRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO oidc_clients (id, name, secret_hash, redirect_uris, post_logout_uris, require_two_factor, skip_consent, created_at, scopes, allow_no_pkce, backchannel_logout_uri, device) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&c.id)
        .bind(&c.name)
        .bind(c.secret_hash.as_deref())
        .bind(list_json(&c.redirect_uris))
        .bind(list_json(&c.post_logout_uris))
        .bind(i64::from(c.require_two_factor))
        .bind(i64::from(c.skip_consent))
        .bind(c.created_at.0)
        .bind(c.scopes.as_ref().map(|s| s.join(" ")))
        .bind(i64::from(c.allow_no_pkce))
        .bind(c.backchannel_logout_uri.as_deref())
        .bind(i64::from(c.device))
        .execute(&self.pool)
        .await
        .map_err(conflict_or)?;
        Ok(())
    }

    /// Changes a client's registration: every field of `c` but its id, secret and time.
    /// Returns whether it existed.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn update_client(&self, c: &ClientRecord) -> StoreResult<bool> {
        Ok(sqlx::query(
            "UPDATE oidc_clients SET name = $1, redirect_uris = $2, post_logout_uris = $3, require_two_factor = $4, \
             skip_consent = $5, scopes = $6, allow_no_pkce = $7, backchannel_logout_uri = $8, device = $9 WHERE id = $10",
        )
        .bind(&c.name)
        .bind(list_json(&c.redirect_uris))
        .bind(list_json(&c.post_logout_uris))
        .bind(i64::from(c.require_two_factor))
        .bind(i64::from(c.skip_consent))
        .bind(c.scopes.as_ref().map(|s| s.join(" ")))
        .bind(i64::from(c.allow_no_pkce))
        .bind(c.backchannel_logout_uri.as_deref())
        .bind(i64::from(c.device))
        .bind(&c.id)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1)
    }

    /// The client with this id.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn client(&self, id: &str) -> StoreResult<Option<ClientRecord>> {
        sqlx::query_as::<_, ClientRow>(concat!(
            "SELECT ",
            client_columns!(),
            " FROM oidc_clients WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .map(ClientRecord::try_from)
        .transpose()
    }

    /// Every client, by name.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list_clients(&self) -> StoreResult<Vec<ClientRecord>> {
        sqlx::query_as::<_, ClientRow>(concat!(
            "SELECT ",
            client_columns!(),
            " FROM oidc_clients ORDER BY name, id"
        ))
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(ClientRecord::try_from)
        .collect()
    }

    /// Removes a client with its consents, grants and tokens. Returns whether it existed.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn remove_client(&self, id: &str) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM oidc_tokens WHERE grant_id IN (SELECT id FROM oidc_grants WHERE client_id = $1)")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for sql in [
            "DELETE FROM oidc_grants WHERE client_id = $1",
            "DELETE FROM oidc_consents WHERE client_id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        let gone = sqlx::query("DELETE FROM oidc_clients WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        tx.commit().await?;
        Ok(gone)
    }

    /// Replaces a confidential client's secret hash. Returns `false` for an unknown or public
    /// client.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn set_client_secret(&self, id: &str, secret_hash: &str) -> StoreResult<bool> {
        Ok(sqlx::query(
            "UPDATE oidc_clients SET secret_hash = $1 WHERE id = $2 AND secret_hash IS NOT NULL",
        )
        .bind(secret_hash)
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1)
    }

    /// The scopes the account allowed this client, if it did.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn consent(&self, account: &AccountId, client: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT scope FROM oidc_consents WHERE account_id = $1 AND client_id = $2",
        )
        .bind(account.as_str())
        .bind(client)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Records (or widens) a consent, with its event.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn put_consent(
        &self,
        account: &AccountId,
        client: &str,
        scope: &str,
        now: UnixTime,
        who: &ClientInfo,
        name: &str,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO oidc_consents (account_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id, client_id) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at",
        )
        .bind(account.as_str())
        .bind(client)
        .bind(scope)
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
        NewEvent {
            account_id: account,
            kind: EventKind::AppAuthorized,
            at: now,
            client: who,
            detail: Some(name),
        }
        .insert(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The apps the account allowed, newest first.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn consents(&self, account: &AccountId) -> StoreResult<Vec<ConsentRecord>> {
        // Every app that holds a grant is listed, with or without a consent (an app
        // registered with --skip-consent never asked for one), so the person can see and
        // disconnect it (ASVS 5.0 10.7.3).
        Ok(sqlx::query_as::<_, ConsentRecord>(
            "SELECT k.id AS client_id, k.name, COALESCE(c.scope, g.scope) AS scope, \
             COALESCE(c.granted_at, g.granted_at) AS granted_at FROM oidc_clients k \
             LEFT JOIN oidc_consents c ON c.client_id = k.id AND c.account_id = $1 \
             LEFT JOIN (SELECT client_id, MAX(scope) AS scope, MIN(created_at) AS granted_at FROM oidc_grants \
                        WHERE account_id = $1 AND revoked_at IS NULL GROUP BY client_id) g ON g.client_id = k.id \
             WHERE c.client_id IS NOT NULL OR g.client_id IS NOT NULL ORDER BY granted_at DESC, k.id",
        )
        .bind(account.as_str())
        .fetch_all(&self.pool)
        .await?)
    }

    /// Disconnects an app: the consent goes and every grant of the account to that client
    /// is revoked (its refresh and access tokens stop working), with the event. Returns
    /// whether there was anything to revoke.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn revoke_app(
        &self,
        account: &AccountId,
        client: &str,
        now: UnixTime,
        who: &ClientInfo,
    ) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        let ended = super::lifecycle::end_credentials(
            &mut tx,
            &super::Ending {
                event: CredentialEvent::AppDisconnected,
                account,
                session: None,
                client_id: Some(client),
                now,
            },
        )
        .await?;
        if ended.consents + ended.grants == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        NewEvent {
            account_id: account,
            kind: EventKind::AppRevoked,
            at: now,
            client: who,
            detail: Some(client),
        }
        .insert(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}
