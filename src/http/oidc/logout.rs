//! `GET|POST /oidc/logout`: RP-initiated logout. With a valid `id_token_hint` the Twofold
//! session ends at once; without one, the user is asked first (a bare link must not log
//! anyone out). An app may also post the request (RP-Initiated Logout 1.0 §2): a post that
//! is not Twofold's own confirmation form (no CSRF token of this browser) is asked about
//! first, because a cross-site post carries no `SameSite=Lax` session cookie to end.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::auth::oidc::{LogoutRequest, LogoutStep};
use crate::http::AppState;
use crate::http::error::WebError;
use crate::http::extract::{Client, WebSession};
use crate::http::web::PageContext;

#[derive(Template)]
#[template(path = "oidc_logout.html")]
struct LogoutPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    confirm: bool,
    fields: Vec<(&'static str, String)>,
}

fn fields(req: &LogoutRequest) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for (k, v) in [
        ("id_token_hint", &req.id_token_hint),
        ("post_logout_redirect_uri", &req.post_logout_redirect_uri),
        ("state", &req.state),
        ("client_id", &req.client_id),
    ] {
        if let Some(v) = v {
            out.push((k, v.clone()));
        }
    }
    out
}

async fn answer(
    state: &AppState,
    req: LogoutRequest,
    session: Option<WebSession>,
    (posted, confirmed): (bool, bool),
    csrf: String,
    client: &Client,
) -> Result<Response, WebError> {
    let current = session.as_ref().map(|s| &s.0);
    let step = match state
        .oidc
        .authorization()
        .end_session(&req, current, confirmed)
        .await?
    {
        // An app's post (not the confirmation form) is confirmed here first.
        LogoutStep::Done | LogoutStep::Redirect(_) if posted && !confirmed => LogoutStep::Confirm,
        step => step,
    };
    let end = |res: Response| -> Result<Response, WebError> { Ok(res) };
    match step {
        LogoutStep::ErrorPage(problem) => Err(WebError::app_request(problem)),
        LogoutStep::Confirm => {
            let page = LogoutPage {
                user: session.as_ref().map(|s| s.0.username.as_str()),
                csrf,
                confirm: true,
                fields: fields(&req),
            };
            end(Html(page.render()?).into_response())
        }
        LogoutStep::Done | LogoutStep::Redirect(_) => {
            if let Some(s) = &session {
                state.auth.sessions().logout(&s.0, &client.0).await?;
            }
            let mut res = match step {
                LogoutStep::Redirect(url) => crate::http::moving_on::continue_page(&url),
                _ => {
                    let page = LogoutPage {
                        user: None,
                        csrf: String::new(),
                        confirm: false,
                        fields: Vec::new(),
                    };
                    Html(page.render()?).into_response()
                }
            };
            let gone = crate::http::set_cookie(&state.web, state.web.cookies.session, "", "/", 0);
            res.headers_mut().append(header::SET_COOKIE, gone);
            end(res)
        }
    }
}

/// `GET /oidc/logout`.
pub async fn get(
    State(state): State<AppState>,
    PageContext { csrf, session, .. }: PageContext<Option<WebSession>>,
    client: Client,
    Query(req): Query<LogoutRequest>,
) -> Result<Response, WebError> {
    answer(&state, req, session, (false, false), csrf, &client).await
}

/// A posted end-session request: the request's fields, and `csrf` when it is the
/// confirmation form.
#[derive(serde::Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    req: LogoutRequest,
}

/// `POST /oidc/logout`: the confirmation form (its CSRF token matches this browser's), or an
/// app posting the request (asked about first).
pub async fn post(
    State(state): State<AppState>,
    PageContext { csrf, session, .. }: PageContext<Option<WebSession>>,
    client: Client,
    body: Bytes,
) -> Result<Response, WebError> {
    let form: LogoutForm =
        serde_urlencoded::from_bytes(&body).map_err(|_| WebError::logout_unreadable())?;
    let confirmed =
        !form.csrf.is_empty() && bool::from(form.csrf.as_bytes().ct_eq(csrf.as_bytes()));
    answer(&state, form.req, session, (true, confirmed), csrf, &client).await
}
