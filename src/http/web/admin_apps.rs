//! The operator console's apps (issue 25): `/admin/apps` lists the OpenID Connect clients;
//! `/admin/apps/new` adds one, `/admin/apps/{client_id}` edits it, `…/rotate-secret` and
//! `…/remove` act after a confirmation page of their own. Behind the same gate as every
//! `/admin` path; the use cases are `oidc.clients()`'s, the ones `twofold client …` calls,
//! so the rules and the audit trail are the same from both.
//!
//! A secret is shown once: in the answer to the form that made it (never in a redirect, a
//! link or a log), on a page no cache keeps (`Cache-Control: no-store`, like every page).

use askama::Template;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::PageContext;
use super::csrf::CsrfForm;
use crate::auth::oidc::{ClientField, ClientSecret, DEFAULT_CLIENT_SCOPES, NewClient, OidcClient};
use crate::auth::{Actor, AuthError, CurrentSession};
use crate::crypto::Token;
use crate::domain::UnixTime;
use crate::http::AppState;
use crate::http::error::{WebError, message, sentence};
use crate::http::extract::{AdminSession, Client};

/// One app in the list.
struct AppRow {
    id: String,
    name: String,
    public: bool,
    redirect_uris: Vec<String>,
    scopes: String,
    flags: Vec<&'static str>,
    created: String,
}

impl AppRow {
    fn of(c: OidcClient) -> Self {
        let mut flags = Vec::new();
        if c.require_two_factor {
            flags.push("two factors required");
        }
        if c.skip_consent {
            flags.push("no consent page");
        }
        if c.allow_no_pkce {
            flags.push("may send no PKCE");
        }
        if c.device {
            flags.push("device flow");
        }
        if c.backchannel_logout_uri.is_some() {
            flags.push("back-channel logout");
        }
        Self {
            scopes: match &c.scopes {
                Some(s) => s.join(" "),
                None => "every scope (registered before scopes were kept)".to_owned(),
            },
            created: UnixTime(c.created_at).human(),
            public: c.public,
            flags,
            id: c.client_id,
            name: c.name,
            redirect_uris: c.redirect_uris,
        }
    }
}

#[derive(Template)]
#[template(path = "admin_apps.html")]
struct AppsPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    apps: Vec<AppRow>,
    notice: Option<&'static str>,
}

/// `?done=…` after a change.
#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

/// `GET /admin/apps`.
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
        Some("edited") => Some("The app is changed. It applies from the next sign-in."),
        Some("removed") => Some("The app is removed; its tokens no longer work."),
        _ => None,
    };
    let apps = state.oidc.clients().list_clients().await?;
    let page = AppsPage {
        user: Some(&s.username),
        csrf,
        apps: apps.into_iter().map(AppRow::of).collect(),
        notice,
    };
    Ok(Html(page.render()?).into_response())
}

/// What the add and edit forms hold, as typed (so a refused form comes back whole).
#[allow(clippy::struct_excessive_bools)]
#[derive(Default)]
struct AppFields {
    name: String,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    backchannel_logout_uri: String,
    public: bool,
    scopes: Vec<String>,
    require_two_factor: bool,
    skip_consent: bool,
    allow_no_pkce: bool,
    device: bool,
}

impl AppFields {
    /// The fields of a posted form (a repeated field: the last one; `scope` may repeat).
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut f = Self::default();
        for (k, v) in pairs {
            match k.as_str() {
                "name" => f.name = v,
                "redirect_uris" => f.redirect_uris = v,
                "post_logout_redirect_uris" => f.post_logout_redirect_uris = v,
                "backchannel_logout_uri" => f.backchannel_logout_uri = v,
                "kind" => f.public = v == "public",
                "scope" => f.scopes.push(v),
                "require_two_factor" => f.require_two_factor = true,
                "skip_consent" => f.skip_consent = true,
                "allow_no_pkce" => f.allow_no_pkce = true,
                "device" => f.device = true,
                _ => {}
            }
        }
        f
    }

    /// The form of a registered app.
    fn of(c: &OidcClient) -> Self {
        Self {
            name: c.name.clone(),
            redirect_uris: c.redirect_uris.join("\n"),
            post_logout_redirect_uris: c.post_logout_redirect_uris.join("\n"),
            backchannel_logout_uri: c.backchannel_logout_uri.clone().unwrap_or_default(),
            public: c.public,
            scopes: c.scopes.clone().unwrap_or_else(|| {
                crate::auth::oidc::SCOPES
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect()
            }),
            require_two_factor: c.require_two_factor,
            skip_consent: c.skip_consent,
            allow_no_pkce: c.allow_no_pkce,
            device: c.device,
        }
    }

    /// What the use case takes: one URI a line, blank lines dropped.
    fn new_client(&self) -> NewClient {
        let lines = |s: &str| -> Vec<String> {
            s.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let back = self.backchannel_logout_uri.trim();
        NewClient {
            name: self.name.clone(),
            redirect_uris: lines(&self.redirect_uris),
            post_logout_redirect_uris: lines(&self.post_logout_redirect_uris),
            public: self.public,
            require_two_factor: self.require_two_factor,
            skip_consent: self.skip_consent,
            scopes: Some(self.scopes.clone()),
            allow_no_pkce: self.allow_no_pkce,
            backchannel_logout_uri: (!back.is_empty()).then(|| back.to_owned()),
            device: self.device,
            known_scopes_only: true,
        }
    }
}

/// A scope's box on the form.
struct ScopeBox {
    name: String,
    words: &'static str,
    checked: bool,
}

/// What a scope gives an app, for the admin choosing it.
fn scope_words(scope: &str) -> &'static str {
    match scope {
        "openid" => "Log people in (needed)",
        "profile" => "Their username",
        "email" => "Their email address",
        "phone" => "Their verified phone number",
        "offline_access" => "Refresh tokens: stays connected after the login ends",
        "groups" => "The groups they are in",
        _ => "Not a scope Twofold knows: kept, never granted",
    }
}

#[derive(Template)]
#[template(path = "admin_app_form.html")]
struct FormPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    /// The app being edited; `None` on the add form.
    editing: Option<String>,
    f: AppFields,
    boxes: Vec<ScopeBox>,
    /// The field at fault (its element id) and what to do.
    error: Option<(&'static str, String)>,
}

impl FormPage<'_> {
    /// The message for the field with this id, if it is the one at fault.
    fn error_of(&self, id: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|(f, _)| *f == id)
            .map(|(_, m)| m.as_str())
    }
}

/// The element id of a field of the form.
fn field_id(f: ClientField) -> &'static str {
    match f {
        ClientField::Name => "name",
        ClientField::RedirectUris => "redirect_uris",
        ClientField::PostLogoutRedirectUris => "post_logout_redirect_uris",
        ClientField::BackchannelLogoutUri => "backchannel_logout_uri",
        ClientField::Scopes => "scopes",
        ClientField::AllowNoPkce => "allow_no_pkce",
    }
}

/// The add or edit form, with a box for every scope Twofold knows and any other the app
/// has already.
fn form_page(
    s: &CurrentSession,
    csrf: String,
    editing: Option<String>,
    f: AppFields,
    registered: &[String],
    error: Option<(&'static str, String)>,
) -> Result<String, WebError> {
    let mut names: Vec<&str> = crate::auth::oidc::SCOPES.to_vec();
    for extra in registered {
        if !names.contains(&extra.as_str()) {
            names.push(extra);
        }
    }
    let boxes = names
        .into_iter()
        .map(|n| ScopeBox {
            name: n.to_owned(),
            words: scope_words(n),
            checked: f.scopes.iter().any(|s| s == n),
        })
        .collect();
    Ok(FormPage {
        user: Some(&s.username),
        csrf,
        editing,
        f,
        boxes,
        error,
    }
    .render()?)
}

/// A refused form, whole again, with the reason by its field: `422`.
fn refused(
    s: &CurrentSession,
    csrf: String,
    editing: Option<String>,
    f: AppFields,
    registered: &[String],
    e: &AuthError,
) -> Result<Response, WebError> {
    let field = match e {
        AuthError::InvalidClient(p) => field_id(p.field),
        _ => "name",
    };
    let page = form_page(
        s,
        csrf,
        editing,
        f,
        registered,
        Some((field, sentence(&message(e)))),
    )?;
    Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, Html(page)).into_response())
}

/// `GET /admin/apps/new`: the add form.
pub async fn new_form(
    PageContext {
        csrf,
        session: AdminSession(s),
        ..
    }: PageContext<AdminSession>,
) -> Result<Response, WebError> {
    let f = AppFields {
        scopes: DEFAULT_CLIENT_SCOPES
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        ..AppFields::default()
    };
    Ok(Html(form_page(&s, csrf, None, f, &[], None)?).into_response())
}

#[derive(Template)]
#[template(path = "admin_app_secret.html")]
struct SecretPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    name: String,
    client_id: String,
    secret: Option<Token>,
    rotated: bool,
    discovery: String,
}

/// The page that shows a new app's id and, once, its secret.
fn secret_page(
    state: &AppState,
    s: &CurrentSession,
    csrf: String,
    name: String,
    made: ClientSecret,
    rotated: bool,
) -> Result<Response, WebError> {
    let page = SecretPage {
        user: Some(&s.username),
        csrf,
        name,
        client_id: made.client_id,
        secret: made.client_secret,
        rotated,
        discovery: format!("{}/.well-known/openid-configuration", state.oidc.issuer()),
    };
    Ok(Html(page.render()?).into_response())
}

/// `POST /admin/apps`: add an app; the answer shows its secret, once.
pub async fn add(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: AdminSession(s),
        ..
    }: PageContext<AdminSession>,
    Client(client): Client,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let f = AppFields::from_pairs(pairs);
    let actor = Actor::admin(&s, &client);
    match state
        .oidc
        .clients()
        .add_client(&actor, &f.new_client())
        .await
    {
        Ok(made) => secret_page(&state, &s, csrf, f.name.trim().to_owned(), made, false),
        Err(e @ AuthError::InvalidClient(_)) => refused(&s, csrf, None, f, &[], &e),
        Err(e) => Err(e.into()),
    }
}

/// The `{client_id}` of the path. One that is not even text (a tampered link) names no app:
/// the page a missing path gets, like an unknown id.
pub struct AppId(String);

impl FromRequestParts<AppState> for AppId {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| Self(id))
            .map_err(|_| WebError::not_found())
    }
}

/// The app named in the path; a missing one (or a tampered id) is the page a missing path
/// gets.
async fn app_of(state: &AppState, id: &str) -> Result<OidcClient, WebError> {
    state
        .oidc
        .clients()
        .client(id)
        .await?
        .ok_or_else(WebError::not_found)
}

/// `AuthError::NotFound` as the page a missing path gets; anything else as it is.
fn gone(e: AuthError) -> WebError {
    match e {
        AuthError::NotFound => WebError::not_found(),
        e => e.into(),
    }
}

/// `GET /admin/apps/{client_id}`: the edit form.
pub async fn edit_form(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: AdminSession(s),
        ..
    }: PageContext<AdminSession>,
    AppId(id): AppId,
) -> Result<Response, WebError> {
    let c = app_of(&state, &id).await?;
    let registered = c.scopes.clone().unwrap_or_default();
    let page = form_page(
        &s,
        csrf,
        Some(c.client_id.clone()),
        AppFields::of(&c),
        &registered,
        None,
    )?;
    Ok(Html(page).into_response())
}

/// `POST /admin/apps/{client_id}`: save the edit form.
pub async fn edit(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: AdminSession(s),
        ..
    }: PageContext<AdminSession>,
    Client(client): Client,
    AppId(id): AppId,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let c = app_of(&state, &id).await?;
    let mut f = AppFields::from_pairs(pairs);
    f.public = c.public;
    let actor = Actor::admin(&s, &client);
    match state
        .oidc
        .clients()
        .update_client(&actor, &c.client_id, &f.new_client())
        .await
    {
        Ok(()) => Ok(Redirect::to("/admin/apps?done=edited").into_response()),
        Err(e @ AuthError::InvalidClient(_)) => {
            let registered = c.scopes.clone().unwrap_or_default();
            refused(&s, csrf, Some(c.client_id), f, &registered, &e)
        }
        Err(e) => Err(gone(e)),
    }
}

#[derive(Template)]
#[template(path = "admin_app_confirm.html")]
struct ConfirmPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    client_id: String,
    name: String,
    title: &'static str,
    lead: &'static str,
    button: &'static str,
    action: &'static str,
}

/// What a confirmation page asks, says and answers with: title, lead, button, path segment.
fn wording(rotate: bool) -> (&'static str, &'static str, &'static str, &'static str) {
    if rotate {
        (
            "Give this app a new secret?",
            "The old secret stops working at once: the app cannot sign anyone in or refresh a token until it has the new one. The new secret is shown once, on the next page.",
            "Make a new secret",
            "rotate-secret",
        )
    } else {
        (
            "Remove this app?",
            "It can no longer sign anyone in: every token it holds stops working, and everyone's permission for it goes. This cannot be undone; adding it again gives it a new client ID.",
            "Remove app",
            "remove",
        )
    }
}

/// The confirmation page before a new secret (`rotate`) or a removal.
async fn confirm_page(
    state: &AppState,
    s: &CurrentSession,
    csrf: String,
    id: &str,
    rotate: bool,
) -> Result<Response, WebError> {
    let c = app_of(state, id).await?;
    if rotate && c.public {
        return Err(AuthError::Console(crate::auth::ConsoleProblem::PublicClient).into());
    }
    let (title, lead, button, action) = wording(rotate);
    let page = ConfirmPage {
        user: Some(&s.username),
        csrf,
        client_id: c.client_id,
        name: c.name,
        title,
        lead,
        button,
        action,
    };
    Ok(Html(page.render()?).into_response())
}

/// `GET /admin/apps/{client_id}/rotate-secret`: the confirmation page.
pub async fn confirm_rotate(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: AdminSession(s),
        ..
    }: PageContext<AdminSession>,
    AppId(id): AppId,
) -> Result<Response, WebError> {
    confirm_page(&state, &s, csrf, &id, true).await
}

/// `GET /admin/apps/{client_id}/remove`: the confirmation page.
pub async fn confirm_remove(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: AdminSession(s),
        ..
    }: PageContext<AdminSession>,
    AppId(id): AppId,
) -> Result<Response, WebError> {
    confirm_page(&state, &s, csrf, &id, false).await
}

/// The confirmation form: why (for the audit trail).
#[derive(Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    reason: String,
}

/// `POST /admin/apps/{client_id}/rotate-secret`: the answer shows the new secret, once.
pub async fn rotate(
    State(state): State<AppState>,
    PageContext {
        csrf,
        session: AdminSession(s),
        ..
    }: PageContext<AdminSession>,
    Client(client): Client,
    AppId(id): AppId,
    CsrfForm(form): CsrfForm<ReasonForm>,
) -> Result<Response, WebError> {
    let reason: String = form.reason.chars().take(500).collect();
    let c = app_of(&state, &id).await?;
    let made = state
        .oidc
        .clients()
        .rotate_client_secret(&Actor::admin(&s, &client), &c.client_id, Some(&reason))
        .await
        .map_err(gone)?;
    secret_page(&state, &s, csrf, c.name, made, true)
}

/// `POST /admin/apps/{client_id}/remove`.
pub async fn remove(
    State(state): State<AppState>,
    AdminSession(s): AdminSession,
    Client(client): Client,
    AppId(id): AppId,
    CsrfForm(form): CsrfForm<ReasonForm>,
) -> Result<Response, WebError> {
    let reason: String = form.reason.chars().take(500).collect();
    state
        .oidc
        .clients()
        .remove_client(&Actor::admin(&s, &client), &id, Some(&reason))
        .await
        .map_err(gone)?;
    Ok(Redirect::to("/admin/apps?done=removed").into_response())
}
