//! `GET|POST /oidc/authorize`: the browser's side of "Sign in with Twofold". The decision is
//! `oidc.authorization().authorize`; this turns it into the login redirect, the consent
//! page, or the redirect back to the app.

use askama::Template;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::auth::oidc::{AuthorizeRequest, AuthorizeStep};
use crate::http::AppState;
use crate::http::error::WebError;
use crate::http::extract::{Client, WebSession};
use crate::http::web::{MaybeCsrfForm, PageContext};

#[derive(Template)]
#[template(path = "oidc_consent.html")]
struct ConsentPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    client_name: &'a str,
    scopes: Vec<&'static str>,
    offline: bool,
    fields: Vec<(&'static str, String)>,
}

/// The request's parameters as hidden fields for the consent form.
fn hidden_fields(req: &AuthorizeRequest) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut push = |k: &'static str, v: &Option<String>| {
        if let Some(v) = v {
            out.push((k, v.clone()));
        }
    };
    push("client_id", &req.client_id);
    push("redirect_uri", &req.redirect_uri);
    push("response_type", &req.response_type);
    push("scope", &req.scope);
    push("state", &req.state);
    push("nonce", &req.nonce);
    push("code_challenge", &req.code_challenge);
    push("code_challenge_method", &req.code_challenge_method);
    push("max_age", &req.max_age);
    push("prompt", &req.prompt);
    push("login_request", &req.login_request);
    push("id_token_hint", &req.id_token_hint);
    push("acr_values", &req.acr_values);
    out
}

/// This request again (for the return trip from the login), carrying the token of the
/// server's record that the login was asked for (`prompt=login` stays: only that record,
/// checked on the server, lets the new login through).
fn again_url(req: &AuthorizeRequest, login_request: Option<String>) -> String {
    let mut r = req.clone();
    if login_request.is_some() {
        r.login_request = login_request;
    }
    format!(
        "/oidc/authorize?{}",
        serde_urlencoded::to_string(&r).unwrap_or_default()
    )
}

fn with_query(uri: &str, params: &[(&'static str, String)]) -> String {
    let q = serde_urlencoded::to_string(params).unwrap_or_default();
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{q}")
}

/// The origin (`scheme://host:port`) of an absolute URI, for the consent page's CSP.
fn origin_of(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'\'' && b != b';'))
    .then(|| format!("{scheme}://{host}"))
}

async fn answer(
    state: &AppState,
    req: AuthorizeRequest,
    session: Option<WebSession>,
    consent: Option<bool>,
    client: &Client,
    csrf: String,
) -> Result<Response, WebError> {
    // A pushed request (RFC 9126) becomes the request it stands for, here, once: the way
    // back from the login and the consent form carry its parameters, not the used URI.
    let req = match state.oidc.authorization().resolve_pushed(req).await? {
        Ok(r) => r,
        Err(problem) => return Ok(WebError::app_request(problem).into_response()),
    };
    let session = session.map(|s| s.0);
    let step = state
        .oidc
        .authorization()
        .authorize(&req, session.as_ref(), consent, &client.0)
        .await?;
    Ok(match step {
        AuthorizeStep::ErrorPage(problem) => WebError::app_request(problem).into_response(),
        AuthorizeStep::Redirect {
            redirect_uri,
            params,
        } => {
            // A 303 after the consent form would be checked against this site's CSP
            // `form-action`; a plain GET redirect is not.
            let url = with_query(&redirect_uri, &params);
            if consent.is_some() {
                crate::http::moving_on::continue_page(&url)
            } else {
                Redirect::to(&url).into_response()
            }
        }
        AuthorizeStep::Login {
            again,
            login_hint,
            login_request,
        } => {
            let next = again_url(&req, login_request);
            let mut q = vec![("next", next)];
            if again {
                q.push(("again", "1".to_owned()));
            }
            if let Some(h) = login_hint.filter(|h| h.len() <= 64) {
                q.push(("username", h));
            }
            Redirect::to(&format!(
                "/login?{}",
                serde_urlencoded::to_string(&q).unwrap_or_default()
            ))
            .into_response()
        }
        AuthorizeStep::SetUpTwoFactor => {
            let next = again_url(&req, None);
            Redirect::to(&format!(
                "/settings/two-factor?{}",
                serde_urlencoded::to_string([("next", next.as_str()), ("required", "1")])
                    .unwrap_or_default()
            ))
            .into_response()
        }
        AuthorizeStep::Consent {
            client_name,
            scopes,
        } => {
            let user = session.as_ref().map(|s| s.username.as_str());
            let page = ConsentPage {
                user,
                csrf,
                client_name: &client_name,
                scopes: scopes
                    .iter()
                    .filter_map(|s| crate::http::scopes::scope_words(s))
                    .collect(),
                offline: scopes.iter().any(|s| s == "offline_access"),
                fields: hidden_fields(&req),
            };
            let mut res = Html(page.render()?).into_response();
            // The form's answer redirects to the app: its origin must be allowed as a form
            // target, or the browser stops the redirect.
            let target = req
                .redirect_uri
                .as_deref()
                .and_then(origin_of)
                .unwrap_or_default();
            let csp = format!(
                "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
                 connect-src 'self'; form-action 'self' {target}; frame-ancestors 'none'; base-uri 'none'"
            );
            if let Ok(v) = HeaderValue::from_str(&csp) {
                res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
            }
            res
        }
    })
}

/// `GET /oidc/authorize`.
pub async fn get(
    State(state): State<AppState>,
    PageContext { csrf, session, .. }: PageContext<Option<WebSession>>,
    client: Client,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    let req = parse(raw.as_deref())?;
    answer(&state, req, session, None, &client, csrf).await
}

/// `POST /oidc/authorize`: an app's authorization request sent as a form (OIDC Core
/// §3.1.2.1 requires POST besides GET), answered as the same request by GET; or the consent
/// page's Allow or Cancel, the request's fields with `decision` and `csrf`. Only a form that
/// carries this browser's CSRF token may answer the consent. The fields are read as pairs and
/// parsed like the query, because `#[serde(flatten)]` over a form hands every value on as text.
pub async fn post(
    State(state): State<AppState>,
    PageContext { csrf, session, .. }: PageContext<Option<WebSession>>,
    client: Client,
    MaybeCsrfForm { pairs, checked }: MaybeCsrfForm,
) -> Result<Response, WebError> {
    let decision = pairs
        .iter()
        .find(|(k, _)| k == "decision")
        .map(|(_, v)| v == "allow");
    if decision.is_some() && !checked {
        tracing::warn!("a consent was refused: its CSRF token did not match the browser's cookie");
        return Err(WebError::csrf());
    }
    let rest: Vec<&(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != "decision" && k != "csrf")
        .collect();
    let raw = serde_urlencoded::to_string(rest).map_err(|_| unreadable())?;
    let req = parse(Some(&raw))?;
    answer(&state, req, session, decision, &client, csrf).await
}

fn parse(raw: Option<&str>) -> Result<AuthorizeRequest, WebError> {
    let raw = raw.unwrap_or("");
    // Each parameter at most once (RFC 6749 §3.1).
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw).map_err(|_| unreadable())?;
    let mut seen = std::collections::HashSet::new();
    if pairs.iter().any(|(k, _)| !seen.insert(k.clone())) {
        return Err(WebError::sign_in_parameter_twice());
    }
    Query::<AuthorizeRequest>::try_from_uri(&format!("/?{raw}").parse().map_err(|_| unreadable())?)
        .map(|q| q.0)
        .map_err(|_| unreadable())
}

fn unreadable() -> WebError {
    WebError::sign_in_unreadable()
}
