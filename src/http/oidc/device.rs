//! The device authorization grant's pages (RFC 8628 §3.3): `/device`, where a logged-in
//! person types the code a TV or command-line tool shows, sees which app asks for what, and
//! connects or denies it with one press. The decisions and the limits on wrong entries are
//! `oidc.device()`'s.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::auth::AuthError;
use crate::auth::oidc::DeviceApproval;
use crate::http::AppState;
use crate::http::error::{WebError, message, sentence};
use crate::http::extract::{Client, WebSession};
use crate::http::web::{CsrfForm, PageContext};

#[derive(Template)]
#[template(path = "device.html")]
struct DevicePage<'a> {
    user: Option<&'a str>,
    csrf: String,
    /// The code typed, kept when it was wrong.
    typed: String,
    /// Why the code was not taken, and what to do.
    error: Option<String>,
    /// A request found: connect or deny.
    approval: Option<DeviceApproval>,
    scopes: Vec<&'static str>,
    offline: bool,
    /// The decision made: the page's heading.
    done: Option<&'static str>,
    approved: bool,
}

impl<'a> DevicePage<'a> {
    fn new(user: &'a str, csrf: String) -> Self {
        Self {
            user: Some(user),
            csrf,
            typed: String::new(),
            error: None,
            approval: None,
            scopes: Vec::new(),
            offline: false,
            done: None,
            approved: false,
        }
    }

    fn render_with(&self, status: StatusCode) -> Result<Response, WebError> {
        Ok((status, Html(self.render()?)).into_response())
    }

    /// The entry form again with the code as typed and what went wrong; an error the form
    /// cannot help with (a failure inside) is the error page.
    fn refused(mut self, typed: &str, e: AuthError) -> Result<Response, WebError> {
        match e {
            AuthError::DeviceCodeUnknown
            | AuthError::RateLimited { .. }
            | AuthError::TwoFactorLoginRequired => {
                let status = match e {
                    AuthError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                };
                self.typed = typed.chars().take(32).collect();
                self.error = Some(sentence(&message(&e)));
                self.render_with(status)
            }
            e => Err(e.into()),
        }
    }
}

#[derive(serde::Deserialize, Default)]
pub struct DeviceQuery {
    user_code: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    user_code: String,
}

#[derive(serde::Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    user_code: String,
    #[serde(default)]
    decision: String,
}

/// `GET /device[?user_code=…]`: the entry form (the code from a QR code's link filled in;
/// the person still confirms it), after the login.
pub async fn page(
    PageContext {
        csrf,
        session: WebSession(s),
        ..
    }: PageContext<WebSession>,
    Query(q): Query<DeviceQuery>,
) -> Result<Response, WebError> {
    let mut page = DevicePage::new(&s.username, csrf);
    page.typed = q.user_code.unwrap_or_default().chars().take(32).collect();
    page.render_with(StatusCode::OK)
}

/// `POST /device`: the code typed; the app and what it asks for, to connect or deny.
pub async fn enter(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: WebSession(s),
        ..
    }: PageContext<WebSession>,
    client: Client,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<Response, WebError> {
    let page = DevicePage::new(&s.username, csrf);
    match state
        .oidc
        .device()
        .look_up(&s, &form.user_code, &client.0)
        .await
    {
        Ok(approval) => {
            let mut page = page;
            page.scopes = approval
                .scopes
                .iter()
                .filter_map(|s| crate::http::scopes::scope_words(s))
                .collect();
            page.offline = approval.scopes.iter().any(|s| s == "offline_access");
            page.approval = Some(approval);
            page.render_with(StatusCode::OK)
        }
        Err(e) => page.refused(&form.user_code, e),
    }
}

/// `POST /device/decision`: Connect or Deny, once.
pub async fn decision(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: WebSession(s),
        ..
    }: PageContext<WebSession>,
    client: Client,
    CsrfForm(form): CsrfForm<DecisionForm>,
) -> Result<Response, WebError> {
    let approve = form.decision == "approve";
    let mut page = DevicePage::new(&s.username, csrf);
    match state
        .oidc
        .device()
        .decide(&s, &form.user_code, approve, &client.0)
        .await
    {
        Ok(()) => {
            page.done = Some(if approve {
                "Device connected"
            } else {
                "Device denied"
            });
            page.approved = approve;
            page.render_with(StatusCode::OK)
        }
        Err(e) => page.refused(&form.user_code, e),
    }
}
