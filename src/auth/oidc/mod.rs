//! Sign in with Twofold: an OpenID Connect provider (OIDC Core 1.0, authorization code flow
//! with PKCE, RFC 7636), so that other apps log their users in with Twofold's password,
//! second factor and backup codes.
//!
//! `clients.rs` registers relying parties (by the rules of `registration.rs`), edits,
//! removes and authenticates them, `authorize.rs` decides
//! what an authorization request leads to (the login, the 2FA set-up, the consent page, a
//! code, or an error), `tokens.rs` is the token endpoint with userinfo, introspection and
//! revocation, `logout.rs` RP-initiated logout. Everything lives in the database, so several
//! nodes serve one provider; signing keys are sealed there under a key derived from the
//! server secret.
//!
//! The OAuth `error_description`s here are protocol text for developers wiring an app, not
//! sentences people read; those stay in `http::error`.

mod authorize;
mod back_channel;
mod clients;
mod device;
mod keys;
mod logout;
mod pushed;
mod registration;
mod tokens;

use std::sync::Arc;

pub use authorize::{AuthorizeRequest, AuthorizeStep, ConnectedApp};
pub use clients::{ClientSecret, DEFAULT_CLIENT_SCOPES, NewClient, OidcClient};
pub use device::{DEVICE_GRANT, DeviceApproval, DeviceStart};
pub use logout::{LogoutRequest, LogoutStep};
pub use pushed::{PushedRequest, REQUEST_URI_PREFIX};
pub use registration::{ClientFault, ClientField, ClientProblem, MAX_URIS};
pub use tokens::{ClientCredentials, Introspection, TokenRequest, TokenResponse};

pub use back_channel::BACKCHANNEL_LOGOUT_EVENT;
pub use keys::{JWKS_MAX_AGE_SECS, KEY_CACHE_SECS, PUBLISH_AHEAD_SECS};

use super::Auth;
use crate::domain::UnixTime;

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
    /// Refresh tokens, idle: each rotation's new token lives this long (30 days).
    pub refresh_token_secs: i64,
    /// Refresh tokens, absolute: from the login that granted them, never extended by
    /// rotation (90 days; ASVS 5.0 10.4.8).
    pub refresh_absolute_secs: i64,
}

impl Default for OidcPolicy {
    fn default() -> Self {
        Self {
            issuer: "http://localhost".into(),
            code_secs: 60,
            access_token_secs: 600,
            id_token_secs: 600,
            refresh_token_secs: 30 * 86_400,
            refresh_absolute_secs: 90 * 86_400,
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
    /// The device's person has not decided yet (RFC 8628 §3.5).
    AuthorizationPending,
    /// The device polls too fast (RFC 8628 §3.5).
    SlowDown,
    /// The device code expired (RFC 8628 §3.5).
    ExpiredToken,
    /// A `request` object was sent (OIDC Core §3.1.2.6).
    RequestNotSupported,
    /// A `request_uri` was sent (OIDC Core §3.1.2.6).
    RequestUriNotSupported,
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
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::ExpiredToken => "expired_token",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
        }
    }
}

/// Why an app's request is answered with a page and never a redirect (RFC 6749 §4.1.2.1):
/// the page's words are `http`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageProblem {
    /// An unknown `client_id`.
    UnknownClient,
    /// A `redirect_uri` not registered for the client.
    UnknownRedirectUri,
    /// An `id_token_hint` this Twofold did not issue.
    ForeignIdToken,
    /// An `id_token_hint` and a `client_id` that name different apps.
    ClientMismatch,
    /// A `post_logout_redirect_uri` without a hint or a `client_id` saying whose it is.
    LogoutWithoutClient,
    /// A `post_logout_redirect_uri` not registered for the app.
    UnknownPostLogoutUri,
    /// A pushed request's `request_uri` that is unknown, expired, used, or another app's.
    UnknownPushedRequest,
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
pub const SCOPES: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "phone",
    "offline_access",
    // The `groups` claim (issue 25): a client receives it only when registered with it.
    "groups",
];

/// The OpenID Connect provider; cheap to clone.
#[derive(Clone)]
pub struct Oidc {
    auth: Auth,
    policy: Arc<OidcPolicy>,
    /// The signing keys, opened, as last read from the database (`keys.rs`).
    key_cache: Arc<keys::KeyCache>,
    /// What back-channel logout tokens are sent with (`back_channel.rs`).
    http: Option<reqwest::Client>,
}

services! {
    Oidc;
    /// Back-channel logout: the queue of logout tokens, signed and sent to the apps.
    back_channel: BackChannel;
    /// Authorization: the authorize endpoint, consent, codes, the person's connected apps
    /// and RP-initiated logout.
    authorization: Authorization;
    /// Registered clients: add, edit, list, remove, rotate, authenticate, CORS origins.
    clients: Clients;
    /// The device authorization grant (RFC 8628): device codes, `/device`, approval.
    device: Device;
    /// The signing keys: rotation, the JWKS, verification.
    keys: SigningKeys;
    /// The token endpoint, userinfo, introspection and revocation.
    tokens: Tokens;
}

impl Oidc {
    /// The provider over `auth`.
    pub fn new(auth: Auth, policy: OidcPolicy) -> Self {
        Self {
            auth,
            policy: Arc::new(policy),
            key_cache: Arc::default(),
            http: None,
        }
    }

    /// The provider, sending back-channel logout tokens with `http` (built by the
    /// composition root: a short time limit, no redirects).
    pub fn with_back_channel_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
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

    /// Now, and when a login session counts as idle: what the tokens descending from a
    /// session are judged by.
    fn session_clock(&self) -> crate::store::SessionClock {
        let now = self.now();
        crate::store::SessionClock {
            now,
            idle_before: UnixTime(now.0 - self.auth.policy.session_idle_secs),
        }
    }
}
