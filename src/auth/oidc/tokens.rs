//! The token endpoint (RFC 6749 §3.2, OIDC Core §3.1.3): codes and refresh tokens become
//! access tokens, ID tokens and (with `offline_access`) rotated refresh tokens; and the
//! endpoints that read tokens: userinfo, introspection (RFC 7662), revocation (RFC 7009).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{OAuthCode, OAuthError, Oidc};
use crate::auth::AuthError;
use crate::crypto::Token;
use crate::domain::{AccountId, Method};
use crate::store::{GrantTx, NewToken, Redeemed, Redemption};

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

/// The `amr` values (RFC 8176) of a login.
fn amr(second_factor: Option<&str>) -> Vec<&'static str> {
    match second_factor.and_then(|m| Method::parse(m).ok()) {
        None => vec!["pwd"],
        Some(Method::Totp) => vec!["pwd", "mfa", "otp"],
        Some(Method::Sms) => vec!["pwd", "mfa", "sms"],
        Some(Method::BackupCode) => vec!["pwd", "mfa", "backup_code"],
    }
}

/// PKCE S256 (RFC 7636 §4.2) of a verifier, when the verifier is well formed.
fn s256(verifier: &str) -> Option<String> {
    let ok = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    ok.then(|| B64.encode(Sha256::digest(verifier.as_bytes())))
}

impl Oidc {
    /// The token endpoint.
    ///
    /// # Errors
    /// `Ok(Err(_))` for an OAuth error answer; `Err` for a failure inside.
    pub async fn token(
        &self,
        form: &TokenRequest,
        basic: &ClientCredentials,
    ) -> Result<Result<TokenResponse, OAuthError>, AuthError> {
        if basic.client_id.is_some()
            && (form.client_secret.is_some()
                || form
                    .client_id
                    .as_deref()
                    .is_some_and(|i| Some(i) != basic.client_id.as_deref()))
        {
            return Ok(Err(OAuthError::new(
                OAuthCode::InvalidRequest,
                "use one client authentication method: HTTP Basic or the form, not both",
            )));
        }
        let id = basic.client_id.as_deref().or(form.client_id.as_deref());
        let secret = basic
            .client_secret
            .as_deref()
            .or(form.client_secret.as_deref());
        let client = match self.authenticate_client(id, secret).await? {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        let invalid_grant = |d| Ok(Err(OAuthError::new(OAuthCode::InvalidGrant, d)));
        let now = self.now();
        match form.grant_type.as_deref() {
            Some("authorization_code") => {
                // A missing parameter is invalid_request; a code that is not one we could
                // have issued is invalid_grant (RFC 6749 §5.2).
                let Some(code) = form.code.as_deref().filter(|c| !c.is_empty()) else {
                    return Ok(Err(OAuthError::new(
                        OAuthCode::InvalidRequest,
                        "code is missing",
                    )));
                };
                let Some(code) = Token::from_client(code) else {
                    return invalid_grant("the code is malformed");
                };
                let challenge = match form.code_verifier.as_deref() {
                    Some(v) => match s256(v) {
                        Some(c) => Some(c),
                        None => {
                            return Ok(Err(OAuthError::new(
                                OAuthCode::InvalidRequest,
                                "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
                            )));
                        }
                    },
                    None if client.secret_hash.is_none() => {
                        return Ok(Err(OAuthError::new(
                            OAuthCode::InvalidRequest,
                            "this client is public: send the PKCE code_verifier",
                        )));
                    }
                    None => None,
                };
                let code_hash = code.hash();
                let redeemed = self
                    .auth
                    .store
                    .redeem_code(&Redemption {
                        code_hash: code_hash.as_str(),
                        client_id: &client.id,
                        redirect_uri: form.redirect_uri.as_deref().unwrap_or(""),
                        verifier_challenge: challenge.as_deref(),
                        now,
                    })
                    .await?;
                match redeemed {
                    Redeemed::Issued(tx) => Ok(Ok(self.issue(tx, &client.id, true).await?)),
                    Redeemed::Reused => {
                        tracing::warn!(client = %client.id, "an authorization code was used twice; its tokens were revoked");
                        invalid_grant(
                            "this code was already used; every token issued from it has been revoked",
                        )
                    }
                    Redeemed::Invalid => invalid_grant(
                        "the code is unknown or expired, or was issued to another client, redirect_uri or code_verifier",
                    ),
                }
            }
            Some("refresh_token") => {
                let Some(refresh) = form.refresh_token.as_deref().and_then(Token::from_client)
                else {
                    return invalid_grant("the refresh_token is missing or malformed");
                };
                let hash = refresh.hash();
                let redeemed = self
                    .auth
                    .store
                    .refresh(hash.as_str(), &client.id, now)
                    .await?;
                match redeemed {
                    Redeemed::Issued(tx) => Ok(Ok(self.issue(tx, &client.id, false).await?)),
                    Redeemed::Reused => {
                        tracing::warn!(client = %client.id, "a rotated refresh token was used again; its chain was revoked");
                        invalid_grant(
                            "this refresh token was already used; its whole chain has been revoked",
                        )
                    }
                    Redeemed::Invalid => invalid_grant(
                        "the refresh token is unknown, expired, revoked or another client's",
                    ),
                }
            }
            Some(_) => Ok(Err(OAuthError::new(
                OAuthCode::UnsupportedGrantType,
                "grant_type must be authorization_code or refresh_token",
            ))),
            None => Ok(Err(OAuthError::new(
                OAuthCode::InvalidRequest,
                "grant_type is missing",
            ))),
        }
    }

    /// Stores the tokens of the grant (committing the code's or refresh token's use with
    /// them) and signs its ID token.
    async fn issue(
        &self,
        tx: Box<GrantTx>,
        client_id: &str,
        first: bool,
    ) -> Result<TokenResponse, AuthError> {
        let now = self.now();
        let grant = tx.grant().clone();
        let (access, refresh) = (Token::generate(), Token::generate());
        let offline = grant.scope.split(' ').any(|s| s == "offline_access");
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
                expires_at: now.plus(self.policy.refresh_token_secs),
            });
        }
        tx.issue(now, &tokens).await?;
        let mut claims = json!({
            "iss": self.policy.issuer,
            "sub": grant.account_id,
            "aud": client_id,
            "azp": client_id,
            "iat": now.0,
            "exp": now.0 + self.policy.id_token_secs,
            "auth_time": grant.auth_time,
            "amr": amr(grant.second_factor.as_deref()),
        });
        if first && let Some(n) = &grant.nonce {
            claims["nonce"] = json!(n);
        }
        self.profile_claims(
            &mut claims,
            &grant.scope,
            &AccountId::from_stored(grant.account_id.clone()),
            &grant.username,
        )
        .await?;
        let id_token = self.signing_key().await?.sign(&claims)?;
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
        if scopes.contains(&"phone")
            && let Some((phone, _)) = self.auth.store.two_factor(account).await?.phone
        {
            claims["phone_number"] = json!(phone.e164());
            claims["phone_number_verified"] = json!(true);
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
            .live_token(hash.as_str(), self.now())
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
        let client = match self
            .authenticate_client(creds.client_id.as_deref(), creds.client_secret.as_deref())
            .await?
        {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        let inactive = Ok(Ok(Introspection {
            active: false,
            details: None,
        }));
        let Some(token) = token.and_then(Token::from_client) else {
            return inactive;
        };
        let hash = token.hash();
        let Some(t) = self
            .auth
            .store
            .live_token(hash.as_str(), self.now())
            .await?
        else {
            return inactive;
        };
        if t.client_id != client.id {
            return inactive;
        }
        Ok(Ok(Introspection {
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
                "amr": amr(t.second_factor.as_deref()),
            })),
        }))
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
        let client = match self
            .authenticate_client(creds.client_id.as_deref(), creds.client_secret.as_deref())
            .await?
        {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        if let Some(token) = token.and_then(Token::from_client) {
            let hash = token.hash();
            self.auth
                .store
                .revoke_token(hash.as_str(), &client.id, self.now())
                .await?;
        }
        Ok(Ok(()))
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
        assert_eq!(amr(None), ["pwd"]);
        assert_eq!(amr(Some("totp")), ["pwd", "mfa", "otp"]);
        assert_eq!(amr(Some("backup_code")), ["pwd", "mfa", "backup_code"]);
        assert_eq!(amr(Some("sms")), ["pwd", "mfa", "sms"]);
    }
}
