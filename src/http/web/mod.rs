//! The web pages: sign-up, login, home, Settings → Security, password confirmation.
//!
//! Every form is CSRF-protected (`csrf.rs`), shows its errors next to the field and keeps
//! what was typed (never a password). Handlers take a [`PageContext`] (the form token and
//! the session gate) and, on the second step of a login, a [`LiveChallenge`]. CSS is
//! embedded in the binary; no external assets.

mod access;
mod account;
mod admin;
mod admin_apps;
mod admin_groups;
mod admin_invitations;
mod apps;
mod backup_codes;
mod context;
mod continue_to;
mod csrf;
mod downloads;
mod email;
mod login_two_factor;
mod passkeys;
mod recovery;
mod security;
mod signup;
mod two_factor;
mod two_factor_remove;
mod two_factor_walk;
mod your_data;

use axum::Router;
use axum::http::header;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{get, post};

use super::AppState;
pub use context::PageContext;
pub(crate) use csrf::ensure_cookie as ensure_csrf_cookie;
pub use csrf::{CsrfCookie, CsrfForm, MaybeCsrfForm};
pub use login_two_factor::LiveChallenge;

const CSS: &str = include_str!("../../../assets/twofold.css");
const JS: &str = include_str!("../../../assets/twofold.js");
/// Passkeys' part of the pages, loaded only by the pages that use them.
const PASSKEYS_JS: &str = include_str!("../../../assets/passkeys.js");

/// The page routes, with the CSRF cookie middleware around them.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(account::home))
        .route("/signup", get(signup::signup_page).post(signup::signup))
        .route("/login", get(account::login_page).post(account::login))
        .route("/logout", post(account::logout))
        .route(
            "/login/two-factor",
            get(login_two_factor::code_page).post(login_two_factor::submit),
        )
        .route(
            "/login/two-factor/methods",
            get(login_two_factor::methods_page),
        )
        .route("/login/two-factor/resend", post(login_two_factor::resend))
        .route("/login/passkey", post(passkeys::login))
        .merge(two_factor_routes())
        .route("/reauth", get(security::reauth_page).post(security::reauth))
        .route("/settings/security", get(security::page))
        .route("/settings/apps", get(apps::page))
        .route("/settings/email", get(email::page).post(email::start))
        .route("/settings/email/confirm", post(email::confirm))
        .route("/settings/email/remove", post(email::remove))
        .route("/recover", get(recovery::ask).post(recovery::request))
        .route("/recover/code", post(recovery::code))
        .route(
            "/recover/password",
            get(recovery::password_page).post(recovery::set_password),
        )
        .route("/recover/{token}", get(recovery::link))
        .route("/authz/forbidden", get(access::page))
        .merge(settings_posts())
        .merge(console_routes())
        .merge(admin_apps_routes())
        .layer(middleware::from_fn_with_state(state, csrf::ensure_cookie))
        .route("/assets/twofold.css", get(css))
        .route("/assets/twofold.js", get(js))
        .route("/assets/passkeys.js", get(passkeys_js))
        .route("/assets/favicon.svg", get(favicon))
}

/// The operator console's routes. Every one of them, and every other path under `/admin`,
/// stands behind `http::extract::admin_gate` (a layer on the whole router) and takes
/// `AdminSession`; `tests/api/console.rs` walks this table as a normal user, a one-factor
/// admin and a stale admin.
pub const CONSOLE_ROUTES: &[(&str, &str)] = &[
    ("GET", "/admin"),
    ("GET", "/admin/users"),
    ("GET", "/admin/users/{username}"),
    ("GET", "/admin/users/{username}/{action}"),
    ("POST", "/admin/users/{username}/{action}"),
    ("GET", "/admin/groups"),
    ("POST", "/admin/groups"),
    ("GET", "/admin/groups/{name}/remove"),
    ("POST", "/admin/groups/{name}/remove"),
    ("POST", "/admin/groups/{name}/members"),
    ("POST", "/admin/groups/{name}/members/{username}/remove"),
    ("GET", "/admin/audit"),
    ("GET", "/admin/invitations"),
    ("POST", "/admin/invitations"),
    ("GET", "/admin/invitations/{id}/revoke"),
    ("POST", "/admin/invitations/{id}/revoke"),
    ("GET", "/admin/apps"),
    ("POST", "/admin/apps"),
    ("GET", "/admin/apps/new"),
    ("GET", "/admin/apps/{client_id}"),
    ("POST", "/admin/apps/{client_id}"),
    ("GET", "/admin/apps/{client_id}/rotate-secret"),
    ("POST", "/admin/apps/{client_id}/rotate-secret"),
    ("GET", "/admin/apps/{client_id}/remove"),
    ("POST", "/admin/apps/{client_id}/remove"),
];

/// The forms of Settings → Security and Connected apps.
fn settings_posts() -> Router<AppState> {
    Router::new()
        .route("/settings/account", get(your_data::page))
        .route("/settings/account/export.json", get(your_data::export))
        .route("/settings/account/delete", post(your_data::delete))
        .route(
            "/settings/apps/{client_id}/disconnect",
            post(apps::disconnect),
        )
        .route(
            "/settings/security/password",
            post(security::change_password),
        )
        .route(
            "/settings/security/sessions/logout-others",
            post(security::end_other_sessions),
        )
        .route(
            "/settings/security/sessions/{id}/logout",
            post(security::end_session),
        )
}

fn console_routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(admin::overview))
        .route("/admin/users", get(admin::people))
        .route("/admin/users/{username}", get(admin::person))
        .route(
            "/admin/users/{username}/{action}",
            get(admin::confirm).post(admin::act),
        )
        .route(
            "/admin/groups",
            get(admin_groups::groups).post(admin_groups::add),
        )
        .route(
            "/admin/groups/{name}/remove",
            get(admin_groups::confirm_remove).post(admin_groups::remove),
        )
        .route(
            "/admin/groups/{name}/members",
            post(admin_groups::add_member),
        )
        .route(
            "/admin/groups/{name}/members/{username}/remove",
            post(admin_groups::remove_member),
        )
        .route("/admin/audit", get(admin_groups::audit))
        .route(
            "/admin/invitations",
            get(admin_invitations::list).post(admin_invitations::create),
        )
        .route(
            "/admin/invitations/{id}/revoke",
            get(admin_invitations::confirm_revoke).post(admin_invitations::revoke),
        )
}

/// The console's apps (OpenID Connect clients): list, add, edit, rotate the secret, remove.
fn admin_apps_routes() -> Router<AppState> {
    Router::new()
        .route("/admin/apps", get(admin_apps::list).post(admin_apps::add))
        .route("/admin/apps/new", get(admin_apps::new_form))
        .route(
            "/admin/apps/{client_id}",
            get(admin_apps::edit_form).post(admin_apps::edit),
        )
        .route(
            "/admin/apps/{client_id}/rotate-secret",
            get(admin_apps::confirm_rotate).post(admin_apps::rotate),
        )
        .route(
            "/admin/apps/{client_id}/remove",
            get(admin_apps::confirm_remove).post(admin_apps::remove),
        )
}

/// Settings → Two-factor authentication: its methods, backup codes and confirmations.
fn two_factor_routes() -> Router<AppState> {
    Router::new()
        .route("/settings/two-factor", get(two_factor::page))
        .route(
            "/settings/two-factor/sms",
            get(two_factor_walk::sms_page).post(two_factor::start_sms),
        )
        .route(
            "/settings/two-factor/sms/verify",
            get(two_factor::sms_verify_page).post(two_factor::sms_verify),
        )
        .route(
            "/settings/two-factor/sms/remove",
            get(two_factor_remove::confirm_remove_sms).post(two_factor_remove::remove_sms),
        )
        .route(
            "/settings/two-factor/totp",
            get(two_factor::totp_setup).post(two_factor::totp_confirm),
        )
        .route(
            "/settings/two-factor/totp/restart",
            post(two_factor::totp_restart),
        )
        .route(
            "/settings/two-factor/totp/remove",
            get(two_factor_remove::confirm_remove_totp).post(two_factor_remove::remove_totp),
        )
        .route(
            "/settings/two-factor/disable",
            get(two_factor_remove::confirm_off).post(two_factor_remove::disable),
        )
        .route(
            "/settings/two-factor/passkeys/add",
            get(passkeys::add_form).post(passkeys::add),
        )
        .route(
            "/settings/two-factor/passkeys/{id}/remove",
            get(two_factor_remove::confirm_remove_passkey).post(two_factor_remove::remove_passkey),
        )
        .route("/settings/two-factor/continue", get(continue_to::follow))
        .route(
            "/settings/two-factor/backup-codes",
            get(backup_codes::page).post(backup_codes::regenerate),
        )
        .route(
            "/settings/two-factor/backup-codes/new",
            get(backup_codes::confirm_page),
        )
        .route(
            "/settings/two-factor/backup-codes/save",
            get(backup_codes::save_page),
        )
        .route(
            "/settings/two-factor/backup-codes.txt",
            get(downloads::text_file),
        )
        .route(
            "/settings/two-factor/backup-codes.png",
            get(downloads::image),
        )
}

const FAVICON: &str = include_str!("../../../assets/favicon.svg");

async fn favicon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        FAVICON,
    )
}

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
}

async fn js() -> impl IntoResponse {
    script(JS)
}

async fn passkeys_js() -> impl IntoResponse {
    script(PASSKEYS_JS)
}

fn script(body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
}

/// What a code field shows again after an error: what was typed when it was not a code at
/// all (too short, a stray letter), so it can be mended; nothing after a wrong code, which
/// must be typed afresh. Only digits, spaces and dashes, at most 32 of them.
pub(crate) fn kept_code(error: &crate::auth::AuthError, typed: &str) -> String {
    if !matches!(error, crate::auth::AuthError::MalformedCode(_)) {
        return String::new();
    }
    typed
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == ' ' || *c == '-')
        .take(32)
        .collect()
}

/// A `next` target that stays on this site: a path starting with one `/`.
///
/// Only printable ASCII is allowed: browsers drop tabs and newlines from URLs, so
/// `/\t/evil.example` would become `//evil.example`, and a CR or LF cannot go in a header.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && n.len() < 4096
                && n.bytes().all(|b| b.is_ascii_graphic())
                && !n.contains('\\')
                && !matches!(n.as_bytes().get(1), Some(b'/' | b'\\')) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// Where to go after a login or the two-factor set-up: a [`safe_next`] path on this site,
/// or a protected site's URL (forward authentication's `rd`) — only when its host is the
/// cookie domain or under it (or, without one, this site's own host), over http(s) and
/// without credentials in it. Anything else leads home.
pub(crate) fn destination(web: &crate::http::WebSettings, next: Option<&str>) -> String {
    let local = safe_next(next);
    if local != "/" {
        return local;
    }
    next.and_then(|n| allowed_site(web, n)).unwrap_or(local)
}

fn allowed_site(web: &crate::http::WebSettings, next: &str) -> Option<String> {
    if next.len() >= 4096 {
        return None;
    }
    let url = url::Url::parse(next).ok()?;
    if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() {
        return None;
    }
    let Some(url::Host::Domain(host)) = url.host() else {
        return None;
    };
    let host = host.to_ascii_lowercase();
    let ok = match &web.cookie_domain {
        Some(d) => host == *d || host.ends_with(&format!(".{d}")),
        None => web
            .public_url
            .as_deref()
            .and_then(|p| url::Url::parse(p).ok())
            .and_then(|p| p.host_str().map(str::to_ascii_lowercase))
            .is_some_and(|p| p == host),
    };
    ok.then(|| url.to_string())
}

/// Whether a destination leaves this site (it must be reached by a page that moves on,
/// not a redirect answering a form: the pages' CSP `form-action 'self'` forbids that).
pub(crate) fn is_other_site(to: &str) -> bool {
    !to.starts_with('/')
}

/// What a person is on their way to, in words for "Log in to continue to …": the app's
/// name for an OpenID Connect request, a protected site's host, nothing for Twofold's own
/// pages. `next` has been through [`destination`].
pub(crate) async fn destination_name(state: &crate::http::AppState, next: &str) -> Option<String> {
    if let Some(query) = next.strip_prefix("/oidc/authorize?") {
        let client_id = url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "client_id")
            .map(|(_, v)| v.into_owned())?;
        return match state.oidc.clients().display_name(&client_id).await {
            Ok(name) => name,
            Err(e) => {
                tracing::warn!(error = %e, "could not read an app's name for the login page");
                None
            }
        };
    }
    if is_other_site(next) {
        return url::Url::parse(next)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned));
    }
    None
}

/// A query string carrying `next` on to another page (`?next=…`), empty when it leads home.
pub(crate) fn next_query(next: &str) -> String {
    if next == "/" {
        String::new()
    } else {
        format!(
            "?{}",
            serde_urlencoded::to_string([("next", next)]).unwrap_or_default()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::{destination, safe_next};

    fn web(cookie_domain: Option<&str>) -> crate::http::WebSettings {
        crate::http::WebSettings {
            secure_cookies: false,
            behind_proxy: false,
            trusted_proxies: Vec::new(),
            hsts: false,
            request_timeout: std::time::Duration::from_secs(1),
            session_cookie_secs: 1,
            cookies: crate::http::CookieNames::new(false, cookie_domain.is_some()),
            operator_contact: None,
            public_url: Some("https://auth.example.com".into()),
            cookie_domain: cookie_domain.map(str::to_owned),
            metrics_on_main: true,
        }
    }

    #[test]
    fn rd_is_followed_only_under_the_cookie_domain() {
        let w = web(Some("example.com"));
        let d = |n: &str| destination(&w, Some(n));
        assert_eq!(
            d("https://wiki.example.com/a?b=1"),
            "https://wiki.example.com/a?b=1"
        );
        assert_eq!(d("http://example.com/"), "http://example.com/");
        assert_eq!(d("/settings/security"), "/settings/security");
        for bad in [
            "https://evil.example/",
            "https://example.com.evil.example/",
            "https://evilexample.com/",
            "https://user:pw@wiki.example.com/",
            "javascript:alert(1)//wiki.example.com",
            "https://127.0.0.1/",
            "//wiki.example.com/",
        ] {
            assert_eq!(d(bad), "/", "{bad}");
        }
        // Without a cookie domain, only Twofold's own host.
        let w = web(None);
        assert_eq!(
            destination(&w, Some("https://auth.example.com/x")),
            "https://auth.example.com/x"
        );
        assert_eq!(destination(&w, Some("https://wiki.example.com/")), "/");
    }

    #[test]
    fn next_stays_on_site() {
        assert_eq!(safe_next(Some("/settings/security")), "/settings/security");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("/\t/evil.example")), "/");
        assert_eq!(safe_next(Some("/\n/evil.example")), "/");
        assert_eq!(safe_next(Some("/a\r\nSet-Cookie: x=1")), "/");
        assert_eq!(safe_next(Some("/ /evil.example")), "/");
        assert_eq!(safe_next(Some("/login?next=%2F")), "/login?next=%2F");
        assert_eq!(safe_next(None), "/");
    }
}
