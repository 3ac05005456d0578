//! The operator console's invitations (issue 25): `/admin/invitations` lists the newest
//! (open, used, expired), makes one — bound to an address, into a group — and shows its link
//! once, on the answer to the form and nowhere else; an unused one is revoked after a
//! confirmation. Behind the same gate as every `/admin` path.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::PageContext;
use super::csrf::{CsrfForm, NoFields};
use crate::auth::{Actor, AuthError, CurrentSession};
use crate::domain::{InvitationState, SignUpMode, UnixTime};
use crate::http::AppState;
use crate::http::error::{WebError, message, sentence};
use crate::http::extract::{AdminSession, Client};

struct Row {
    id: String,
    email: String,
    group: String,
    state: &'static str,
    open: bool,
    by: String,
    made: String,
    until: String,
    used_by: String,
}

#[derive(Template)]
#[template(path = "admin_invitations.html")]
struct InvitationsPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    mode: &'static str,
    rows: Vec<Row>,
    groups: Vec<String>,
    /// The link just made: shown on this answer only.
    link: Option<String>,
    email: String,
    group: String,
    error: Option<String>,
    notice: Option<String>,
}

/// What the form had, and what happened.
#[derive(Default)]
struct Outcome {
    link: Option<String>,
    email: String,
    group: String,
    error: Option<String>,
    notice: Option<String>,
}

async fn page(
    state: &AppState,
    s: &CurrentSession,
    csrf: String,
    o: Outcome,
) -> Result<String, WebError> {
    let invitations = state.auth.invitations();
    let now = state.auth.now().0;
    let rows = invitations
        .list()
        .await?
        .into_iter()
        .map(|i| {
            let st = i.state(now);
            Row {
                state: match st {
                    InvitationState::Open => "Open",
                    InvitationState::Used => "Used",
                    InvitationState::Expired => "Expired",
                },
                open: st == InvitationState::Open,
                made: UnixTime(i.created_at).human(),
                until: UnixTime(i.expires_at).human(),
                email: i.email.unwrap_or_default(),
                group: i.group.unwrap_or_default(),
                used_by: i.used_by.unwrap_or_default(),
                by: i.created_by,
                id: i.id,
            }
        })
        .collect();
    let groups = state
        .auth
        .groups()
        .list()
        .await?
        .into_iter()
        .map(|g| g.name)
        .collect();
    Ok(InvitationsPage {
        user: Some(&s.username),
        csrf,
        mode: match invitations.mode() {
            SignUpMode::Open => "open: anyone can make an account, with or without an invitation",
            SignUpMode::Invite => {
                "by invitation: only someone with an invitation link can make an account"
            }
            SignUpMode::Closed => {
                "closed: no one can make an account, invitations included (--sign-up)"
            }
        },
        rows,
        groups,
        link: o.link,
        email: o.email,
        group: o.group,
        error: o.error,
        notice: o.notice,
    }
    .render()?)
}

/// `?done=revoked`.
#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

/// `GET /admin/invitations`.
pub async fn list(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: AdminSession(s),
        ..
    }: PageContext<AdminSession>,
    done: Result<Query<DoneQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, WebError> {
    let notice = match done.ok().and_then(|Query(d)| d.done).as_deref() {
        Some("revoked") => Some("The invitation is revoked; its link no longer works.".to_owned()),
        _ => None,
    };
    let outcome = Outcome {
        notice,
        ..Outcome::default()
    };
    Ok(Html(page(&state, &s, csrf, outcome).await?).into_response())
}

/// The new invitation's form.
#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    group: String,
}

/// The link as the person will open it: without `--public-url`, on the host the admin's
/// browser used.
fn absolute(state: &AppState, headers: &axum::http::HeaderMap, url: String) -> String {
    if !url.starts_with('/') {
        return url;
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if state.web.secure_cookies {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}{url}")
}

/// `POST /admin/invitations`: make one and show its link, once.
pub async fn create(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: AdminSession(s),
        ..
    }: PageContext<AdminSession>,
    Client(client): Client,
    headers: axum::http::HeaderMap,
    CsrfForm(form): CsrfForm<InviteForm>,
) -> Result<Response, WebError> {
    let email: String = form.email.trim().chars().take(320).collect();
    let group: String = form.group.trim().chars().take(100).collect();
    let made = state
        .auth
        .invitations()
        .create(
            &Actor::admin(&s, &client),
            Some(email.as_str()),
            Some(group.as_str()),
        )
        .await;
    let (status, outcome) = match made {
        Ok(link) => {
            let url = absolute(&state, &headers, link.url);
            (
                StatusCode::OK,
                Outcome {
                    link: Some(url),
                    notice: Some(
                        "The invitation is made. Copy its link now and send it to the person: it is not shown again.".to_owned(),
                    ),
                    ..Outcome::default()
                },
            )
        }
        Err(
            e @ (AuthError::InvalidEmail(_)
            | AuthError::InvalidGroupName(_)
            | AuthError::Console(_)),
        ) => (
            if matches!(e, AuthError::Console(_)) {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            },
            Outcome {
                error: Some(sentence(&message(&e))),
                email,
                group,
                ..Outcome::default()
            },
        ),
        Err(e) => return Err(e.into()),
    };
    let mut res = (status, Html(page(&state, &s, csrf, outcome).await?)).into_response();
    // The link is a credential for one sign-up: no cache keeps it.
    res.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

#[derive(Template)]
#[template(path = "admin_invitation_revoke.html")]
struct RevokePage<'a> {
    user: Option<&'a str>,
    csrf: String,
    id: String,
    email: String,
}

/// `GET /admin/invitations/{id}/revoke`: the confirmation page.
pub async fn confirm_revoke(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: AdminSession(s),
        ..
    }: PageContext<AdminSession>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let i = state.auth.invitations().get(&id).await?;
    if i.used_at.is_some() {
        return Err(WebError::not_found());
    }
    let page = RevokePage {
        user: Some(&s.username),
        csrf,
        email: i.email.unwrap_or_default(),
        id: i.id,
    };
    Ok(Html(page.render()?).into_response())
}

/// `POST /admin/invitations/{id}/revoke`.
pub async fn revoke(
    State(state): State<AppState>,
    AdminSession(s): AdminSession,
    Client(client): Client,
    Path(id): Path<String>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, WebError> {
    state
        .auth
        .invitations()
        .revoke(&Actor::admin(&s, &client), &id)
        .await?;
    Ok(Redirect::to("/admin/invitations?done=revoked").into_response())
}
