//! Relying parties: registered by the operator (`twofold client …`), kept in the database,
//! authenticated at the token endpoint with `client_secret_basic` or `client_secret_post`
//! (the secret stored as its SHA-256, compared in constant time), or as a public client
//! that proves itself with PKCE.

use subtle::ConstantTimeEq;

use super::registration::{Checked, check};
use super::{OAuthCode, OAuthError};
use crate::auth::{Actor, AuthError, ConsoleProblem};
use crate::crypto::Token;
use crate::store::{ClientRecord, StoreError};

/// A client to register.
#[derive(Clone, Debug, Default)]
pub struct NewClient {
    /// The name people see on the consent page.
    pub name: String,
    /// Redirect URIs, matched exactly.
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser back.
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client (no secret; PKCE required).
    pub public: bool,
    /// Only users who completed two factors.
    pub require_two_factor: bool,
    /// No consent page.
    pub skip_consent: bool,
    /// What it may receive; `None`: `DEFAULT_CLIENT_SCOPES`.
    pub scopes: Option<Vec<String>>,
    /// A confidential client that may send no PKCE.
    pub allow_no_pkce: bool,
    /// Where its logout tokens go (Back-Channel Logout 1.0).
    pub backchannel_logout_uri: Option<String>,
    /// It may use the device authorization grant (RFC 8628).
    pub device: bool,
    /// Refuse scope names Twofold does not know (the console, which offers only those); the
    /// CLI keeps them, and they are never granted.
    pub known_scopes_only: bool,
}

/// The stored form of a checked registration; the id, secret and time are the caller's.
fn record_of(c: &NewClient, ok: Checked) -> ClientRecord {
    ClientRecord {
        id: String::new(),
        name: ok.name,
        secret_hash: None,
        redirect_uris: c.redirect_uris.clone(),
        post_logout_uris: c.post_logout_redirect_uris.clone(),
        require_two_factor: c.require_two_factor,
        skip_consent: c.skip_consent,
        created_at: crate::domain::UnixTime(0),
        scopes: Some(ok.scopes),
        allow_no_pkce: c.allow_no_pkce,
        backchannel_logout_uri: c.backchannel_logout_uri.clone(),
        device: c.device,
    }
}

/// What a client registered without `--scopes` may receive (contract v3): no
/// `offline_access`, so no refresh token unless the operator says so.
pub const DEFAULT_CLIENT_SCOPES: [&str; 4] = ["openid", "profile", "email", "phone"];

/// A registered client as callers see it (never its secret).
#[derive(Clone, Debug)]
pub struct OidcClient {
    /// Its `client_id`.
    pub client_id: String,
    /// Its name.
    pub name: String,
    /// Redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Public (no secret).
    pub public: bool,
    /// Two factors required.
    pub require_two_factor: bool,
    /// No consent page.
    pub skip_consent: bool,
    /// When it was registered (Unix seconds).
    pub created_at: i64,
    /// What it may receive; `None` for a client registered before v3 (every scope).
    pub scopes: Option<Vec<String>>,
    /// May send no PKCE.
    pub allow_no_pkce: bool,
    /// Where its logout tokens go.
    pub backchannel_logout_uri: Option<String>,
    /// It may use the device authorization grant.
    pub device: bool,
}

impl From<ClientRecord> for OidcClient {
    fn from(c: ClientRecord) -> Self {
        Self {
            client_id: c.id,
            name: c.name,
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_uris,
            public: c.secret_hash.is_none(),
            require_two_factor: c.require_two_factor,
            skip_consent: c.skip_consent,
            created_at: c.created_at.0,
            scopes: c.scopes,
            allow_no_pkce: c.allow_no_pkce,
            backchannel_logout_uri: c.backchannel_logout_uri,
            device: c.device,
        }
    }
}

/// A client's id and, for a confidential client, its secret — shown once.
#[derive(Debug)]
pub struct ClientSecret {
    /// The `client_id`.
    pub client_id: String,
    /// The secret, for a confidential client.
    pub client_secret: Option<Token>,
}

impl super::Clients<'_> {
    /// Registers a client for `actor`, in the audit trail (`client_add`); its secret is
    /// in the answer, the only time it is seen (only its SHA-256 is kept).
    ///
    /// # Errors
    /// [`AuthError::InvalidClient`] naming the field and what is wrong.
    pub async fn add_client(
        &self,
        actor: &Actor,
        c: &NewClient,
    ) -> Result<ClientSecret, AuthError> {
        let ok = check(c, c.public, &[]).map_err(AuthError::InvalidClient)?;
        let client_id = format!("tf_{}", &Token::generate().reveal()[..22]);
        let secret = (!c.public).then(Token::generate);
        let record = ClientRecord {
            id: client_id.clone(),
            secret_hash: secret.as_ref().map(|s| s.hash().as_str().to_owned()),
            created_at: self.now(),
            ..record_of(c, ok)
        };
        self.auth.store.oidc().add_client(&record).await?;
        tracing::info!(client = %client_id, name = %record.name, "OpenID Connect client registered");
        self.auth
            .console()
            .audit(actor, "client_add", Some(&client_id), None)
            .await?;
        Ok(ClientSecret {
            client_id,
            client_secret: secret,
        })
    }

    /// Changes what a client is registered with — everything [`NewClient`] holds but its
    /// kind (`public` is ignored: the stored kind stays, so no secret appears or vanishes)
    /// — under the rules of [`Self::add_client`], in the audit trail (`client_edit`). What
    /// it holds already (codes, tokens) keeps the scope it was given.
    ///
    /// # Errors
    /// [`AuthError::NotFound`]; [`AuthError::InvalidClient`].
    pub async fn update_client(
        &self,
        actor: &Actor,
        id: &str,
        c: &NewClient,
    ) -> Result<(), AuthError> {
        let old = self.client_record(id).await?.ok_or(AuthError::NotFound)?;
        let registered = old.scopes.clone().unwrap_or_default();
        let ok =
            check(c, old.secret_hash.is_none(), &registered).map_err(AuthError::InvalidClient)?;
        let record = ClientRecord {
            id: old.id.clone(),
            secret_hash: old.secret_hash.clone(),
            created_at: old.created_at,
            ..record_of(c, ok)
        };
        if !self.auth.store.oidc().update_client(&record).await? {
            return Err(AuthError::NotFound);
        }
        // What changed, in the audit line: a redirect URI added is a security event.
        let changed = changes(&old, &record);
        self.auth
            .console()
            .audit(
                actor,
                "client_edit",
                Some(&record.id),
                Some(changed.as_str()).filter(|c| !c.is_empty()),
            )
            .await
    }

    /// Every client.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list_clients(&self) -> Result<Vec<OidcClient>, AuthError> {
        Ok(self
            .auth
            .store
            .oidc()
            .list_clients()
            .await?
            .into_iter()
            .map(OidcClient::from)
            .collect())
    }

    /// The client with this id (never its secret).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn client(&self, id: &str) -> Result<Option<OidcClient>, AuthError> {
        Ok(self.client_record(id).await?.map(OidcClient::from))
    }

    /// Removes a client and everything it was given (consents, grants, tokens, queued
    /// logouts, device and pushed requests), in the audit trail (`client_remove`).
    ///
    /// # Errors
    /// [`AuthError::NotFound`] when there is no such client.
    pub async fn remove_client(
        &self,
        actor: &Actor,
        id: &str,
        reason: Option<&str>,
    ) -> Result<(), AuthError> {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if id.is_empty() || id.len() > 100 || !self.auth.store.oidc().remove_client(id).await? {
            return Err(AuthError::NotFound);
        }
        tracing::info!(client = %id, "OpenID Connect client removed");
        self.auth
            .console()
            .audit(actor, "client_remove", Some(id), reason)
            .await
    }

    /// A new secret for a confidential client (the old one stops working at once), in the
    /// audit trail (`client_rotate_secret`); the answer is the only time it is seen.
    ///
    /// # Errors
    /// [`AuthError::NotFound`]; [`ConsoleProblem::PublicClient`] for a public client, which
    /// has no secret.
    pub async fn rotate_client_secret(
        &self,
        actor: &Actor,
        id: &str,
        reason: Option<&str>,
    ) -> Result<ClientSecret, AuthError> {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        let client = self.client_record(id).await?.ok_or(AuthError::NotFound)?;
        if client.secret_hash.is_none() {
            return Err(AuthError::Console(ConsoleProblem::PublicClient));
        }
        let secret = Token::generate();
        if !self
            .auth
            .store
            .oidc()
            .set_client_secret(&client.id, secret.hash().as_str())
            .await?
        {
            return Err(AuthError::NotFound);
        }
        self.auth
            .console()
            .audit(actor, "client_rotate_secret", Some(&client.id), reason)
            .await?;
        Ok(ClientSecret {
            client_id: client.id,
            client_secret: Some(secret),
        })
    }

    /// The name people know an app by (the consent page's), for "Log in to continue to …";
    /// `None` for an unknown `client_id`.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn display_name(&self, client_id: &str) -> Result<Option<String>, AuthError> {
        Ok(self.client_record(client_id).await?.map(|c| c.name))
    }

    pub(super) async fn client_record(&self, id: &str) -> Result<Option<ClientRecord>, AuthError> {
        if id.is_empty() || id.len() > 100 {
            return Ok(None);
        }
        match self.auth.store.oidc().client(id).await {
            Ok(c) => Ok(c),
            Err(StoreError::Corrupt(what)) => Err(AuthError::Internal(anyhow::anyhow!(
                "a stored client is corrupt ({what})"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether a browser page at `origin` may read the answers of the token, userinfo and
    /// revocation endpoints (CORS for apps that run in the browser; RFC 7009 §2.3 for
    /// revocation): only when it is the origin of a redirect URI registered for some
    /// client, so that no other site's script can read them.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn cors_origin_allowed(&self, origin: &str) -> Result<bool, AuthError> {
        let Some(origin) = web_origin(origin) else {
            return Ok(false);
        };
        Ok(self
            .auth
            .store
            .oidc()
            .list_clients()
            .await?
            .iter()
            .any(|c| {
                c.redirect_uris
                    .iter()
                    .any(|u| web_origin(u).as_deref() == Some(origin.as_str()))
            }))
    }

    /// Authenticates the client of a token, introspection or revocation request (RFC 6749
    /// §2.3): a confidential client by its secret, compared as SHA-256 in constant time; a
    /// public client by its id alone (its proof is PKCE).
    pub(super) async fn authenticate_client(
        &self,
        id: Option<&str>,
        secret: Option<&str>,
    ) -> Result<Result<ClientRecord, OAuthError>, AuthError> {
        let bad = |d| Ok(Err(OAuthError::new(OAuthCode::InvalidClient, d)));
        let Some(id) = id.filter(|i| !i.is_empty()) else {
            return bad(
                "client authentication is missing: send client_id (and client_secret, by HTTP Basic or in the body)",
            );
        };
        let Some(client) = self.client_record(id).await? else {
            return bad("unknown client_id");
        };
        match (&client.secret_hash, secret) {
            (Some(stored), Some(given)) => {
                let given = Token::from_client(given).map(|t| t.hash());
                let ok = given
                    .is_some_and(|g| bool::from(g.as_str().as_bytes().ct_eq(stored.as_bytes())));
                if ok {
                    Ok(Ok(client))
                } else {
                    bad("the client secret is wrong")
                }
            }
            (Some(_), None) => bad("this client is confidential: send its client_secret"),
            (None, Some(_)) => {
                bad("this client is public: it has no secret; send PKCE code_verifier instead")
            }
            (None, None) => Ok(Ok(client)),
        }
    }
}

/// The web origin of an `http` or `https` URI (RFC 6454 §4): `scheme://host[:port]`,
/// scheme and host in lowercase, the default port left out — how a browser writes its
/// `Origin` header. `None` for other schemes and anything malformed (an `Origin: null`).
pub(super) fn web_origin(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?.to_ascii_lowercase();
    if authority.is_empty()
        || authority.contains('@')
        || !authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
    {
        return None;
    }
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    Some(format!("{scheme}://{authority}"))
}

/// What an edit changed, for the audit trail: the lists as what was added and taken away,
/// the flags as on or off, the name and the logout URI as they are now.
fn changes(old: &ClientRecord, new: &ClientRecord) -> String {
    fn list(out: &mut Vec<String>, what: &str, old: &[String], new: &[String]) {
        let added: Vec<&str> = new
            .iter()
            .filter(|u| !old.contains(u))
            .map(String::as_str)
            .collect();
        let gone: Vec<&str> = old
            .iter()
            .filter(|u| !new.contains(u))
            .map(String::as_str)
            .collect();
        if !added.is_empty() {
            out.push(format!("{what} added {}", added.join(" ")));
        }
        if !gone.is_empty() {
            out.push(format!("{what} removed {}", gone.join(" ")));
        }
    }
    let mut out = Vec::new();
    if old.name != new.name {
        out.push(format!("name {:?}", new.name));
    }
    list(
        &mut out,
        "redirect URIs",
        &old.redirect_uris,
        &new.redirect_uris,
    );
    list(
        &mut out,
        "post-logout URIs",
        &old.post_logout_uris,
        &new.post_logout_uris,
    );
    let none = Vec::new();
    list(
        &mut out,
        "scopes",
        old.scopes.as_ref().unwrap_or(&none),
        new.scopes.as_ref().unwrap_or(&none),
    );
    for (what, was, now) in [
        (
            "two factors required",
            old.require_two_factor,
            new.require_two_factor,
        ),
        ("no consent page", old.skip_consent, new.skip_consent),
        ("no PKCE", old.allow_no_pkce, new.allow_no_pkce),
        ("device flow", old.device, new.device),
    ] {
        if was != now {
            out.push(format!("{what} {}", if now { "on" } else { "off" }));
        }
    }
    if old.backchannel_logout_uri != new.backchannel_logout_uri {
        out.push(match &new.backchannel_logout_uri {
            Some(u) => format!("back-channel logout URI {u}"),
            None => "back-channel logout URI removed".to_owned(),
        });
    }
    out.join("; ")
}

#[cfg(test)]
mod tests {
    use super::web_origin;

    #[test]
    fn origins_as_browsers_write_them() {
        for (uri, origin) in [
            (
                "https://App.Example.com/cb?x=1",
                Some("https://app.example.com"),
            ),
            (
                "https://app.example.com:443/cb",
                Some("https://app.example.com"),
            ),
            ("http://127.0.0.1:8080/cb", Some("http://127.0.0.1:8080")),
            ("https://app.example.com", Some("https://app.example.com")),
            ("com.example.app:/cb", None),
            ("null", None),
            ("https://user@evil.example/", None),
            ("https:///cb", None),
        ] {
            assert_eq!(web_origin(uri).as_deref(), origin, "{uri}");
        }
    }
}
