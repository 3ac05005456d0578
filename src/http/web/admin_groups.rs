//! The operator console's groups and audit pages (issue 25): `/admin/groups` (make, remove
//! after a confirmation, add and take out members) and `/admin/audit` (every admin and
//! operator action, filtered by who, what and on whom, newest first, pages by key). Behind
//! the same gate as every `/admin` path.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::PageContext;
use super::csrf::{CsrfForm, NoFields};
use crate::auth::{Actor, AuthError};
use crate::domain::AuditFilter;
use crate::domain::{UnixTime, describe_user_agent};
use crate::http::AppState;
use crate::http::error::{WebError, message};
use crate::http::extract::{AdminSession, Client};

#[derive(Template)]
#[template(path = "admin_groups.html")]
struct GroupsPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    groups: Vec<crate::domain::GroupRecord>,
    error: Option<String>,
    notice: Option<String>,
    name: String,
}

/// `?done=…`.
#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

async fn groups_page(
    state: &AppState,
    s: &crate::auth::CurrentSession,
    csrf: String,
    error: Option<String>,
    notice: Option<String>,
    name: String,
) -> Result<String, WebError> {
    let groups = state.auth.groups().list().await?;
    Ok(GroupsPage {
        user: Some(&s.username),
        csrf,
        groups,
        error,
        notice,
        name,
    }
    .render()?)
}

/// `GET /admin/groups`.
pub async fn groups(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: AdminSession(s),
        ..
    }: PageContext<AdminSession>,
    done: Result<Query<DoneQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, WebError> {
    let notice = match done.ok().and_then(|Query(d)| d.done).as_deref() {
        Some("added") => Some("The group is made.".to_owned()),
        Some("removed") => Some("The group is removed.".to_owned()),
        Some("member") => Some("The members are changed.".to_owned()),
        _ => None,
    };
    let page = groups_page(&state, &s, csrf, None, notice, String::new()).await?;
    Ok(Html(page).into_response())
}

/// The new group's name, or the member's username.
#[derive(Deserialize)]
pub struct NameForm {
    #[serde(default)]
    name: String,
}

/// Answers a refused change with the groups page and the reason next to the form.
async fn refused(
    state: &AppState,
    s: &crate::auth::CurrentSession,
    csrf: String,
    e: &AuthError,
    typed: String,
) -> Result<Response, WebError> {
    let status = match e {
        AuthError::NotFound => axum::http::StatusCode::NOT_FOUND,
        AuthError::InvalidGroupName(_) => axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        _ => axum::http::StatusCode::CONFLICT,
    };
    let page = groups_page(state, s, csrf, Some(message(e)), None, typed).await?;
    Ok((status, Html(page)).into_response())
}

/// `POST /admin/groups`: make a group.
pub async fn add(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: AdminSession(s),
        ..
    }: PageContext<AdminSession>,
    Client(client): Client,
    CsrfForm(form): CsrfForm<NameForm>,
) -> Result<Response, WebError> {
    let typed: String = form.name.chars().take(100).collect();
    match state
        .auth
        .groups()
        .add(&Actor::admin(&s, &client), &typed)
        .await
    {
        Ok(_) => Ok(Redirect::to("/admin/groups?done=added").into_response()),
        Err(e @ (AuthError::Console(_) | AuthError::InvalidGroupName(_))) => {
            refused(&state, &s, csrf, &e, typed).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "admin_group_remove.html")]
struct RemovePage<'a> {
    user: Option<&'a str>,
    csrf: String,
    name: String,
    members: usize,
}

/// `GET /admin/groups/{name}/remove`: the confirmation page.
pub async fn confirm_remove(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: AdminSession(s),
        ..
    }: PageContext<AdminSession>,
    Path(name): Path<String>,
) -> Result<Response, WebError> {
    let g = state
        .auth
        .groups()
        .list()
        .await?
        .into_iter()
        .find(|g| g.name == name)
        .ok_or_else(WebError::not_found)?;
    let page = RemovePage {
        user: Some(&s.username),
        csrf,
        members: g.members.len(),
        name: g.name,
    };
    Ok(Html(page.render()?).into_response())
}

/// `POST /admin/groups/{name}/remove`.
pub async fn remove(
    State(state): State<AppState>,
    AdminSession(s): AdminSession,
    Client(client): Client,
    Path(name): Path<String>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, WebError> {
    state
        .auth
        .groups()
        .remove(&Actor::admin(&s, &client), &name)
        .await?;
    Ok(Redirect::to("/admin/groups?done=removed").into_response())
}

/// `POST /admin/groups/{name}/members`: add the member named in the form.
pub async fn add_member(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: AdminSession(s),
        ..
    }: PageContext<AdminSession>,
    Client(client): Client,
    Path(name): Path<String>,
    CsrfForm(form): CsrfForm<NameForm>,
) -> Result<Response, WebError> {
    let typed: String = form.name.chars().take(100).collect();
    match state
        .auth
        .groups()
        .set_member(&Actor::admin(&s, &client), &name, &typed, true)
        .await
    {
        Ok(()) => Ok(Redirect::to("/admin/groups?done=member").into_response()),
        Err(AuthError::NotFound) => {
            let e = format!("there is no account called “{typed}”; check the username");
            let page = groups_page(&state, &s, csrf, Some(e), None, String::new()).await?;
            Ok((axum::http::StatusCode::NOT_FOUND, Html(page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/groups/{name}/members/{username}/remove`.
pub async fn remove_member(
    State(state): State<AppState>,
    AdminSession(s): AdminSession,
    Client(client): Client,
    Path((name, username)): Path<(String, String)>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, WebError> {
    state
        .auth
        .groups()
        .set_member(&Actor::admin(&s, &client), &name, &username, false)
        .await?;
    Ok(Redirect::to("/admin/groups?done=member").into_response())
}

/// `?actor=&action=&target=&before=`.
#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: String,
    before: Option<String>,
}

struct AuditLine {
    at: String,
    actor: String,
    via: &'static str,
    from: String,
    action: String,
    target: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    q: AuditQuery,
    lines: Vec<AuditLine>,
    next: Option<String>,
}

/// `GET /admin/audit`.
pub async fn audit(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: AdminSession(s),
        ..
    }: PageContext<AdminSession>,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, WebError> {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let keep =
        |v: &str| Some(v.trim().chars().take(200).collect::<String>()).filter(|v| !v.is_empty());
    let filter = AuditFilter {
        actor: keep(&q.actor),
        action: keep(&q.action),
        target: keep(&q.target),
        // A page key that is not a number (tampered) starts from the newest.
        before: q.before.as_deref().and_then(|b| b.parse().ok()),
    };
    let records = state.auth.console().audit_trail(&filter).await?;
    let next = (records.len() as i64 == crate::auth::AUDIT_PER_PAGE)
        .then(|| records.last().map(|r| r.id.to_string()))
        .flatten();
    let lines = records
        .into_iter()
        .map(|r| AuditLine {
            at: UnixTime(r.at).human(),
            via: if r.via == "cli" { "CLI" } else { "console" },
            from: match (&r.ip, &r.user_agent) {
                (Some(ip), ua) => format!("{ip} · {}", describe_user_agent(ua.as_deref())),
                (None, _) => String::new(),
            },
            actor: r.actor,
            action: r.action,
            target: r.target.unwrap_or_default(),
            reason: r.reason.unwrap_or_default(),
        })
        .collect();
    let page = AuditPage {
        user: Some(&s.username),
        csrf,
        q,
        lines,
        next,
    };
    Ok(Html(page.render()?).into_response())
}

/// The next page of the audit trail with the same filters.
impl AuditPage<'_> {
    fn next_href(&self, before: &str) -> String {
        let q = serde_urlencoded::to_string([
            ("actor", self.q.actor.as_str()),
            ("action", self.q.action.as_str()),
            ("target", self.q.target.as_str()),
            ("before", before),
        ])
        .unwrap_or_default();
        format!("/admin/audit?{q}")
    }
}
