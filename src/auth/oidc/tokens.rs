//! The token endpoint (RFC 6749 §3.2, OIDC Core §3.1.3): codes and refresh tokens become
//! access tokens, ID tokens and (with `offline_access`) rotated refresh tokens; and the
//! endpoints that read tokens: userinfo, introspection (RFC 7662), revocation (RFC 7009).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{OAuthCode, OAuthError};
use crate::auth::AuthError;
use crate::crypto::{SigningKey, Token};
use crate::domain::{AccountId, Method, UnixTime};
use crate::store::{ClientRecord, GrantTx, NewToken, Redeemed, Redemption, StoreError};

/// A token request's form, as sent.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct TokenRequest {
    /// `authorization_code` or `refresh_token`.
    pub grant_type: Option<String>,
    /// The code.
    pub code: Option<String>,
    /// The redirect URI the code was sent to.
    pub redirect_uri: Option<String>,
    /// The PKCE verifier.
    pub code_verifier: Option<String>,
    /// The refresh token.
    pub refresh_token: Option<String>,
    /// The device code (RFC 8628 §3.4).
    pub device_code: Option<String>,
    /// `client_secret_post` / public clients.
    pub client_id: Option<String>,
    /// `client_secret_post`.
    pub client_secret: Option<String>,
}

/// How the client authenticated: from `Authorization: Basic` or the form.
#[derive(Clone, Debug, Default)]
pub struct ClientCredentials {
    /// Its id.
    pub client_id: Option<String>,
    /// Its secret.
    pub client_secret: Option<String>,
}

/// A successful token response.
#[derive(Debug, serde::Serialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds the access token works.
    pub expires_in: i64,
    /// The ID token.
    pub id_token: String,
    /// A refresh token, with `offline_access`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The granted scopes.
    pub scope: String,
}

/// What introspection says of a token (RFC 7662 §2.2).
#[derive(Debug, serde::Serialize)]
pub struct Introspection {
    /// Whether it works.
    pub active: bool,
    /// The rest, when active.
    #[serde(flatten)]
    pub details: Option<Value>,
}

/// The `amr` values (RFC 8176) of a login, from the stored first and second factors.
fn amr(first_factor: &str, second_factor: Option<&str>) -> Vec<&'static str> {
    crate::domain::amr(
        crate::domain::FirstFactor::from_stored(first_factor),
        second_factor.and_then(|m| Method::parse(m).ok()),
    )
}

/// PKCE S256 (RFC 7636 §4.2) of a verifier, when the verifier is well formed.
fn s256(verifier: &str) -> Option<String> {
    let ok = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    ok.then(|| B64.encode(Sha256::digest(verifier.as_bytes())))
}

/// A call to the token, introspection or revocation endpoint that did not succeed: the
/// OAuth error to answer, or a failure inside. `?` gathers both.
pub(super) enum Refusal {
    Answer(OAuthError),
    Failed(AuthError),
}

impl From<OAuthError> for Refusal {
    fn from(e: OAuthError) -> Self {
        Self::Answer(e)
    }
}

impl From<AuthError> for Refusal {
    fn from(e: AuthError) -> Self {
        Self::Failed(e)
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Self::Failed(e.into())
    }
}

/// The public answer: `Ok(Err(_))` for an OAuth error, `Err` for a failure inside.
fn settle<T>(r: Result<T, Refusal>) -> Result<Result<T, OAuthError>, AuthError> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(Refusal::Answer(e)) => Ok(Err(e)),
        Err(Refusal::Failed(e)) => Err(e),
    }
}

pub(super) fn refuse<T>(code: OAuthCode, description: &'static str) -> Result<T, Refusal> {
    Err(OAuthError::new(code, description).into())
}

/// What the answers about a redeemed code or refresh token say.
pub(super) struct GrantWords {
    /// Logged when it was used before (a theft signal).
    reused_log: &'static str,
    /// `invalid_grant` for a second use.
    reused: &'static str,
    /// `invalid_grant` for anything else.
    invalid: &'static str,
}

pub(super) const CODE_WORDS: GrantWords = GrantWords {
    reused_log: "an authorization code was used twice; its tokens were revoked",
    reused: "this code was already used; every token issued from it has been revoked",
    invalid: "the code is unknown or expired, or was issued to another client, redirect_uri or code_verifier",
};

const REFRESH_WORDS: GrantWords = GrantWords {
    reused_log: "a rotated refresh token was used again; its chain was revoked",
    reused: "this refresh token was already used; its whole chain has been revoked",
    invalid: "the refresh token is unknown, expired, revoked or another client's",
};

impl ClientCredentials {
    /// The credentials of a request that may carry them in `Authorization: Basic` or in the
    /// form, but not both (RFC 6749 §2.3.1: one authentication method per request).
    fn one_of(basic: &Self, form: &Self) -> Result<Self, Refusal> {
        if basic.client_id.is_none() {
            return Ok(form.clone());
        }
        if form.client_secret.is_some()
            || form
                .client_id
                .as_deref()
                .is_some_and(|i| Some(i) != basic.client_id.as_deref())
        {
            return refuse(
                OAuthCode::InvalidRequest,
                "use one client authentication method: HTTP Basic or the form, not both",
            );
        }
        Ok(basic.clone())
    }
}

impl super::Tokens<'_> {
    /// The authenticated client of a request (RFC 6749 §2.3; a public client by its id).
    async fn client_of(&self, creds: &ClientCredentials) -> Result<ClientRecord, Refusal> {
        Ok(self
            .clients()
            .authenticate_client(creds.client_id.as_deref(), creds.client_secret.as_deref())
            .await??)
    }

    /// The token endpoint.
    ///
    /// # Errors
    /// `Ok(Err(_))` for an OAuth error answer; `Err` for a failure inside.
    pub async fn token(
        &self,
        form: &TokenRequest,
        basic: &ClientCredentials,
    ) -> Result<Result<TokenResponse, OAuthError>, AuthError> {
        settle(self.grant(form, basic).await)
    }

    async fn grant(
        &self,
        form: &TokenRequest,
        basic: &ClientCredentials,
    ) -> Result<TokenResponse, Refusal> {
        let posted = ClientCredentials {
            client_id: form.client_id.clone(),
            client_secret: form.client_secret.clone(),
        };
        let client = self
            .client_of(&ClientCredentials::one_of(basic, &posted)?)
            .await?;
        // The key before the code or refresh token is used: reading (or making) it must not
        // happen inside the transaction that uses them, and its failure must leave them unused.
        let keys = self.keys();
        let key = || keys.signing_key();
        match form.grant_type.as_deref() {
            Some("authorization_code") => self.redeem_code(form, &client, &*key().await?).await,
            Some("refresh_token") => self.refresh(form, &client, &*key().await?).await,
            Some(super::DEVICE_GRANT) => self.redeem_device(form, &client, &*key().await?).await,
            Some(_) => refuse(
                OAuthCode::UnsupportedGrantType,
                "grant_type must be authorization_code, refresh_token or urn:ietf:params:oauth:grant-type:device_code",
            ),
            None => refuse(OAuthCode::InvalidRequest, "grant_type is missing"),
        }
    }

    /// `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6).
    async fn redeem_code(
        &self,
        form: &TokenRequest,
        client: &ClientRecord,
        key: &SigningKey,
    ) -> Result<TokenResponse, Refusal> {
        // A missing parameter is invalid_request; a code that is not one we could have
        // issued is invalid_grant (RFC 6749 §5.2).
        let Some(code) = form.code.as_deref().filter(|c| !c.is_empty()) else {
            return refuse(OAuthCode::InvalidRequest, "code is missing");
        };
        let Some(code) = Token::from_client(code) else {
            return refuse(OAuthCode::InvalidGrant, "the code is malformed");
        };
        let challenge = match form.code_verifier.as_deref() {
            Some(v) => match s256(v) {
                Some(c) => Some(c),
                None => {
                    return refuse(
                        OAuthCode::InvalidRequest,
                        "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
                    );
                }
            },
            None if !(client.allow_no_pkce && client.secret_hash.is_some()) => {
                return refuse(
                    OAuthCode::InvalidRequest,
                    "PKCE is required: send the code_verifier",
                );
            }
            None => None,
        };
        let code_hash = code.hash();
        let redeemed = self
            .auth
            .store
            .grants()
            .redeem_code(&Redemption {
                code_hash: code_hash.as_str(),
                client_id: &client.id,
                redirect_uri: form.redirect_uri.as_deref().unwrap_or(""),
                verifier_challenge: challenge.as_deref(),
                clock: self.session_clock(),
            })
            .await?;
        self.answer(redeemed, &client.id, key, true, &CODE_WORDS)
            .await
    }

    /// `grant_type=refresh_token` (RFC 6749 §6), rotating the refresh token (OAuth 2.0
    /// Security BCP §4.14.2).
    async fn refresh(
        &self,
        form: &TokenRequest,
        client: &ClientRecord,
        key: &SigningKey,
    ) -> Result<TokenResponse, Refusal> {
        let Some(refresh) = form.refresh_token.as_deref().and_then(Token::from_client) else {
            return refuse(
                OAuthCode::InvalidGrant,
                "the refresh_token is missing or malformed",
            );
        };
        let hash = refresh.hash();
        let redeemed = self
            .auth
            .store
            .grants()
            .refresh(hash.as_str(), &client.id, self.now())
            .await?;
        self.answer(redeemed, &client.id, key, false, &REFRESH_WORDS)
            .await
    }

    /// The tokens of a code or refresh token just used up, or why there are none.
    pub(super) async fn answer(
        &self,
        redeemed: Redeemed,
        client_id: &str,
        key: &SigningKey,
        first: bool,
        words: &GrantWords,
    ) -> Result<TokenResponse, Refusal> {
        match redeemed {
            Redeemed::Issued(tx) => Ok(self.issue(tx, client_id, key, first).await?),
            Redeemed::Reused => {
                tracing::warn!(client = %client_id, "{}", words.reused_log);
                refuse(OAuthCode::InvalidGrant, words.reused)
            }
            Redeemed::Invalid => refuse(OAuthCode::InvalidGrant, words.invalid),
        }
    }

    /// Signs the grant's ID token with `key`, then stores its tokens (committing the code's
    /// or refresh token's use with them): a failure before the commit leaves the code or
    /// refresh token unused.
    async fn issue(
        &self,
        tx: Box<GrantTx>,
        client_id: &str,
        key: &SigningKey,
        first: bool,
    ) -> Result<TokenResponse, AuthError> {
        let now = self.now();
        let grant = tx.grant().clone();
        let (access, refresh) = (Token::generate(), Token::generate());
        let offline = grant.scope.split(' ').any(|s| s == "offline_access");
        let mut claims = json!({
            "iss": self.policy.issuer,
            "sub": grant.account_id,
            "aud": client_id,
            "azp": client_id,
            "iat": now.0,
            "exp": now.0 + self.policy.id_token_secs,
            "auth_time": grant.auth_time,
            "amr": amr(&grant.first_factor, grant.second_factor.as_deref()),
        });
        // OIDC Core §12.2: a refreshed ID token carries no nonce.
        if first && let Some(n) = &grant.nonce {
            claims["nonce"] = json!(n);
        }
        // The login session this grant descends from (OIDC Back-Channel Logout 1.0 §2.1;
        // contract v3: every credential descends from a session).
        if let Some(sid) = &grant.session_id {
            claims["sid"] = json!(sid);
        }
        if let Some(acr) = &grant.acr {
            claims["acr"] = json!(acr);
        }
        self.profile_claims(
            &mut claims,
            &grant.scope,
            &AccountId::from_stored(grant.account_id.clone()),
            &grant.username,
        )
        .await?;
        let id_token = key.sign(&claims)?;
        let (ah, rh) = (access.hash(), refresh.hash());
        let mut tokens = vec![NewToken {
            hash: ah.as_str(),
            kind: "access",
            scope: &grant.scope,
            expires_at: now.plus(self.policy.access_token_secs),
        }];
        if offline {
            tokens.push(NewToken {
                hash: rh.as_str(),
                kind: "refresh",
                scope: &grant.scope,
                // Rotation never moves the grant's absolute end (contract v3).
                expires_at: grant
                    .refresh_until
                    .map_or(now.plus(self.policy.refresh_token_secs), |until| {
                        UnixTime(until.min(now.0 + self.policy.refresh_token_secs))
                    }),
            });
        }
        tx.issue(now, &tokens).await?;
        Ok(TokenResponse {
            access_token: access.reveal().to_owned(),
            token_type: "Bearer",
            expires_in: self.policy.access_token_secs,
            id_token,
            refresh_token: offline.then(|| refresh.reveal().to_owned()),
            scope: grant.scope.clone(),
        })
    }

    /// The claims that scopes add (in the ID token and userinfo alike, so that clients
    /// reading only one of them see the same).
    async fn profile_claims(
        &self,
        claims: &mut Value,
        scope: &str,
        account: &AccountId,
        username: &str,
    ) -> Result<(), AuthError> {
        let scopes: Vec<&str> = scope.split(' ').collect();
        if scopes.contains(&"profile") {
            claims["preferred_username"] = json!(username);
            claims["name"] = json!(username);
        }
        // Only a confirmed address is ever stored on the account (`auth/email.rs`).
        if scopes.contains(&"email")
            && let (Some(email), _) = self.auth.store.email().email_of(account).await?
        {
            claims["email"] = json!(email.as_str());
            claims["email_verified"] = json!(true);
        }
        if scopes.contains(&"phone")
            && let Some((phone, _)) = self.auth.store.two_factor().record(account).await?.phone
        {
            claims["phone_number"] = json!(phone.e164());
            claims["phone_number_verified"] = json!(true);
        }
        // The account's groups, by name (issue 25); `[]` for none.
        if scopes.contains(&"groups") {
            claims["groups"] = json!(self.auth.groups().of(account).await?);
        }
        Ok(())
    }

    /// The userinfo endpoint (OIDC Core §5.3): the claims for a live access token.
    ///
    /// # Errors
    /// `Ok(Err(invalid_token))` for a missing, unknown, expired or revoked token.
    pub async fn userinfo(
        &self,
        bearer: Option<&str>,
    ) -> Result<Result<Value, OAuthError>, AuthError> {
        let invalid = Ok(Err(OAuthError::new(
            OAuthCode::InvalidToken,
            "the access token is missing, expired or revoked",
        )));
        let Some(token) = bearer.and_then(Token::from_client) else {
            return invalid;
        };
        let hash = token.hash();
        let Some(t) = self
            .auth
            .store
            .grants()
            .live_token(hash.as_str(), self.session_clock())
            .await?
        else {
            return invalid;
        };
        if t.kind != "access" {
            return invalid;
        }
        let mut claims = json!({ "sub": t.account_id });
        self.profile_claims(
            &mut claims,
            &t.scope,
            &AccountId::from_stored(t.account_id.clone()),
            &t.username,
        )
        .await?;
        Ok(Ok(claims))
    }

    /// Token introspection (RFC 7662), for the client the token was issued to.
    ///
    /// # Errors
    /// `Ok(Err(invalid_client))` when the caller is not an authenticated client.
    pub async fn introspect(
        &self,
        token: Option<&str>,
        creds: &ClientCredentials,
    ) -> Result<Result<Introspection, OAuthError>, AuthError> {
        settle(self.introspection(token, creds).await)
    }

    async fn introspection(
        &self,
        token: Option<&str>,
        creds: &ClientCredentials,
    ) -> Result<Introspection, Refusal> {
        let client = self.client_of(creds).await?;
        let inactive = Introspection {
            active: false,
            details: None,
        };
        let Some(token) = token.and_then(Token::from_client) else {
            return Ok(inactive);
        };
        let hash = token.hash();
        let Some(t) = self
            .auth
            .store
            .grants()
            .live_token(hash.as_str(), self.session_clock())
            .await?
        else {
            return Ok(inactive);
        };
        // RFC 7662 §4: a client learns nothing of another client's tokens.
        if t.client_id != client.id {
            return Ok(inactive);
        }
        Ok(Introspection {
            active: true,
            details: Some(json!({
                "scope": t.scope,
                "client_id": t.client_id,
                "username": t.username,
                "token_type": if t.kind == "access" { "Bearer" } else { "refresh_token" },
                "exp": t.expires_at,
                "iat": t.created_at,
                "sub": t.account_id,
                "aud": t.client_id,
                "iss": self.policy.issuer,
                "auth_time": t.auth_time,
                "amr": amr(&t.first_factor, t.second_factor.as_deref()),
            })),
        })
    }

    /// Token revocation (RFC 7009): always succeeds for an authenticated client; a refresh
    /// token takes its whole grant with it.
    ///
    /// # Errors
    /// `Ok(Err(invalid_client))` when the caller is not an authenticated client.
    pub async fn revoke(
        &self,
        token: Option<&str>,
        creds: &ClientCredentials,
    ) -> Result<Result<(), OAuthError>, AuthError> {
        settle(self.revocation(token, creds).await)
    }

    async fn revocation(
        &self,
        token: Option<&str>,
        creds: &ClientCredentials,
    ) -> Result<(), Refusal> {
        let client = self.client_of(creds).await?;
        if let Some(token) = token.and_then(Token::from_client) {
            let hash = token.hash();
            self.auth
                .store
                .grants()
                .revoke_token(hash.as_str(), &client.id, self.now())
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(s256("short").is_none());
        assert!(s256(&"a".repeat(129)).is_none());
        assert!(s256(&format!("{}!", "a".repeat(43))).is_none());
    }

    #[test]
    fn amr_values() {
        assert_eq!(amr("pwd", None), ["pwd"]);
        assert_eq!(amr("pwd", Some("totp")), ["pwd", "mfa", "otp"]);
        assert_eq!(
            amr("pwd", Some("backup_code")),
            ["pwd", "mfa", "backup_code"]
        );
        assert_eq!(amr("pwd", Some("sms")), ["pwd", "mfa", "sms"]);
        // Passkeys (issue 24): the stored names reach the words of the contract.
        assert_eq!(amr("pwd", Some("webauthn")), ["pwd", "mfa", "hwk"]);
        assert_eq!(amr("hwk", Some("passkey")), ["hwk", "user", "mfa"]);
        assert_eq!(amr("hwk", None), ["hwk"]);
    }
}
