//! Sign in with Twofold: an OpenID Connect provider (OIDC Core 1.0, authorization code flow
//! with PKCE, RFC 7636), so that other apps log their users in with Twofold's password,
//! second factor and backup codes.
//!
//! `clients.rs` registers relying parties and authenticates them, `authorize.rs` decides
//! what an authorization request leads to (the login, the 2FA set-up, the consent page, a
//! code, or an error), `tokens.rs` is the token endpoint with userinfo, introspection and
//! revocation, `logout.rs` RP-initiated logout. Everything lives in the database, so several
//! nodes serve one provider; signing keys are sealed there under a key derived from the
//! server secret.
//!
//! The OAuth `error_description`s here are protocol text for developers wiring an app, not
//! sentences people read; those stay in `http::error`.

mod authorize;
mod clients;
mod logout;
mod tokens;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use authorize::{AuthorizeRequest, AuthorizeStep, ConnectedApp};
pub use clients::{ClientSecret, NewClient, OidcClient};
pub use logout::{LogoutRequest, LogoutStep};
pub use tokens::{ClientCredentials, Introspection, TokenRequest, TokenResponse};

use super::{Auth, AuthError};
use crate::crypto::{SigningKey, VerifyingKey, generate_rsa_pkcs8, open, seal};
use crate::domain::UnixTime;
use crate::store::SigningKeyRecord;

/// Lifetimes and the issuer.
#[derive(Clone, Debug)]
pub struct OidcPolicy {
    /// The issuer (`--public-url`), without a trailing slash.
    pub issuer: String,
    /// Authorization codes live this long (60 s).
    pub code_secs: i64,
    /// Access tokens (10 minutes).
    pub access_token_secs: i64,
    /// ID tokens (10 minutes).
    pub id_token_secs: i64,
    /// Refresh tokens (30 days).
    pub refresh_token_secs: i64,
}

impl Default for OidcPolicy {
    fn default() -> Self {
        Self {
            issuer: "http://localhost".into(),
            code_secs: 60,
            access_token_secs: 600,
            id_token_secs: 600,
            refresh_token_secs: 30 * 86_400,
        }
    }
}

/// An OAuth 2.0 / OpenID Connect error code (RFC 6749 §4.1.2.1, §5.2; OIDC Core §3.1.2.6;
/// RFC 6750 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthCode {
    /// A parameter is missing, repeated or malformed.
    InvalidRequest,
    /// The client could not be authenticated.
    InvalidClient,
    /// The code or refresh token is invalid, expired, used, revoked or not this client's.
    InvalidGrant,
    /// The client may not use this grant.
    UnauthorizedClient,
    /// Not `authorization_code` or `refresh_token`.
    UnsupportedGrantType,
    /// Not `code`.
    UnsupportedResponseType,
    /// An unknown scope, or no `openid`.
    InvalidScope,
    /// The user said no.
    AccessDenied,
    /// `prompt=none` and nobody is logged in.
    LoginRequired,
    /// `prompt=none` and consent is needed.
    ConsentRequired,
    /// `prompt=none` and the login must be repeated or two-factor set up.
    InteractionRequired,
    /// A bearer token that does not work.
    InvalidToken,
}

impl OAuthCode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::InvalidToken => "invalid_token",
        }
    }
}

/// An OAuth error answer: its code and a description for the app's developer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OAuthError {
    /// The error code.
    pub code: OAuthCode,
    /// What was wrong, for a developer.
    pub description: &'static str,
}

impl OAuthError {
    pub(crate) fn new(code: OAuthCode, description: &'static str) -> Self {
        Self { code, description }
    }
}

/// The scopes Twofold knows.
pub const SCOPES: [&str; 5] = ["openid", "profile", "email", "phone", "offline_access"];

/// The OpenID Connect provider; cheap to clone.
#[derive(Clone)]
pub struct Oidc {
    auth: Auth,
    policy: Arc<OidcPolicy>,
    /// Parsed signing keys by `kid` (parsing a key is slow; the list of keys is read from the
    /// database on each use, so a rotation on another node is seen at once).
    parsed: Arc<Mutex<HashMap<String, Arc<SigningKey>>>>,
}

impl Oidc {
    /// The provider over `auth`.
    pub fn new(auth: Auth, policy: OidcPolicy) -> Self {
        Self {
            auth,
            policy: Arc::new(policy),
            parsed: Arc::default(),
        }
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.policy.issuer
    }

    /// The lifetimes in force.
    pub fn policy(&self) -> &OidcPolicy {
        &self.policy
    }

    fn now(&self) -> UnixTime {
        self.auth.now()
    }

    /// Makes the first signing key when there is none (on first use; when several nodes
    /// race, one key wins).
    ///
    /// # Errors
    /// On a database or key-generation failure.
    pub async fn ensure_signing_key(&self) -> Result<(), AuthError> {
        if self
            .auth
            .store
            .signing_keys()
            .await?
            .iter()
            .any(|k| k.retired_at.is_none())
        {
            return Ok(());
        }
        let record = self.new_key_record()?;
        if self.auth.store.add_first_signing_key(&record).await? {
            tracing::info!(kid = %record.kid, "made the first OpenID Connect signing key");
        }
        Ok(())
    }

    /// `twofold oidc rotate-key`: a new key signs from now on; the old ones stay in the JWKS
    /// until what they signed has expired. Returns the new `kid`.
    ///
    /// # Errors
    /// On a database or key-generation failure.
    pub async fn rotate_key(&self) -> Result<String, AuthError> {
        let record = self.new_key_record()?;
        self.auth.store.add_signing_key(&record, true).await?;
        Ok(record.kid)
    }

    fn new_key_record(&self) -> Result<SigningKeyRecord, AuthError> {
        let der = generate_rsa_pkcs8()?;
        let kid = format!(
            "k{}-{}",
            self.now().0,
            &crate::crypto::Token::generate().reveal()[..8]
        );
        Ok(SigningKeyRecord {
            sealed: seal(self.auth.keys.oidc_key_seal(), kid.as_bytes(), &der),
            kid,
            alg: crate::crypto::JWT_ALG.into(),
            created_at: self.now().0,
            retired_at: None,
        })
    }

    /// Keys that are still published: current ones, and retired ones whose ID tokens may not
    /// have expired yet.
    async fn published_keys(&self) -> Result<Vec<(SigningKeyRecord, Arc<SigningKey>)>, AuthError> {
        let grace = self.policy.id_token_secs.max(self.policy.access_token_secs);
        let now = self.now().0;
        let mut out = Vec::new();
        let mut records = self.auth.store.signing_keys().await?;
        if !records.iter().any(|k| k.retired_at.is_none()) {
            self.ensure_signing_key().await?;
            records = self.auth.store.signing_keys().await?;
        }
        for record in records {
            if record.retired_at.is_some_and(|r| r + grace < now) {
                continue;
            }
            let key = self.parse_key(&record)?;
            out.push((record, key));
        }
        Ok(out)
    }

    fn parse_key(&self, record: &SigningKeyRecord) -> Result<Arc<SigningKey>, AuthError> {
        let mut cache = self
            .parsed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(k) = cache.get(&record.kid) {
            return Ok(k.clone());
        }
        let der = open(
            self.auth.keys.oidc_key_seal(),
            record.kid.as_bytes(),
            &record.sealed,
        )
        .map_err(|e| AuthError::Internal(anyhow::anyhow!("signing key {}: {e}", record.kid)))?;
        let key = Arc::new(SigningKey::from_pkcs8(&record.kid, &der)?);
        cache.insert(record.kid.clone(), key.clone());
        Ok(key)
    }

    /// The key that signs now: the newest one not retired.
    async fn signing_key(&self) -> Result<Arc<SigningKey>, AuthError> {
        self.published_keys()
            .await?
            .into_iter()
            .find(|(r, _)| r.retired_at.is_none())
            .map(|(_, k)| k)
            .ok_or_else(|| AuthError::Internal(anyhow::anyhow!("no OpenID Connect signing key")))
    }

    /// The JWKS (RFC 7517): every published key.
    ///
    /// # Errors
    /// On a database failure or a key that cannot be opened.
    pub async fn jwks(&self) -> Result<serde_json::Value, AuthError> {
        let keys: Vec<_> = self
            .published_keys()
            .await?
            .iter()
            .map(|(_, k)| k.verifying().jwk())
            .collect();
        Ok(serde_json::json!({ "keys": keys }))
    }

    async fn verifying_keys(&self) -> Result<Vec<VerifyingKey>, AuthError> {
        Ok(self
            .published_keys()
            .await?
            .iter()
            .map(|(_, k)| k.verifying())
            .collect())
    }
}
