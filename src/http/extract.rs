//! Extractors: the gates in front of handlers. A handler that takes [`ApiSession`] or
//! [`WebSession`] cannot run without a live session; one that takes a `Recent…` extractor
//! cannot run without a recent password confirmation.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, OptionalFromRequestParts};
use axum::http::header::{AUTHORIZATION, COOKIE, USER_AGENT};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};

use super::AppState;
use super::error::{ApiError, WebError};
use crate::auth::{AuthError, CurrentSession};
use crate::crypto::Token;
use crate::domain::ClientInfo;
use crate::domain::SessionKind;

/// JSON input whose rejections become [`ApiError`]s in the fixed shape.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct AppJson<T>(pub T);

/// Where the request came from: the client address, the user agent and the browser's
/// device cookie.
///
/// The address is the peer's, unless Twofold is `behind_proxy` and the peer is one of the
/// `trusted_proxies`: then it is the right-most `X-Forwarded-For` entry that is not a
/// trusted proxy itself — entries further left were written by the client and prove
/// nothing (a spoofed header can never choose the address that limits count against).
pub struct Client(pub ClientInfo);

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let ip = client_address(parts, &state.web, peer).map(|ip| ip.to_string());
        let ua = parts.headers.get(USER_AGENT).and_then(|v| v.to_str().ok());
        let mut info = ClientInfo::new(ip, ua);
        info.device = cookie(parts, state.web.cookies.device)
            .and_then(Token::from_client)
            .map(|t| t.hash().as_str().to_owned());
        Ok(Client(info))
    }
}

/// The client address of a request (see [`Client`]).
pub fn client_address(
    parts: &Parts,
    web: &super::WebSettings,
    peer: Option<std::net::IpAddr>,
) -> Option<std::net::IpAddr> {
    // A dual-stack listener sees IPv4 clients as `::ffff:a.b.c.d`: count them as IPv4.
    let peer = peer?.to_canonical();
    if !web.behind_proxy {
        return Some(peer);
    }
    Some(forwarded_client(parts, &web.trusted_proxies, peer))
}

/// The client behind a chain of proxies: `peer` itself unless it is trusted, else the
/// right-most `X-Forwarded-For` hop that is not a trusted proxy (see [`Client`]).
pub fn forwarded_client(
    parts: &Parts,
    trusted_proxies: &[ipnet::IpNet],
    peer: std::net::IpAddr,
) -> std::net::IpAddr {
    let trusted = |ip: &std::net::IpAddr| trusted_proxies.iter().any(|n| n.contains(ip));
    let peer = peer.to_canonical();
    if !trusted(&peer) {
        return peer;
    }
    let mut hops: Vec<std::net::IpAddr> = Vec::new();
    for value in parts.headers.get_all("x-forwarded-for") {
        // Hop by hop, on the raw bytes: a hop that is not an address (not even text, say) is
        // the client's doing, and nothing left of it can be trusted either — but what the
        // trusted proxies appended after it still counts.
        for hop in value.as_bytes().split(|b| *b == b',') {
            match std::str::from_utf8(hop)
                .ok()
                .and_then(|h| h.trim().parse::<std::net::IpAddr>().ok())
            {
                Some(ip) => hops.push(ip.to_canonical()),
                None => hops.clear(),
            }
        }
    }
    hops.into_iter()
        .rev()
        .find(|ip| !trusted(ip))
        .unwrap_or(peer)
}

/// The value of cookie `name` in the request, if it was sent exactly once. Two cookies of
/// one name mean that another site under the cookie domain planted one (a browser sends
/// both, and which comes first is up to it): neither is believed (contract v3, "a request
/// that carries two Twofold session cookies is not logged in").
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    let mut found = parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| v);
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// The token of an `Authorization: Bearer …` header, if well formed.
pub fn bearer_token(parts: &Parts) -> Option<Token> {
    parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .and_then(Token::from_client)
}

/// An API request made with a valid bearer token.
pub struct ApiSession(pub CurrentSession);

impl FromRequestParts<AppState> for ApiSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).ok_or(AuthError::Unauthenticated)?;
        let Client(client) = Client::from_request_parts(parts, state)
            .await
            .unwrap_or_else(|e| match e {});
        Ok(ApiSession(
            state
                .auth
                .sessions()
                .authenticate(&token, SessionKind::Api, &client)
                .await?,
        ))
    }
}

/// An API request whose session confirmed its password within the recent window.
pub struct RecentApiSession(pub CurrentSession);

impl FromRequestParts<AppState> for RecentApiSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ApiSession(session) = ApiSession::from_request_parts(parts, state).await?;
        if !state.auth.sessions().is_recent(&session) {
            return Err(AuthError::ReauthRequired.into());
        }
        Ok(RecentApiSession(session))
    }
}

/// A page request from a logged-in browser; without a session it redirects to `/login`.
pub struct WebSession(pub CurrentSession);

/// Sends the browser to log in (or to confirm its password) and come back here.
pub struct LoginRedirect(Response);

impl IntoResponse for LoginRedirect {
    fn into_response(self) -> Response {
        self.0
    }
}

impl From<WebError> for LoginRedirect {
    fn from(e: WebError) -> Self {
        Self(e.into_response())
    }
}

/// `next=` for coming back here after logging in or confirming the password: this page for
/// a GET; for a form post, the page the form was on (the path of the `Referer`; only the
/// path is kept, and `safe_next` filters it again where it is used).
fn back_here(parts: &Parts) -> String {
    let here = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let path = if parts.method == axum::http::Method::GET {
        here.to_owned()
    } else {
        parts
            .headers
            .get(axum::http::header::REFERER)
            .and_then(|v| v.to_str().ok())
            .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
            .and_then(|rest| rest.find('/').map(|i| rest[i..].to_owned()))
            .unwrap_or_else(|| "/".to_owned())
    };
    serde_urlencoded::to_string([("next", path.as_str())]).unwrap_or_default()
}

impl FromRequestParts<AppState> for WebSession {
    type Rejection = LoginRedirect;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match <WebSession as OptionalFromRequestParts<AppState>>::from_request_parts(parts, state)
            .await?
        {
            Some(s) => Ok(s),
            None => Err(LoginRedirect(
                Redirect::to(&format!("/login?{}", back_here(parts))).into_response(),
            )),
        }
    }
}

impl OptionalFromRequestParts<AppState> for WebSession {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        let Some(token) = cookie(parts, state.web.cookies.session).and_then(Token::from_client)
        else {
            return Ok(None);
        };
        let Client(client) = Client::from_request_parts(parts, state)
            .await
            .unwrap_or_else(|e| match e {});
        match state
            .auth
            .sessions()
            .authenticate(&token, SessionKind::Web, &client)
            .await
        {
            Ok(s) => Ok(Some(WebSession(s))),
            Err(AuthError::Unauthenticated) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// A page request whose session confirmed its password recently; otherwise the browser is
/// sent to "Confirm your password" and brought back.
pub struct RecentWebSession(pub CurrentSession);

impl FromRequestParts<AppState> for RecentWebSession {
    type Rejection = LoginRedirect;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let WebSession(session) =
            <WebSession as FromRequestParts<AppState>>::from_request_parts(parts, state).await?;
        if !state.auth.sessions().is_recent(&session) {
            return Err(LoginRedirect(
                Redirect::to(&format!("/reauth?{}", back_here(parts))).into_response(),
            ));
        }
        Ok(RecentWebSession(session))
    }
}

/// The address of this Twofold as the person sees it, for what leaves the browser (the
/// backup-code sheets): `--public-url`, or else the `Host` the request named — only when it
/// is a plain host name with an optional port, so nothing odd is ever printed.
pub struct Site(pub String);

impl FromRequestParts<AppState> for Site {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(url) = &state.web.public_url {
            return Ok(Site(url.clone()));
        }
        let host = parts
            .headers
            .get(axum::http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .filter(|h| {
                !h.is_empty()
                    && h.len() <= 255
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            });
        Ok(Site(host.map_or_else(
            || state.oidc.issuer().to_owned(),
            str::to_owned,
        )))
    }
}

/// A request into the operator console (`/admin…`) that [`admin_gate`] let through: an
/// admin's browser session, logged in with two factors, confirmed recently. A handler that
/// takes it cannot run for anyone else: without the gate's mark it answers `404`, like a
/// page that does not exist.
#[derive(Clone)]
pub struct AdminSession(pub CurrentSession);

impl FromRequestParts<AppState> for AdminSession {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<AdminSession>()
            .cloned()
            .ok_or_else(WebError::not_found)
    }
}

/// Whether a path is the console's.
fn is_console(path: &str) -> bool {
    path == "/admin" || path.starts_with("/admin/")
}

/// The console's gate, in front of every route and the fallback (deny by default): every
/// path under `/admin`, whatever its method, answers exactly like a page that does not exist
/// unless the browser's session is an admin's whose login used two factors (contract v3;
/// Kanidm GHSA-xxwr-vvr3-2g9f came from a check that one path missed). An admin whose
/// password confirmation is not recent is sent to confirm it first, for pages and changes
/// alike (a console is a place of changes). Nothing else runs before it: no CSRF cookie,
/// no handler, no method check.
pub async fn admin_gate(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if !is_console(req.uri().path()) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let session = match <WebSession as OptionalFromRequestParts<AppState>>::from_request_parts(
        &mut parts, &state,
    )
    .await
    {
        Ok(Some(WebSession(s))) => s,
        Ok(None) | Err(_) => return WebError::not_found().into_response(),
    };
    match state.auth.console().is_admin_session(&session).await {
        Ok(true) => {}
        Ok(false) => return WebError::not_found().into_response(),
        Err(e) => return WebError::from(e).into_response(),
    }
    if !state.auth.sessions().is_recent(&session) {
        return Redirect::to(&format!("/reauth?{}", back_here(&parts))).into_response();
    }
    parts.extensions.insert(AdminSession(session));
    next.run(axum::extract::Request::from_parts(parts, body))
        .await
}
