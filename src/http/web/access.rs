//! `/authz/forbidden?rd=URL`: the page a person lands on when a protected site's access rules
//! refuse their login (forward authentication sends browsers here). It says why, and when
//! what is missing is two-factor authentication, offers to turn it on and come back.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{PageContext, destination};
use crate::auth::AccessAnswer;
use crate::domain::AccessTarget;
use crate::http::AppState;
use crate::http::error::WebError;
use crate::http::extract::WebSession;

#[derive(Template)]
#[template(path = "authz_forbidden.html")]
struct ForbiddenPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    /// The protected site's host, as the person typed it.
    site: &'a str,
    /// The page they asked for.
    rd: &'a str,
    /// Turning two-factor on would open it.
    needs_two_factor: bool,
    /// `/settings/two-factor?required=1&next=…`.
    set_up: String,
}

/// `?rd=`.
#[derive(Deserialize)]
pub struct ForbiddenQuery {
    rd: Option<String>,
}

/// `GET /authz/forbidden`.
pub async fn page(
    State(state): State<AppState>,
    PageContext { csrf, session, .. }: PageContext<Option<WebSession>>,
    Query(q): Query<ForbiddenQuery>,
) -> Result<Response, WebError> {
    let rd = destination(&state.web, q.rd.as_deref());
    let target = url::Url::parse(&rd)
        .ok()
        .filter(|_| !rd.starts_with('/'))
        .and_then(|u| AccessTarget::from_url(&u, "GET"));
    let Some(target) = target else {
        return Err(WebError::no_protected_site());
    };
    let query = serde_urlencoded::to_string([("rd", rd.as_str())]).unwrap_or_default();
    let Some(WebSession(s)) = session else {
        return Ok(Redirect::to(&format!("/login?{query}")).into_response());
    };
    let needs_two_factor = match state.access.answer_for(&target, &s).await? {
        // Allowed now (two-factor was just turned on and used, say): on to the page.
        AccessAnswer::Allow { .. } => return Ok(Redirect::to(&rd).into_response()),
        AccessAnswer::Login => {
            return Ok(Redirect::to(&format!("/login?{query}")).into_response());
        }
        AccessAnswer::TwoFactorNeeded => true,
        AccessAnswer::Denied => false,
    };
    let set_up = format!(
        "/settings/two-factor?{}",
        serde_urlencoded::to_string([("required", "1"), ("next", rd.as_str())]).unwrap_or_default()
    );
    let page = ForbiddenPage {
        user: Some(&s.username),
        csrf,
        site: &target.host,
        rd: &rd,
        needs_two_factor,
        set_up,
    };
    Ok((StatusCode::FORBIDDEN, Html(page.render()?)).into_response())
}
