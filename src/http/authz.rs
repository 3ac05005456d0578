//! Forward authentication endpoints: a reverse proxy asks, for every request to a protected
//! site, whether it may go through.
//!
//! - `/api/authz/forward-auth` (Caddy `forward_auth`, Traefik `ForwardAuth`) reads
//!   `X-Forwarded-Method`, `-Proto`, `-Host`, `-Uri` and `-For`.
//! - `/api/authz/auth-request` (nginx `auth_request`) reads `X-Original-URL`,
//!   `X-Original-Method` and `X-Forwarded-For`.
//!
//! Only peers in `--trusted-proxies` are answered (anyone else could name any URL in those
//! headers and probe the rules, or spoof a client address): `401` otherwise. The answer is
//! `200` with `Remote-User`; `302` to the login page (a browser on forward-auth) or `401`;
//! `403` when the rules refuse this user. For a page load, the nginx endpoint's `401` and
//! `403` carry the login or explanation page in `Location` (nginx cannot percent-encode
//! `rd` itself); its configuration turns them into the redirect.

use std::net::SocketAddr;

use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{ACCEPT, LOCATION, USER_AGENT};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::any;

use super::AppState;
use super::error::ApiError;
use super::extract::{bearer_token, cookie, forwarded_client};
use crate::auth::AccessAnswer;
use crate::crypto::Token;
use crate::domain::{AccessTarget, ClientInfo, SessionKind, canonical_path};

/// The `403` a browser gets from forward-auth: it moves on to Twofold's own page.
#[derive(Template)]
#[template(path = "authz_forbidden_moved.html")]
struct ForbiddenMoved<'a> {
    url: &'a str,
}

/// The two endpoints.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/authz/forward-auth", any(forward_auth))
        .route("/api/authz/auth-request", any(auth_request))
}

/// Which proxy family asks: they name the original request differently, and only
/// forward-auth answers a browser with the redirect itself.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    ForwardAuth,
    AuthRequest,
}

async fn forward_auth(State(state): State<AppState>, req: Request) -> Response {
    check(&state, req, Family::ForwardAuth).await
}

async fn auth_request(State(state): State<AppState>, req: Request) -> Response {
    check(&state, req, Family::AuthRequest).await
}

async fn check(state: &AppState, req: Request, family: Family) -> Response {
    let (parts, _) = req.into_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip().to_canonical());
    let trusted = peer.is_some_and(|ip| state.web.trusted_proxies.iter().any(|n| n.contains(&ip)));
    let Some(peer) = peer.filter(|_| trusted) else {
        tracing::warn!(peer = ?peer, "a forward-auth request from an address outside --trusted-proxies was refused");
        return ApiError::untrusted_proxy().into_response();
    };
    let (target, url) = match original_request(&parts, family) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let client = ClientInfo::new(
        Some(forwarded_client(&parts, &state.web.trusted_proxies, peer).to_string()),
        parts.headers.get(USER_AGENT).and_then(|v| v.to_str().ok()),
    );
    let session = cookie(&parts, state.web.cookies.session).and_then(Token::from_client);
    let bearer = bearer_token(&parts);
    let credential = match (&session, &bearer) {
        (Some(t), _) => Some((t, SessionKind::Web)),
        (None, Some(t)) => Some((t, SessionKind::Api)),
        (None, None) => None,
    };
    let answer = match state.access.check(&target, credential, &client).await {
        Ok(a) => a,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let page_load = wants_page(&parts);

    // Built only when a request is turned away: an allowed check formats nothing.
    let login = || format!("{}/login?{}", state.oidc.issuer(), rd_query(&url));
    let forbidden = || format!("{}/authz/forbidden?{}", state.oidc.issuer(), rd_query(&url));
    // nginx cannot build these URLs itself (it has no percent-encoding): the auth-request
    // answer carries them in `Location` for a page load, for its `error_page` to follow.
    let hint = |res: Response, to: &str| {
        if family == Family::AuthRequest && page_load {
            with_location(res, to)
        } else {
            res
        }
    };
    match answer {
        AccessAnswer::Allow {
            user,
            email,
            groups,
        } => {
            // Always present, empty for nobody (a bypass rule) or no address: a proxy that
            // copies the headers must overwrite whatever the client sent, and Caddy 2.6
            // would otherwise pass on its own placeholder text.
            let header = |v: Option<String>| {
                v.and_then(|v| HeaderValue::from_str(&v).ok())
                    .unwrap_or_else(|| HeaderValue::from_static(""))
            };
            (
                [
                    ("remote-user", header(user)),
                    ("remote-email", header(email)),
                    // Group names hold no comma or space (`GroupName`): joined, they split back.
                    (
                        "remote-groups",
                        header(Some(groups.join(",")).filter(|g| !g.is_empty())),
                    ),
                ],
                StatusCode::OK,
            )
                .into_response()
        }
        AccessAnswer::Login if family == Family::ForwardAuth && page_load => {
            with_location(StatusCode::FOUND.into_response(), &login())
        }
        AccessAnswer::Login => hint(unauthenticated(), &login()),
        AccessAnswer::Denied | AccessAnswer::TwoFactorNeeded
            if family == Family::ForwardAuth && page_load =>
        {
            // Shown on the protected site's origin, so the page itself lives on Twofold:
            // this one only moves the browser there (it says why, and offers two-factor
            // set-up when that is what is missing).
            match (ForbiddenMoved { url: &forbidden() }).render() {
                Ok(page) => (StatusCode::FORBIDDEN, Html(page)).into_response(),
                Err(_) => StatusCode::FORBIDDEN.into_response(),
            }
        }
        AccessAnswer::TwoFactorNeeded => hint(
            ApiError::forward_auth_two_factor().into_response(),
            &forbidden(),
        ),
        AccessAnswer::Denied => hint(
            ApiError::forward_auth_denied().into_response(),
            &forbidden(),
        ),
    }
}

fn with_location(mut res: Response, to: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(to) {
        res.headers_mut().insert(LOCATION, v);
    }
    res
}

fn unauthenticated() -> Response {
    ApiError::forward_auth_login().into_response()
}

/// `rd=<url>`, percent-encoded.
fn rd_query(url: &url::Url) -> String {
    serde_urlencoded::to_string([("rd", url.as_str())]).unwrap_or_default()
}

/// A browser loading a page (it accepts HTML and is not a script's `fetch`/XHR) gets the
/// redirect; anything else a status it can act on.
fn wants_page(parts: &Parts) -> bool {
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    header(ACCEPT.as_str()).contains("text/html")
        && !header("x-requested-with").eq_ignore_ascii_case("xmlhttprequest")
}

fn bad(message: String) -> ApiError {
    tracing::warn!(%message, "a forward-auth request could not be read; check the proxy's configuration");
    ApiError::bad_forwarded_request(message)
}

/// The value of a header the proxy must send at most once (a second copy would mean the
/// client added one of its own, and which one counts would be a guess).
fn single<'a>(parts: &'a Parts, name: &str) -> Result<Option<&'a str>, ApiError> {
    let mut all = parts.headers.get_all(name).iter();
    let Some(first) = all.next() else {
        return Ok(None);
    };
    if all.next().is_some() {
        return Err(bad(format!("{name} was sent more than once")));
    }
    let v = first
        .to_str()
        .map_err(|_| bad(format!("{name} is not plain text")))?
        .trim();
    // A list-valued header joined by a proxy (`https, http`) holds a comma; a URL may hold
    // one of its own (`/search?tags=a,b`), so the URL headers are not judged by it.
    if v.contains(',') && !matches!(name, "x-forwarded-uri" | "x-original-url") {
        return Err(bad(format!("{name} holds more than one value")));
    }
    Ok(Some(v))
}

/// `raw` (`scheme://authority/path?query`) with its path in the one canonical form the rules
/// are matched on, or `400` when there is none (`domain::canonical_path`): the proxy passes
/// the path on as sent, and the site behind it must not read a path the rules did not.
fn canonical_url(raw: &str) -> Result<String, ApiError> {
    let not_url = || bad("the original URL is not a URL".into());
    let (scheme, rest) = raw.split_once("://").ok_or_else(not_url)?;
    let path_at = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(path_at);
    let (path, query) = match tail.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (tail, None),
    };
    let path = if path.is_empty() { "/" } else { path };
    let path = canonical_path(path).map_err(|why| {
        tracing::warn!(reason = %why, "a forward-auth path was refused before any rule was read");
        ApiError::bad_path(why)
    })?;
    Ok(match query {
        Some(q) => format!("{scheme}://{authority}{path}?{q}"),
        None => format!("{scheme}://{authority}{path}"),
    })
}

/// The request the proxy asks about, its path canonical ([`canonical_url`]), and its URL
/// for `rd`.
fn original_request(parts: &Parts, family: Family) -> Result<(AccessTarget, url::Url), ApiError> {
    let (raw, method) = match family {
        Family::ForwardAuth => {
            let proto = single(parts, "x-forwarded-proto")?
                .ok_or_else(|| bad("X-Forwarded-Proto is missing".into()))?;
            let host = single(parts, "x-forwarded-host")?
                .ok_or_else(|| bad("X-Forwarded-Host is missing".into()))?;
            let uri = single(parts, "x-forwarded-uri")?.unwrap_or("/");
            if !matches!(proto, "http" | "https") {
                return Err(bad(format!(
                    "X-Forwarded-Proto {proto:?} is not http or https"
                )));
            }
            // A host, maybe a port: nothing that could end the authority early and leave the
            // rest to be read as another host.
            if host.is_empty()
                || !host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            {
                return Err(bad("X-Forwarded-Host is not a host name".into()));
            }
            if !uri.starts_with('/') {
                return Err(bad("X-Forwarded-Uri must start with /".into()));
            }
            (
                format!("{proto}://{host}{uri}"),
                single(parts, "x-forwarded-method")?,
            )
        }
        Family::AuthRequest => (
            single(parts, "x-original-url")?
                .ok_or_else(|| bad("X-Original-URL is missing".into()))?
                .to_owned(),
            single(parts, "x-original-method")?,
        ),
    };
    let raw = canonical_url(&raw)?;
    let url = url::Url::parse(&raw).map_err(|_| bad("the original URL is not a URL".into()))?;
    let method = method.unwrap_or("GET");
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(bad(format!(
            "the original method {method:?} is not an HTTP method"
        )));
    }
    let target = AccessTarget::from_url(&url, method)
        .ok_or_else(|| bad("the original URL must be http(s)://host/…".into()))?;
    Ok((target, url))
}
