//! `GET|POST /oidc/logout`: RP-initiated logout. With a valid `id_token_hint` the Twofold
//! session ends at once; without one, the user is asked first (a bare link must not log
//! anyone out).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::auth::oidc::{LogoutRequest, LogoutStep};
use crate::http::AppState;
use crate::http::error::WebError;
use crate::http::extract::{Client, WebSession};
use crate::http::web::{CsrfForm, PageContext};

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
    confirmed: bool,
    csrf: String,
    client: &Client,
) -> Result<Response, WebError> {
    let step = state.oidc.end_session(&req, confirmed).await?;
    let end = |res: Response| -> Result<Response, WebError> { Ok(res) };
    match step {
        LogoutStep::ErrorPage(why) => Err(WebError::new(
            StatusCode::BAD_REQUEST,
            "This logout link doesn't work",
            why,
        )),
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
                state.auth.logout(&s.0, &client.0).await?;
            }
            let mut res = match step {
                LogoutStep::Redirect(url) => super::authorize::continue_page(&url),
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
    answer(&state, req, session, false, csrf, &client).await
}

/// `POST /oidc/logout`: the confirmation form, or an app posting the request.
pub async fn post(
    State(state): State<AppState>,
    PageContext { csrf, session, .. }: PageContext<Option<WebSession>>,
    client: Client,
    CsrfForm(req): CsrfForm<LogoutRequest>,
) -> Result<Response, WebError> {
    answer(&state, req, session, true, csrf, &client).await
}
