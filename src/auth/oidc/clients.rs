//! Relying parties: registered by the operator (`twofold client …`), kept in the database,
//! authenticated at the token endpoint with `client_secret_basic` or `client_secret_post`
//! (the secret stored as its SHA-256, compared in constant time), or as a public client
//! that proves itself with PKCE.

use subtle::ConstantTimeEq;

use super::{OAuthCode, OAuthError};
use crate::auth::AuthError;
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

/// Whether `uri` may be registered (contract v3): `https`, or `http` only to the exact
/// loopback hosts `127.0.0.1`, `[::1]` and `localhost` (any port: native apps, RFC 8252
/// §7.3); never user-info, a fragment (RFC 6749 §3.1.2) or a wildcard. Read by the `url`
/// crate as a browser reads it, so `http://localhost:80@evil.example/cb` is a URI with
/// user-info for `evil.example`, and `http://evil.example\.localhost/cb` one for
/// `evil.example`: both refused (ASVS 5.0 10.4.1).
pub(crate) fn acceptable_uri(uri: &str) -> Result<(), String> {
    let example = "like https://app.example.com/callback or http://127.0.0.1:8400/callback";
    if uri.len() > 2000
        || uri
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return Err(format!("{uri}: not a usable URI; give one {example}"));
    }
    let Ok(parsed) = url::Url::parse(uri) else {
        return Err(format!("{uri}: not an absolute URI; give one {example}"));
    };
    if parsed.fragment().is_some() || uri.contains('#') {
        return Err(format!(
            "{uri}: a redirect URI must not have a fragment (#…)"
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() || uri.contains('@') {
        return Err(format!(
            "{uri}: a redirect URI must not hold user-info (…@)"
        ));
    }
    if uri.contains('*') {
        return Err(format!(
            "{uri}: wildcards are not allowed; register each URI exactly"
        ));
    }
    let host = parsed.host_str().unwrap_or("");
    match parsed.scheme() {
        "https" if !host.is_empty() => Ok(()),
        "http" if ["127.0.0.1", "[::1]", "localhost"].contains(&host) => Ok(()),
        "http" => Err(format!(
            "{uri}: use https (http is accepted only for the loopback hosts 127.0.0.1, [::1] and localhost)"
        )),
        _ => Err(format!("{uri}: give an https URI, {example}")),
    }
}

impl super::Clients<'_> {
    /// Registers a client; prints its secret once.
    ///
    /// # Errors
    /// [`AuthError::Internal`] with a sentence for the operator when a URI is not acceptable.
    pub async fn add_client(&self, c: &NewClient) -> Result<ClientSecret, AuthError> {
        let name = c.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AuthError::Internal(anyhow::anyhow!(
                "give the client a name of 1 to 100 characters (--name), shown on the consent page"
            )));
        }
        if c.redirect_uris.is_empty() {
            return Err(AuthError::Internal(anyhow::anyhow!(
                "give at least one --redirect-uri, exactly as the app will send it"
            )));
        }
        // The back-channel logout URI follows the redirect URIs' rule (contract v3).
        for uri in c
            .redirect_uris
            .iter()
            .chain(&c.post_logout_redirect_uris)
            .chain(&c.backchannel_logout_uri)
        {
            acceptable_uri(uri).map_err(|e| AuthError::Internal(anyhow::anyhow!(e)))?;
        }
        if c.allow_no_pkce && c.public {
            return Err(AuthError::Internal(anyhow::anyhow!(
                "--allow-no-pkce is for confidential apps only: a public app proves itself with PKCE"
            )));
        }
        // Names Twofold does not know are kept (the operator may be ahead of it) and never
        // granted; at least openid, or the app could log nobody in.
        let scopes: Vec<String> = match &c.scopes {
            Some(s) => {
                let mut s = s.clone();
                s.sort_unstable();
                s.dedup();
                s
            }
            None => DEFAULT_CLIENT_SCOPES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        };
        if !scopes.iter().any(|s| s == "openid") {
            return Err(AuthError::Internal(anyhow::anyhow!(
                "--scopes must include openid, like --scopes \"openid profile email\""
            )));
        }
        if scopes.iter().any(|s| {
            s.len() > 100
                || !s
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        }) {
            return Err(AuthError::Internal(anyhow::anyhow!(
                "--scopes is a space-separated list of scope names"
            )));
        }
        let client_id = format!("tf_{}", &Token::generate().reveal()[..22]);
        let secret = (!c.public).then(Token::generate);
        let record = ClientRecord {
            id: client_id.clone(),
            name: name.to_owned(),
            secret_hash: secret.as_ref().map(|s| s.hash().as_str().to_owned()),
            redirect_uris: c.redirect_uris.clone(),
            post_logout_uris: c.post_logout_redirect_uris.clone(),
            require_two_factor: c.require_two_factor,
            skip_consent: c.skip_consent,
            created_at: self.now(),
            scopes: Some(scopes),
            allow_no_pkce: c.allow_no_pkce,
            backchannel_logout_uri: c.backchannel_logout_uri.clone(),
            device: c.device,
        };
        self.auth.store.oidc().add_client(&record).await?;
        tracing::info!(client = %client_id, name, "OpenID Connect client registered");
        Ok(ClientSecret {
            client_id,
            client_secret: secret,
        })
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

    /// Removes a client and everything it was given. Returns whether it existed.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn remove_client(&self, id: &str) -> Result<bool, AuthError> {
        Ok(self.auth.store.oidc().remove_client(id).await?)
    }

    /// A new secret for a confidential client (the old one stops working at once).
    /// `None` for an unknown or public client.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn rotate_client_secret(&self, id: &str) -> Result<Option<ClientSecret>, AuthError> {
        let secret = Token::generate();
        if !self
            .auth
            .store
            .oidc()
            .set_client_secret(id, secret.hash().as_str())
            .await?
        {
            return Ok(None);
        }
        Ok(Some(ClientSecret {
            client_id: id.to_owned(),
            client_secret: Some(secret),
        }))
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

#[cfg(test)]
mod tests {
    use super::{acceptable_uri, web_origin};

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

    #[test]
    fn redirect_uris() {
        for ok in [
            "https://app.example.com/cb",
            "http://127.0.0.1:8080/cb",
            "http://[::1]:9000/cb",
            "http://localhost/cb",
            "http://localhost:51000/cb?x=1",
        ] {
            assert!(acceptable_uri(ok).is_ok(), "{ok}");
        }
        // Issue 21, item 13: look-alikes of a loopback host, and everything else the
        // contract refuses.
        for bad in [
            "http://localhost:80@evil.example/cb",
            "http://127.evil.example/cb",
            "http://127.0.0.1.evil.example/cb",
            "http://evil.example\\.localhost/cb",
            "http://127.0.0.2/cb",
            "http://app.twofold.test:81/cb",
            "http://app.localhost/cb",
            "http://user@127.0.0.1/cb",
            "https://user:pw@app.example.com/cb",
            "https://*.example.com/cb",
            "com.example.app:/cb",
            "http://app.example.com/cb",
            "https://app.example.com/cb#x",
            "/cb",
            "javascript:alert(1)",
        ] {
            assert!(acceptable_uri(bad).is_err(), "{bad}");
        }
    }
}
