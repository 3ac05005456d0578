//! Settings → Connected apps: the apps this account allowed to sign it in with Twofold
//! (OpenID Connect consents), what each may see, and "Disconnect", which ends the app's
//! refresh and access tokens and asks for consent again next time.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::PageContext;
use super::csrf::{CsrfForm, NoFields};
use crate::auth::AuthError;
use crate::http::AppState;
use crate::http::error::WebError;
use crate::http::extract::{Client, WebSession};
use crate::http::scopes::scope_words;

/// One app as the page lists it.
struct AppRow {
    client_id: String,
    name: String,
    /// What it may see, in words.
    sees: String,
    /// It may keep signing in without the person (`offline_access`).
    offline: bool,
    since: String,
}

#[derive(Template)]
#[template(path = "apps.html")]
struct AppsPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    apps: Vec<AppRow>,
    notice: Option<String>,
}

/// `?done=disconnected&app=<client_id>`. The page names the app from the database, never
/// from the link, so a crafted link cannot put words on Twofold's page.
#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
    app: Option<String>,
}

/// What the scopes let an app see, in the consent page's words.
fn sees(scopes: &[String]) -> String {
    let mut words = vec!["your Twofold user id".to_owned()];
    words.extend(
        scopes
            .iter()
            .filter_map(|s| scope_words(s))
            .map(|w| w.replacen("Your", "your", 1)),
    );
    words.join(", ")
}

/// `GET /settings/apps`.
pub async fn page(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: WebSession(s),
        ..
    }: PageContext<WebSession>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, WebError> {
    let apps = state
        .oidc
        .authorization()
        .connected_apps(&s)
        .await?
        .into_iter()
        .map(|a| AppRow {
            sees: sees(&a.scopes),
            offline: a.scopes.iter().any(|s| s == "offline_access"),
            client_id: a.client_id,
            name: a.name,
            since: a.authorized_at.human(),
        })
        .collect();
    let notice = match (q.done.as_deref(), q.app) {
        (Some("disconnected"), app) => {
            let name = match app {
                Some(id) => state
                    .oidc
                    .clients()
                    .list_clients()
                    .await?
                    .into_iter()
                    .find(|c| c.client_id == id)
                    .map(|c| c.name),
                None => None,
            };
            Some(format!(
                "{} is disconnected: it can't sign you in any more without asking again.",
                name.as_deref().unwrap_or("The app")
            ))
        }
        _ => None,
    };
    let page = AppsPage {
        user: Some(&s.username),
        csrf,
        apps,
        notice,
    };
    Ok(Html(page.render()?).into_response())
}

/// `POST /settings/apps/{client_id}/disconnect`.
pub async fn disconnect(
    State(state): State<AppState>,
    WebSession(s): WebSession,
    Client(client): Client,
    Path(client_id): Path<String>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, WebError> {
    match state
        .oidc
        .authorization()
        .revoke_app(&s, &client_id, &client)
        .await
    {
        // Already gone (a second tab, another device): the page says so the same way.
        Ok(()) | Err(AuthError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    let q = serde_urlencoded::to_string([("done", "disconnected"), ("app", client_id.as_str())])
        .unwrap_or_default();
    Ok(Redirect::to(&format!("/settings/apps?{q}")).into_response())
}
