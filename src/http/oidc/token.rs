//! The back-channel endpoints: token, userinfo, introspection, revocation. Every answer is
//! JSON; errors are OAuth's `{"error","error_description"}` (`http::error::OAuthAnswer`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::auth::AuthError;
use crate::auth::oidc::{ClientCredentials, OAuthCode, OAuthError, TokenRequest};
use crate::http::AppState;
use crate::http::error::{ApiError, OAuthAnswer};

/// Reads a form body; anything unreadable is `invalid_request`, never a 500.
fn form<T: serde::de::DeserializeOwned + Default>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, OAuthAnswer> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if body.is_empty() {
        return Ok(T::default());
    }
    if !is_form {
        return Err(OAuthAnswer::bad(
            OAuthCode::InvalidRequest,
            "send the parameters as application/x-www-form-urlencoded",
        ));
    }
    serde_urlencoded::from_bytes(body).map_err(|_| {
        OAuthAnswer::bad(
            OAuthCode::InvalidRequest,
            "the form could not be read: each parameter once, as text",
        )
    })
}

/// `Authorization: Basic` client credentials (RFC 6749 §2.3.1: each part form-urlencoded).
fn basic(headers: &HeaderMap) -> Result<ClientCredentials, OAuthAnswer> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(ClientCredentials::default());
    };
    let malformed = || {
        OAuthAnswer::from(OAuthError::new(
            OAuthCode::InvalidClient,
            "the Authorization header is not valid HTTP Basic client authentication",
        ))
        .basic_challenge()
    };
    let text = value.to_str().map_err(|_| malformed())?;
    let Some(b64) = text
        .strip_prefix("Basic ")
        .or_else(|| text.strip_prefix("basic "))
    else {
        return Ok(ClientCredentials::default());
    };
    let decoded = STANDARD.decode(b64.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let unescape = |s: &str| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
            .ok()
            .and_then(|v| v.into_iter().next())
            .map(|(_, v)| v)
    };
    Ok(ClientCredentials {
        client_id: Some(unescape(id).ok_or_else(malformed)?),
        client_secret: Some(unescape(secret).ok_or_else(malformed)?),
    })
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))
        .map(|t| t.trim().to_owned())
}

fn no_store(res: impl IntoResponse) -> Response {
    let mut res = res.into_response();
    res.headers_mut()
        .insert(header::PRAGMA, header::HeaderValue::from_static("no-cache"));
    res
}

/// `POST /oidc/token`.
pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let creds = basic(&headers).map_err(IntoResponse::into_response)?;
    let req: TokenRequest = form(&headers, &body).map_err(IntoResponse::into_response)?;
    // RFC 6749 §5.2: a client that tried the Authorization header (Basic or another scheme)
    // is told how to authenticate; one that posted its secret gets no challenge (clients
    // such as openid-client read a challenge as a different failure).
    let used_header = headers.contains_key(axum::http::header::AUTHORIZATION);
    match state.oidc.tokens().token(&req, &creds).await {
        Ok(Ok(answer)) => Ok(no_store(Json(answer))),
        Ok(Err(e)) => {
            let a = OAuthAnswer::from(e);
            Err(if used_header { a.basic_challenge() } else { a }.into_response())
        }
        Err(e) => Err(ApiError::from(e).into_response()),
    }
}

/// `POST /oidc/par` (RFC 9126 §2): an authorization request pushed by its client; `201`
/// with the `request_uri` to send the browser with.
pub async fn pushed(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let basic = basic(&headers).map_err(IntoResponse::into_response)?;
    let pairs: Vec<(String, String)> =
        form(&headers, &body).map_err(IntoResponse::into_response)?;
    let field = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let creds = if basic.client_id.is_some() {
        basic
    } else {
        ClientCredentials {
            client_id: field("client_id"),
            client_secret: field("client_secret"),
        }
    };
    match state.oidc.authorization().push(&creds, &pairs).await {
        Ok(Ok(answer)) => Ok(no_store((axum::http::StatusCode::CREATED, Json(answer)))),
        Ok(Err(e)) => Err(OAuthAnswer::from(e).into_response()),
        Err(e) => Err(ApiError::from(e).into_response()),
    }
}

#[derive(Default, serde::Deserialize)]
struct DeviceForm {
    scope: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// `POST /oidc/device_authorization` (RFC 8628 §3.1): a device's codes.
pub async fn device_authorization(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let basic = basic(&headers).map_err(IntoResponse::into_response)?;
    let f: DeviceForm = form(&headers, &body).map_err(IntoResponse::into_response)?;
    let creds = if basic.client_id.is_some() {
        basic
    } else {
        ClientCredentials {
            client_id: f.client_id,
            client_secret: f.client_secret,
        }
    };
    match state.oidc.device().start(&creds, f.scope.as_deref()).await {
        Ok(Ok(answer)) => Ok(no_store(Json(answer))),
        Ok(Err(e)) => Err(OAuthAnswer::from(e).into_response()),
        Err(e) => Err(ApiError::from(e).into_response()),
    }
}

#[derive(Default, serde::Deserialize)]
struct TokenForm {
    token: Option<String>,
    #[allow(dead_code)]
    token_type_hint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    access_token: Option<String>,
}

fn credentials(basic: ClientCredentials, form: &TokenForm) -> ClientCredentials {
    if basic.client_id.is_some() {
        return basic;
    }
    ClientCredentials {
        client_id: form.client_id.clone(),
        client_secret: form.client_secret.clone(),
    }
}

/// `GET|POST /oidc/userinfo` with a Bearer access token (OIDC Core §5.3; RFC 6750).
pub async fn userinfo(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let posted: TokenForm = form(&headers, &body).map_err(IntoResponse::into_response)?;
    let token = bearer(&headers).or(posted.access_token);
    match state.oidc.tokens().userinfo(token.as_deref()).await {
        Ok(Ok(claims)) => Ok(no_store(Json(claims))),
        Ok(Err(e)) => Err(OAuthAnswer::from(e).into_response()),
        Err(e) => Err(ApiError::from(e).into_response()),
    }
}

/// A client-authenticated request (introspection, revocation): its credentials, by HTTP
/// Basic or in the form (RFC 6749 §2.3.1), and its form.
fn client_request(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(ClientCredentials, TokenForm), OAuthAnswer> {
    let creds = basic(headers)?;
    let f: TokenForm = form(headers, body)?;
    Ok((credentials(creds, &f), f))
}

/// The answer of a client-authenticated endpoint: `ok` of its result, or the OAuth error
/// (an `invalid_client` says how to authenticate, RFC 6749 §5.2), or a generic 500.
fn client_answer<T>(
    result: Result<Result<T, OAuthError>, AuthError>,
    ok: impl FnOnce(T) -> Response,
) -> Response {
    match result {
        Ok(Ok(answer)) => no_store(ok(answer)),
        Ok(Err(e)) => OAuthAnswer::from(e).basic_challenge().into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `POST /oidc/introspect` (RFC 7662), client-authenticated.
pub async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthAnswer> {
    let (creds, f) = client_request(&headers, &body)?;
    Ok(client_answer(
        state
            .oidc
            .tokens()
            .introspect(f.token.as_deref(), &creds)
            .await,
        |answer| Json(answer).into_response(),
    ))
}

/// `POST /oidc/revoke` (RFC 7009), client-authenticated; `200` whatever the token was.
pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthAnswer> {
    let (creds, f) = client_request(&headers, &body)?;
    Ok(client_answer(
        state.oidc.tokens().revoke(f.token.as_deref(), &creds).await,
        |()| axum::http::StatusCode::OK.into_response(),
    ))
}
