//! The JSON API (`/api/v1`), exactly as `API.md` writes it, described by OpenAPI.
//!
//! The OpenAPI document is generated from the handlers' annotations, so it cannot drift
//! from the routes it describes.

mod accounts;
mod apps;
mod backup_codes;
mod email;
mod me;
mod passkeys;
mod recovery;
mod sessions;
mod two_factor;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use backup_codes::{attachment, codes_text};

use super::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Twofold", description = "Accounts, sessions, two-factor authentication and backup codes."),
    modifiers(&BearerAuth),
    tags((name = "accounts"), (name = "sessions"), (name = "me"), (name = "two-factor"), (name = "backup-codes"), (name = "passkeys"), (name = "email"), (name = "recovery"), (name = "server"))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The API routes, `/healthz` and `/api/v1/openapi.json`.
pub fn router() -> Router<AppState> {
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(accounts::create_account))
        .routes(routes!(sessions::create_session))
        .routes(routes!(sessions::delete_current_session))
        .routes(routes!(sessions::second_step))
        .routes(routes!(sessions::resend_sms))
        .routes(routes!(passkeys::second_step_options))
        .routes(routes!(passkeys::login_options))
        .routes(routes!(passkeys::login))
        .routes(routes!(passkeys::registration_options))
        .routes(routes!(passkeys::list, passkeys::add))
        .routes(routes!(passkeys::remove))
        .routes(routes!(two_factor::status, two_factor::disable))
        .routes(routes!(two_factor::start_totp, two_factor::remove_totp))
        .routes(routes!(two_factor::confirm_totp))
        .routes(routes!(two_factor::start_sms, two_factor::remove_sms))
        .routes(routes!(two_factor::confirm_sms))
        .routes(routes!(backup_codes::view, backup_codes::regenerate))
        .routes(routes!(backup_codes::text_file))
        .routes(routes!(backup_codes::image))
        .routes(routes!(me::me, me::delete_account))
        .routes(routes!(me::reauth))
        .routes(routes!(me::list_sessions, me::delete_other_sessions))
        .routes(routes!(me::delete_session))
        .routes(routes!(me::activity))
        .routes(routes!(me::export))
        .routes(routes!(me::change_password))
        .routes(routes!(email::start, email::remove))
        .routes(routes!(email::confirm))
        .routes(routes!(accounts::password_strength))
        .routes(routes!(recovery::request))
        .routes(routes!(recovery::complete))
        .routes(routes!(apps::list_apps))
        .routes(routes!(apps::revoke_app))
        .split_for_parts();
    common_errors(&mut doc);
    let json: Arc<str> = doc.to_pretty_json().unwrap_or_else(|_| "{}".into()).into();
    router.route(
        "/api/v1/openapi.json",
        get(move || {
            let json = Arc::clone(&json);
            async move {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    json.to_string(),
                )
            }
        }),
    )
}

/// Adds the answers every operation can give to its description: the fixed error shape for
/// unreadable bodies (400, 413, 415, 422) on operations that take one, `401` on those that
/// need a token, and `500`; an operation that can answer `429` names it itself.
fn common_errors(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder};
    let error = |what: &str| -> RefOr<utoipa::openapi::Response> {
        ResponseBuilder::new()
            .description(what)
            .content(
                "application/json",
                Content::new(Some(Ref::from_schema_name("ErrorBody"))),
            )
            .build()
            .into()
    };
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            let r = &mut op.responses.responses;
            if op.request_body.is_some() {
                r.entry("400".into())
                    .or_insert_with(|| error("malformed_json: the body is not JSON"));
                r.entry("413".into())
                    .or_insert_with(|| error("payload_too_large: the body is over 64 KiB"));
                r.entry("415".into()).or_insert_with(|| {
                    error("unsupported_media_type: send Content-Type: application/json")
                });
                r.entry("422".into()).or_insert_with(|| {
                    error("invalid_request: a field is missing or has the wrong type")
                });
            }
            if op.security.is_some() {
                r.entry("401".into()).or_insert_with(|| {
                    error("unauthenticated: the token is missing, expired or logged out")
                });
            }
            r.entry("500".into())
                .or_insert_with(|| error("internal_error: something went wrong on our side"));
        }
    }
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct Health {
    /// `ok` when the database answers.
    status: &'static str,
}

/// Health check: `200 {"status":"ok"}` when the database answers, `503` otherwise.
#[utoipa::path(get, path = "/healthz", tag = "server",
    responses((status = 200, body = Health), (status = 503, body = super::error::ErrorBody)))]
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.auth.health().await {
        Ok(()) => (StatusCode::OK, Json(serde_json::json!({"status": "ok"}))),
        Err(e) => {
            tracing::error!(error = %e, "health check: the database does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    serde_json::json!({"error": {"code": "unavailable", "message": "the database does not answer"}}),
                ),
            )
        }
    }
}
