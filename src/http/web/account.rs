//! Sign-up, login, logout and the home page.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::PageContext;
use super::csrf::{CsrfForm, NoFields};
use super::{destination, is_other_site};
use crate::auth::{AuthError, LoginOutcome, NewSessionToken};
use crate::domain::{SessionKind, SignUpMode};
use crate::http::error::{WebError, form_error, message, sentence};
use crate::http::extract::{Client, WebSession};
use crate::http::{AppState, set_cookie};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    username: &'a str,
    next: &'a str,
    /// `?next=…` for the sign-up and "Forgot password?" links, so they keep the way.
    next_query: String,
    /// What the person is on their way to ("Photo Album", "app.example.com").
    to_name: Option<String>,
    error: Option<String>,
    notice: Option<&'a str>,
    /// A passkey was just refused: no passkey autofill on this page.
    passkey_refused: bool,
    /// Anyone may sign up (`--sign-up open`): the page offers it.
    sign_up_open: bool,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    user: Option<&'a str>,
    csrf: String,
    username: &'a str,
    admin: bool,
    two_factor: bool,
    backup_left: Option<i64>,
    /// Just back in with "Forgot password?".
    recovered: bool,
    /// Unused backup codes, when 2FA is on.
    codes_left: Option<usize>,
}

/// `?backup_left=N` after a backup-code login.
#[derive(Deserialize, Default)]
pub struct HomeQuery {
    // Text, not a number: a hand-edited query must not turn the home page into an error.
    backup_left: Option<String>,
    recovered: Option<String>,
}

/// Query of the login page.
#[derive(Deserialize, Default)]
pub struct LoginQuery {
    next: Option<String>,
    /// A protected site's URL to return to (forward authentication); followed only under
    /// the cookie domain.
    rd: Option<String>,
    done: Option<String>,
    /// Log in again although a session exists (an app asked for a fresher login, or for
    /// two factors).
    again: Option<String>,
    /// The username to prefill (an app's `login_hint`).
    username: Option<String>,
}

/// The login form. (No `Debug`: it holds a password.)
#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

/// The sign-up form. (No `Debug`.)
/// `Set-Cookie` for a new web session.
pub(crate) fn session_cookie(state: &AppState, token: &str) -> HeaderValue {
    let w = &state.web;
    set_cookie(w, w.cookies.session, token, "/", w.session_cookie_secs)
}

/// `Set-Cookie` that removes the session cookie.
pub(crate) fn clear_session_cookie(state: &AppState) -> HeaderValue {
    set_cookie(&state.web, state.web.cookies.session, "", "/", 0)
}

/// `Set-Cookie` for a browser's device cookie: a year, so that its next logins are
/// throttled apart from strangers' (OWASP device cookies).
fn device_cookie(state: &AppState, token: &str) -> HeaderValue {
    set_cookie(
        &state.web,
        state.web.cookies.device,
        token,
        "/",
        365 * 86_400,
    )
}

/// Redirects to `to`, setting the session cookie (and a device cookie for a new browser).
pub(crate) fn logged_in(state: &AppState, session: &NewSessionToken, to: &str) -> Response {
    // Back to an app's sign-in request: a page that moves on by itself, because the app's
    // redirect that follows would otherwise end this form's navigation outside the site,
    // which the pages' CSP `form-action 'self'` forbids.
    let mut res = if to.starts_with("/oidc/") || is_other_site(to) {
        crate::http::moving_on::continue_page(to)
    } else {
        Redirect::to(to).into_response()
    };
    res.headers_mut()
        .append(SET_COOKIE, session_cookie(state, session.token.reveal()));
    if let Some(device) = &session.device_token {
        res.headers_mut()
            .append(SET_COOKIE, device_cookie(state, device.reveal()));
    }
    res
}

fn html(status: StatusCode, page: impl Template) -> Result<Response, WebError> {
    Ok((status, Html(page.render()?)).into_response())
}

/// `GET /`: the home page, or the login page for a stranger.
pub async fn home(
    State(state): State<AppState>,
    PageContext { csrf, session, .. }: PageContext<Option<WebSession>>,
    Query(q): Query<HomeQuery>,
) -> Result<Response, WebError> {
    let Some(WebSession(s)) = session else {
        return Ok(Redirect::to("/login").into_response());
    };
    let codes_left = state.auth.two_factor().backup_codes_left(&s).await?;
    let two_factor = codes_left.is_some();
    // Only an admin whose session may open the console sees the way there (for anyone else
    // `/admin` answers 404, and so does this page say nothing of it).
    let admin = state.auth.console().is_admin_session(&s).await?;
    let page = HomePage {
        user: Some(&s.username),
        csrf,
        username: &s.username,
        admin,
        two_factor,
        codes_left,
        recovered: q.recovered.is_some(),
        backup_left: q
            .backup_left
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| *n >= 0),
    };
    html(StatusCode::OK, page)
}

/// `GET /login`.
pub async fn login_page(
    State(state): State<AppState>,
    PageContext { csrf, session, .. }: PageContext<Option<WebSession>>,
    Query(q): Query<LoginQuery>,
) -> Result<Response, WebError> {
    let next = destination(&state.web, q.rd.as_deref().or(q.next.as_deref()));
    // A protected site sends a session here that its rules did not accept: one whose login
    // used only the password on an account that has two-factor on now. Sending it straight
    // back would loop; it logs in again, with both factors.
    let again = q.again.is_some()
        || match (&session, &q.rd) {
            (Some(WebSession(s)), Some(_)) if s.second_factor.is_none() => {
                state.access.has_two_factor(s).await?
            }
            _ => false,
        };
    if session.is_some() && !again {
        return Ok(Redirect::to(&next).into_response());
    }
    let prefill = q
        .username
        .as_deref()
        .filter(|u| u.len() <= 64)
        .unwrap_or("");
    let notice = match q.done.as_deref() {
        Some("logged_out") => Some("You're logged out."),
        Some("account_deleted") => Some("Your account is deleted, and everything kept about it."),
        Some("password_changed") => Some("Your password was changed. Log in with the new one."),
        Some("challenge_expired") => Some("Your login attempt expired. Log in again."),
        _ if q.again.is_some() => Some(
            "The app you came from asks you to log in again, with your second factor if you have one.",
        ),
        _ if again => Some(
            "The site you came from needs a login with your second factor. Log in again to continue.",
        ),
        _ => None,
    };
    html(
        StatusCode::OK,
        LoginPage {
            user: None,
            csrf,
            username: prefill,
            next: &next,
            next_query: super::next_query(&next),
            to_name: super::destination_name(&state, &next).await,
            error: (q.done.as_deref() == Some("challenge_failed")).then(|| {
                "That login attempt ended because too many wrong codes were entered. Log in again with your username and password, then use the newest code.".to_owned()
            }),
            notice,
            passkey_refused: false,
            sign_up_open: state.auth.invitations().mode() == SignUpMode::Open,
        },
    )
}

/// `POST /login`.
pub async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    PageContext { csrf, .. }: PageContext,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<Response, WebError> {
    let next = destination(&state.web, form.next.as_deref());
    let error = match state
        .auth
        .accounts()
        .login(&form.username, &form.password, SessionKind::Web, &client)
        .await
    {
        Ok(LoginOutcome::LoggedIn(session)) => return Ok(logged_in(&state, &session, &next)),
        Ok(LoginOutcome::TwoFactor(challenge)) => {
            return Ok(super::login_two_factor::started(&state, &challenge, &next));
        }
        Err(
            e @ (AuthError::InvalidCredentials
            | AuthError::RateLimited { .. }
            | AuthError::LoginBlocked
            | AuthError::Busy
            | AuthError::AccountDisabled),
        ) => e,
        Err(e) => return Err(e.into()),
    };
    let message = match &error {
        AuthError::InvalidCredentials => {
            "That username and password don't match. Check them and try again.".to_owned()
        }
        other => sentence(&message(other)),
    };
    login_refused(
        &state,
        csrf,
        Some(form.username.trim()),
        &next,
        &error,
        message,
    )
    .await
}

/// The login page again after `error`, saying `message`: a password not taken (with the
/// username typed, kept) or a passkey not taken (`None`: then no passkey autofill).
pub(super) async fn login_refused(
    state: &AppState,
    csrf: String,
    username: Option<&str>,
    next: &str,
    error: &AuthError,
    message: String,
) -> Result<Response, WebError> {
    let page = LoginPage {
        user: None,
        csrf,
        username: username.unwrap_or_default(),
        next,
        next_query: super::next_query(next),
        to_name: super::destination_name(state, next).await,
        error: Some(message),
        notice: None,
        passkey_refused: username.is_none(),
        sign_up_open: state.auth.invitations().mode() == SignUpMode::Open,
    };
    Ok(form_error(error, Html(page.render()?)))
}

/// `POST /logout`.
pub async fn logout(
    State(state): State<AppState>,
    session: Option<WebSession>,
    Client(client): Client,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> Result<Response, WebError> {
    if let Some(WebSession(s)) = session {
        state.auth.sessions().logout(&s, &client).await?;
    }
    let mut res = Redirect::to("/login?done=logged_out").into_response();
    res.headers_mut()
        .append(SET_COOKIE, clear_session_cookie(&state));
    Ok(res)
}
