//! The web pages: sign-up, login, home, Settings → Security, password confirmation.
//!
//! Every form is CSRF-protected ([`csrf`]), shows its errors next to the field and keeps
//! what was typed (never a password). Handlers take a [`PageContext`] (the form token and
//! the session gate) and, on the second step of a login, a [`LiveChallenge`]. CSS is
//! embedded in the binary; no external assets.

mod account;
mod apps;
mod backup_codes;
mod context;
mod continue_to;
mod csrf;
mod downloads;
mod login_two_factor;
mod security;
mod two_factor;

use axum::Router;
use axum::http::header;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{get, post};

use super::AppState;
pub use context::PageContext;
pub(crate) use csrf::ensure_cookie as ensure_csrf_cookie;
pub use csrf::{CsrfCookie, CsrfForm};
pub use login_two_factor::LiveChallenge;

const CSS: &str = include_str!("../../../assets/twofold.css");
const JS: &str = include_str!("../../../assets/twofold.js");

/// The page routes, with the CSRF cookie middleware around them.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(account::home))
        .route("/signup", get(account::signup_page).post(account::signup))
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
        .route("/settings/two-factor", get(two_factor::page))
        .route("/settings/two-factor/sms", post(two_factor::start_sms))
        .route(
            "/settings/two-factor/sms/verify",
            get(two_factor::sms_verify_page).post(two_factor::sms_verify),
        )
        .route(
            "/settings/two-factor/sms/remove",
            post(two_factor::remove_sms),
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
            post(two_factor::remove_totp),
        )
        .route("/settings/two-factor/disable", post(two_factor::disable))
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
        .route("/reauth", get(security::reauth_page).post(security::reauth))
        .route("/settings/security", get(security::page))
        .route("/settings/apps", get(apps::page))
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
        .layer(middleware::from_fn_with_state(state, csrf::ensure_cookie))
        .route("/assets/twofold.css", get(css))
        .route("/assets/twofold.js", get(js))
        .route("/assets/favicon.svg", get(favicon))
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
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        JS,
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

#[cfg(test)]
mod tests {
    use super::safe_next;

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
