//! Sign in with Twofold over HTTP: discovery, the JWKS, the authorization endpoint (with
//! the consent page), the token, userinfo, introspection and revocation endpoints, and
//! RP-initiated logout. The decisions are `auth::oidc`'s; this module reads requests and
//! writes OAuth answers.

pub(crate) mod authorize;
mod cors;
mod device;
mod logout;
mod token;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::AppState;
use super::error::ApiError;

/// The OpenID Connect routes.
pub fn router(state: AppState) -> Router<AppState> {
    let pages = Router::new()
        .route("/oidc/authorize", get(authorize::get).post(authorize::post))
        .route("/oidc/logout", get(logout::get).post(logout::post))
        .route("/device", get(device::page).post(device::enter))
        .route("/device/decision", post(device::decision))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            super::web::ensure_csrf_cookie,
        ));
    // CORS for apps in the browser (`cors.rs`): public documents to any origin, the
    // endpoints that hand out or take tokens to registered apps' origins only.
    let public = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery).options(cors::preflight),
        )
        .route("/oidc/jwks", get(jwks).options(cors::preflight))
        .layer(middleware::from_fn(cors::public));
    let for_clients = |methods: &'static str| {
        middleware::from_fn_with_state((state.clone(), methods), cors::for_clients)
    };
    let apps = Router::new()
        .route("/oidc/token", post(token::token).options(cors::preflight))
        .route("/oidc/revoke", post(token::revoke).options(cors::preflight))
        .route("/oidc/par", post(token::pushed).options(cors::preflight))
        .route(
            "/oidc/device_authorization",
            post(token::device_authorization).options(cors::preflight),
        )
        .layer(for_clients("POST"))
        .merge(
            Router::new()
                .route(
                    "/oidc/userinfo",
                    get(token::userinfo)
                        .post(token::userinfo)
                        .options(cors::preflight),
                )
                .layer(for_clients("GET, POST")),
        );
    Router::new()
        .route("/oidc/introspect", post(token::introspect))
        .merge(public)
        .merge(apps)
        .merge(pages)
}

/// OpenID Connect Discovery 1.0 §3.
async fn discovery(State(state): State<AppState>) -> Response {
    let iss = state.oidc.issuer();
    let body = json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oidc/authorize"),
        "token_endpoint": format!("{iss}/oidc/token"),
        "userinfo_endpoint": format!("{iss}/oidc/userinfo"),
        "jwks_uri": format!("{iss}/oidc/jwks"),
        "introspection_endpoint": format!("{iss}/oidc/introspect"),
        "revocation_endpoint": format!("{iss}/oidc/revoke"),
        "end_session_endpoint": format!("{iss}/oidc/logout"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", crate::auth::oidc::DEVICE_GRANT],
        "device_authorization_endpoint": format!("{iss}/oidc/device_authorization"),
        "pushed_authorization_request_endpoint": format!("{iss}/oidc/par"),
        "require_pushed_authorization_requests": false,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": crate::auth::oidc::SCOPES,
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "amr", "azp",
            "sid", "acr", "preferred_username", "name", "email", "email_verified", "phone_number",
            "phone_number_verified", "groups"],
        "acr_values_supported": crate::domain::ACR_VALUES,
        "prompt_values_supported": ["none", "login", "consent"],
        "authorization_response_iss_parameter_supported": true,
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    });
    (
        [(axum::http::header::CACHE_CONTROL, public_max_age())],
        Json(body),
    )
        .into_response()
}

/// The signing keys (RFC 7517).
async fn jwks(State(state): State<AppState>) -> Result<Response, ApiError> {
    let keys = state.oidc.keys().jwks().await?;
    Ok((
        [(axum::http::header::CACHE_CONTROL, public_max_age())],
        Json(keys),
    )
        .into_response())
}

/// How long relying parties may keep discovery and the JWKS: a new signing key is published
/// that long (and the key cache's minute) before it signs (`auth::oidc::keys`).
fn public_max_age() -> String {
    format!("public, max-age={}", crate::auth::oidc::JWKS_MAX_AGE_SECS)
}
