//! Pushed authorization requests (RFC 9126): an app posts its authorization request to
//! `/oidc/par` with its client authentication, and sends the browser with only `client_id`
//! and the `request_uri` it got back. The parameters never pass through the browser's
//! address bar on the way in, and are checked (the client, its redirect URI) before any
//! browser is involved. A pushed request lives 60 seconds and is taken once.

use super::authorize::{AuthorizeRequest, pkce_problem};
use super::{ClientCredentials, OAuthCode, OAuthError, PageProblem};
use crate::auth::AuthError;
use crate::crypto::Token;

/// What every `request_uri` from `/oidc/par` starts with (RFC 9126 §2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// How long a pushed request waits for its authorization request.
const PUSHED_SECS: i64 = 60;

/// The answer to a push (RFC 9126 §2.2).
#[derive(Debug, serde::Serialize)]
pub struct PushedRequest {
    /// What the authorization request names.
    pub request_uri: String,
    /// Seconds it is good for.
    pub expires_in: i64,
}

impl super::Authorization<'_> {
    /// Checks and keeps a pushed authorization request (RFC 9126 §2.1): the client
    /// authenticated as at the token endpoint, its redirect URI registered, `code`, `openid`,
    /// PKCE as an authorization request needs it; no `request_uri` and no `request`.
    ///
    /// # Errors
    /// `Ok(Err(_))` for an OAuth error answer; `Err` for a failure inside.
    pub async fn push(
        &self,
        creds: &ClientCredentials,
        pairs: &[(String, String)],
    ) -> Result<Result<PushedRequest, OAuthError>, AuthError> {
        let client = match self
            .clients()
            .authenticate_client(creds.client_id.as_deref(), creds.client_secret.as_deref())
            .await?
        {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        let bad = |code, d| Ok(Err(OAuthError::new(code, d)));
        let mut seen = std::collections::HashSet::new();
        if pairs.iter().any(|(k, _)| !seen.insert(k.as_str())) {
            return bad(OAuthCode::InvalidRequest, "a parameter was sent twice");
        }
        if pairs
            .iter()
            .any(|(k, v)| k == "client_id" && *v != client.id)
        {
            return bad(
                OAuthCode::InvalidRequest,
                "client_id is not the authenticated client",
            );
        }
        if pairs.iter().any(|(k, _)| k == "request_uri") {
            return bad(OAuthCode::InvalidRequest, "request_uri cannot be pushed");
        }
        let mut params: Vec<(&str, &str)> = pairs
            .iter()
            .filter(|(k, _)| !["client_id", "client_secret"].contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        params.push(("client_id", &client.id));
        let encoded = serde_urlencoded::to_string(&params).unwrap_or_default();
        let Ok(req) = serde_urlencoded::from_str::<AuthorizeRequest>(&encoded) else {
            return bad(OAuthCode::InvalidRequest, "the request could not be read");
        };
        let problem = if req
            .redirect_uri
            .as_deref()
            .is_none_or(|u| !client.redirect_uris.iter().any(|r| r == u))
        {
            Some((
                OAuthCode::InvalidRequest,
                "redirect_uri is not registered for this client",
            ))
        } else if req.response_type.as_deref() != Some("code") {
            Some((
                OAuthCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ))
        } else if !req
            .scope
            .as_deref()
            .unwrap_or("")
            .split_ascii_whitespace()
            .any(|s| s == "openid")
        {
            Some((OAuthCode::InvalidScope, "the scope must include openid"))
        } else if req.request.is_some() {
            Some((
                OAuthCode::RequestNotSupported,
                "request objects are not supported",
            ))
        } else {
            pkce_problem(&req, &client).map(|p| (OAuthCode::InvalidRequest, p))
        };
        if let Some((code, d)) = problem {
            return bad(code, d);
        }
        let token = Token::generate();
        self.auth
            .store
            .grants()
            .put_pushed_request(
                token.hash().as_str(),
                &client.id,
                &encoded,
                self.now().plus(PUSHED_SECS),
            )
            .await?;
        Ok(Ok(PushedRequest {
            request_uri: format!("{REQUEST_URI_PREFIX}{}", token.reveal()),
            expires_in: PUSHED_SECS,
        }))
    }

    /// The request an authorization request's `request_uri` from `/oidc/par` stands for,
    /// taken once and only by the client that pushed it (RFC 9126 §4: the parameters sent
    /// beside it, but `client_id`, are ignored). A request without such a `request_uri` is
    /// itself; one whose pushed request is unknown, expired, used or another client's is an
    /// error page (there is no redirect URI to trust).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn resolve_pushed(
        &self,
        req: AuthorizeRequest,
    ) -> Result<Result<AuthorizeRequest, PageProblem>, AuthError> {
        let Some(rest) = req
            .request_uri
            .as_deref()
            .and_then(|u| u.strip_prefix(REQUEST_URI_PREFIX))
        else {
            return Ok(Ok(req));
        };
        let gone = Ok(Err(PageProblem::UnknownPushedRequest));
        let Some(token) = Token::from_client(rest) else {
            return gone;
        };
        let Some(params) = self
            .auth
            .store
            .grants()
            .take_pushed_request(
                token.hash().as_str(),
                req.client_id.as_deref().unwrap_or(""),
                self.now(),
            )
            .await?
        else {
            return gone;
        };
        Ok(serde_urlencoded::from_str::<AuthorizeRequest>(&params)
            .map_err(|_| PageProblem::UnknownPushedRequest))
    }
}
