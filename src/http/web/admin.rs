//! The operator console's people pages (issue 25): `/admin` (counts, latest security
//! events), `/admin/users?q=` (search, pages of 50 by key), `/admin/users/{username}` (status,
//! factors, sessions, apps, groups, activity) and its actions, each behind a confirmation
//! page of its own. Every handler takes [`AdminSession`], which only the gate in
//! `http/extract.rs` hands out; the use cases are `auth.console()`'s.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::PageContext;
use super::csrf::CsrfForm;
use crate::auth::{AccountAction, Actor, AuthError, ConsoleProblem, PersonView};
use crate::domain::{EventKind, describe_user_agent};
use crate::http::AppState;
use crate::http::error::{WebError, message};
use crate::http::extract::{AdminSession, Client};

/// One line of activity as the console shows it.
pub(super) struct Line {
    pub(super) who: String,
    pub(super) what: String,
    pub(super) at: String,
    pub(super) from: String,
}

impl Line {
    fn of(who: String, e: &crate::auth::ActivityEntry) -> Self {
        let what = match &e.detail {
            Some(d) => format!("{} ({d})", EventKind::describe(&e.kind)),
            None => EventKind::describe(&e.kind).to_owned(),
        };
        let from = match (&e.ip, &e.user_agent) {
            (Some(ip), ua) => format!("{ip} · {}", describe_user_agent(ua.as_deref())),
            (None, Some(ua)) => ua.clone(),
            (None, None) => String::new(),
        };
        Self {
            who,
            what,
            at: e.at.human(),
            from,
        }
    }
}

#[derive(Template)]
#[template(path = "admin.html")]
struct OverviewPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    counts: crate::domain::ConsoleCounts,
    events: Vec<Line>,
}

/// `GET /admin`.
pub async fn overview(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: AdminSession(s),
        ..
    }: PageContext<AdminSession>,
) -> Result<Response, WebError> {
    let (counts, events) = state.auth.console().overview().await?;
    let page = OverviewPage {
        user: Some(&s.username),
        csrf,
        counts,
        events: events.into_iter().map(|(u, e)| Line::of(u, &e)).collect(),
    };
    Ok(Html(page.render()?).into_response())
}

/// `?q=…&after=…&done=…`.
#[derive(Deserialize, Default)]
pub struct PeopleQuery {
    #[serde(default)]
    q: String,
    after: Option<String>,
    done: Option<String>,
}

struct PersonRow {
    username: String,
    email: String,
    status: &'static str,
    two_factor: bool,
    admin: bool,
    created: String,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct PeoplePage<'a> {
    user: Option<&'a str>,
    csrf: String,
    q: String,
    people: Vec<PersonRow>,
    next: Option<String>,
    error: Option<String>,
    notice: Option<String>,
}

/// `GET /admin/users?q=`.
pub async fn people(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: AdminSession(s),
        ..
    }: PageContext<AdminSession>,
    q: Result<Query<PeopleQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, WebError> {
    // A query string that is not even a form (a tampered link) is a search for nothing.
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let q_text: String = q.q.chars().take(320).collect();
    let (found, error) = match state
        .auth
        .console()
        .find_people(&q_text, q.after.as_deref())
        .await
    {
        Ok(p) => (p, None),
        Err(e @ AuthError::Console(ConsoleProblem::BadPageKey)) => {
            let page = PeoplePage {
                user: Some(&s.username),
                csrf,
                q: q_text,
                people: Vec::new(),
                next: None,
                error: Some(message(&e)),
                notice: None,
            };
            return Ok((axum::http::StatusCode::BAD_REQUEST, Html(page.render()?)).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let people = found
        .people
        .into_iter()
        .map(|p| PersonRow {
            status: if p.account.disabled_at.is_some() {
                "Disabled"
            } else {
                "Active"
            },
            two_factor: p.account.two_factor_since.is_some(),
            admin: p.admin_since.is_some(),
            created: p.account.created_at.human(),
            email: p.email.unwrap_or_default(),
            username: p.account.username,
        })
        .collect();
    let notice = match (q.done.as_deref(), q.q.as_str()) {
        (Some("deleted"), name) => Some(format!("{name} is deleted.")),
        _ => None,
    };
    let page = PeoplePage {
        user: Some(&s.username),
        csrf,
        q: q_text,
        people,
        next: found.next,
        error,
        notice,
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Template)]
#[template(path = "admin_user.html")]
struct PersonPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    v: PersonView,
    created: String,
    disabled: Option<String>,
    methods: String,
    sessions: Vec<Line>,
    activity: Vec<Line>,
    notice: Option<String>,
}

/// `?done=…` after an action.
#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

/// `GET /admin/users/{username}`.
pub async fn person(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: AdminSession(s),
        ..
    }: PageContext<AdminSession>,
    Path(username): Path<String>,
    done: Result<Query<DoneQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, WebError> {
    let v = state.auth.console().person(&username).await?;
    let r = &v.report;
    let methods = match &r.two_factor {
        Some((since, methods, left)) => format!(
            "On since {} ({}; {left} backup codes left)",
            since.human(),
            methods.join(", ")
        ),
        None => "Off".to_owned(),
    };
    let sessions = v
        .sessions
        .iter()
        .map(|x| Line {
            who: describe_user_agent(x.user_agent.as_deref()),
            what: format!("{:?}", x.kind).to_lowercase(),
            at: x.last_seen_at.human(),
            from: x.ip.clone().unwrap_or_default(),
        })
        .collect();
    let activity = r
        .activity
        .iter()
        .map(|e| Line::of(String::new(), e))
        .collect();
    let notice = done
        .ok()
        .and_then(|Query(d)| d.done)
        .and_then(|d| action_of(&d))
        .map(|a| done_sentence(a).to_owned());
    let page = PersonPage {
        user: Some(&s.username),
        csrf,
        created: r.account.created_at.human(),
        disabled: r.account.disabled_at.map(|t| t.human()),
        methods,
        sessions,
        activity,
        notice,
        v,
    };
    Ok(Html(page.render()?).into_response())
}

/// The action a path segment names.
fn action_of(s: &str) -> Option<AccountAction> {
    Some(match s {
        "disable" => AccountAction::Disable,
        "enable" => AccountAction::Enable,
        "logout" => AccountAction::LogOut,
        "reset-2fa" => AccountAction::ResetTwoFactor,
        "send-recovery" => AccountAction::SendRecovery,
        "delete" => AccountAction::Delete,
        "grant-admin" => AccountAction::GrantAdmin,
        "revoke-admin" => AccountAction::RevokeAdmin,
        _ => return None,
    })
}

/// The path segment of an action.
fn segment(a: AccountAction) -> &'static str {
    match a {
        AccountAction::Disable => "disable",
        AccountAction::Enable => "enable",
        AccountAction::LogOut => "logout",
        AccountAction::ResetTwoFactor => "reset-2fa",
        AccountAction::SendRecovery => "send-recovery",
        AccountAction::Delete => "delete",
        AccountAction::GrantAdmin => "grant-admin",
        AccountAction::RevokeAdmin => "revoke-admin",
    }
}

/// What the confirmation page asks and says: title, what happens, the button.
fn wording(a: AccountAction) -> (&'static str, &'static str, &'static str) {
    match a {
        AccountAction::Disable => (
            "Disable this account?",
            "They can no longer log in, and every session and app token of theirs ends at once. They are told.",
            "Disable account",
        ),
        AccountAction::Enable => (
            "Enable this account?",
            "They can log in again; the wrong-password limits are lifted. They are told.",
            "Enable account",
        ),
        AccountAction::LogOut => (
            "Log out everywhere?",
            "Every session and app token of theirs ends at once; they log in again. They are told.",
            "Log out everywhere",
        ),
        AccountAction::ResetTwoFactor => (
            "Reset two-factor authentication?",
            "Their phone, authentication app, passkeys and backup codes are removed, and every session ends; they log in with their password alone and set it up again. Check who they are first. They are told.",
            "Reset two-factor authentication",
        ),
        AccountAction::SendRecovery => (
            "Send a recovery link?",
            "A password-reset link goes to their confirmed email address, or a code to their phone. It asks for their second factor when two-factor authentication is on.",
            "Send recovery link",
        ),
        AccountAction::Delete => (
            "Delete this account?",
            "The account and everything kept about it are deleted: sessions, app tokens, factors, activity. This cannot be undone.",
            "Delete account",
        ),
        AccountAction::GrantAdmin => (
            "Make this account an admin?",
            "They can use this console after a two-factor login.",
            "Make admin",
        ),
        AccountAction::RevokeAdmin => (
            "Take the admin role away?",
            "They can no longer use this console.",
            "Remove admin role",
        ),
    }
}

fn done_sentence(a: AccountAction) -> &'static str {
    match a {
        AccountAction::Disable => "The account is disabled; every session has ended.",
        AccountAction::Enable => "The account is enabled and can log in again.",
        AccountAction::LogOut => "The account is logged out everywhere.",
        AccountAction::ResetTwoFactor => "Two-factor authentication is off for this account.",
        AccountAction::SendRecovery => "A recovery link or code is on its way.",
        AccountAction::Delete => "The account is deleted.",
        AccountAction::GrantAdmin => "The account is an admin.",
        AccountAction::RevokeAdmin => "The account is no longer an admin.",
    }
}

#[derive(Template)]
#[template(path = "admin_confirm.html")]
struct ConfirmPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    username: String,
    segment: &'static str,
    title: &'static str,
    lead: &'static str,
    button: &'static str,
    danger: bool,
    myself: bool,
    reason: String,
    error: Option<String>,
}

fn confirm_page(
    s: &crate::auth::CurrentSession,
    csrf: String,
    username: &str,
    a: AccountAction,
    reason: String,
    error: Option<String>,
) -> Result<String, WebError> {
    let (title, lead, button) = wording(a);
    Ok(ConfirmPage {
        user: Some(&s.username),
        csrf,
        username: username.to_owned(),
        segment: segment(a),
        title,
        lead,
        button,
        danger: !matches!(
            a,
            AccountAction::Enable | AccountAction::SendRecovery | AccountAction::GrantAdmin
        ),
        myself: s.username == username,
        reason,
        error,
    }
    .render()?)
}

/// `GET /admin/users/{username}/{action}`: the confirmation page.
pub async fn confirm(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: AdminSession(s),
        ..
    }: PageContext<AdminSession>,
    Path((username, action)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let a = action_of(&action).ok_or_else(WebError::not_found)?;
    let v = state.auth.console().person(&username).await?;
    let name = v.person.account.username;
    Ok(Html(confirm_page(&s, csrf, &name, a, String::new(), None)?).into_response())
}

/// The confirmation form.
#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    myself: Option<String>,
}

/// `POST /admin/users/{username}/{action}`.
pub async fn act(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: AdminSession(s),
        ..
    }: PageContext<AdminSession>,
    Client(client): Client,
    Path((username, action)): Path<(String, String)>,
    CsrfForm(form): CsrfForm<ActionForm>,
) -> Result<Response, WebError> {
    let a = action_of(&action).ok_or_else(WebError::not_found)?;
    let reason: String = form.reason.chars().take(500).collect();
    let actor = Actor::admin(&s, &client);
    match state
        .auth
        .console()
        .act(&actor, &username, a, Some(&reason), form.myself.is_some())
        .await
    {
        Ok(_) if a == AccountAction::Delete => {
            let q = serde_urlencoded::to_string([("done", "deleted"), ("q", username.as_str())])
                .unwrap_or_default();
            Ok(Redirect::to(&format!("/admin/users?{q}")).into_response())
        }
        Ok(_) if s.username == username && a.removes_own_access() => {
            Ok(Redirect::to("/").into_response())
        }
        Ok(_) => {
            let q = serde_urlencoded::to_string([("done", segment(a))]).unwrap_or_default();
            let path = format!("/admin/users/{}?{q}", urlencoding(&username));
            Ok(Redirect::to(&path).into_response())
        }
        Err(e @ AuthError::Console(_)) => {
            let page = confirm_page(&s, csrf, &username, a, reason, Some(message(&e)))?;
            Ok((axum::http::StatusCode::CONFLICT, Html(page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// A path segment, percent-encoded.
pub(super) fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
