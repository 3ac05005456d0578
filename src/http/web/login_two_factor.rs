//! The code step of a login at `/login/two-factor`, "Try another way" and "Resend code".
//! The challenge token lives in an HttpOnly cookie scoped to `/login`, so the challenge is
//! bound to the browser that started it.

use askama::Template;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderValue, request::Parts};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::PageContext;
use super::account::logged_in;
use super::csrf::CsrfForm;
use super::{destination, is_other_site};
use crate::auth::{AuthError, ChallengeStarted, ChallengeView};
use crate::domain::Method;
use crate::http::AppState;
use crate::http::error::{
    WebError, codes_paused, form_error, message, passkey_page_message, sentence,
};
use crate::http::extract::{Client, cookie};

#[derive(Template)]
#[template(path = "login_two_factor.html")]
struct CodePage<'a> {
    user: Option<&'a str>,
    csrf: String,
    method: &'static str,
    next: &'a str,
    username: &'a str,
    phone: Option<&'a str>,
    sms_sent: bool,
    sms_failed: bool,
    notice: Option<String>,
    error: Option<String>,
    /// This second step finishes a password reset.
    recovery: bool,
    /// Seconds until the attempt runs out: then the page offers "Log in again".
    expires_in: i64,
    /// `?next=…` for the forms' addresses and "Log in again".
    next_query: String,
    /// What was typed, kept when it was not a code at all (too short, a stray letter), so it
    /// can be corrected; a code that was checked is never sent back (codes are secrets).
    typed: String,
    /// With method `webauthn`: the options for `navigator.credentials.get` (JSON), made for
    /// this challenge when the page is shown (asking again replaces them).
    options: String,
}

#[derive(Template)]
#[template(path = "login_methods.html")]
struct MethodsPage<'a> {
    user: Option<&'a str>,
    csrf: String,
    next: &'a str,
    username: &'a str,
    phone: Option<&'a str>,
    has_totp: bool,
    has_passkey: bool,
    contact: Option<&'a str>,
}

fn challenge_cookie(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    crate::http::set_cookie(
        &state.web,
        state.web.cookies.challenge,
        value,
        "/login",
        max_age,
    )
}

/// After a right password with 2FA on: keep the challenge in a cookie, go to the code page.
pub(crate) fn started(state: &AppState, c: &ChallengeStarted, next: &str) -> Response {
    let mut q = vec![("method", c.default_method.as_str()), ("next", next)];
    if c.sms_failed {
        q.push(("failed", "1"));
    }
    let query = serde_urlencoded::to_string(&q).unwrap_or_default();
    let mut res = Redirect::to(&format!("/login/two-factor?{query}")).into_response();
    let ttl = state.auth.two_factor_policy().challenge_secs;
    res.headers_mut()
        .append(SET_COOKIE, challenge_cookie(state, c.token.reveal(), ttl));
    res
}

fn expired(state: &AppState, next: &str) -> Response {
    ended(state, false, next)
}

/// Back to the login page, told why the attempt is over: it expired, or (`failed`) it took
/// its wrong codes — said as a problem, not as a routine notice. The way on (`next`) is kept,
/// so logging in again still ends where the person was going.
fn ended(state: &AppState, failed: bool, next: &str) -> Response {
    let done = if failed {
        "challenge_failed"
    } else {
        "challenge_expired"
    };
    let mut q = vec![("done", done)];
    if next != "/" {
        q.push(("next", next));
    }
    let to = format!(
        "/login?{}",
        serde_urlencoded::to_string(&q).unwrap_or_default()
    );
    let mut res = Redirect::to(&to).into_response();
    res.headers_mut()
        .append(SET_COOKIE, challenge_cookie(state, "", 0));
    res
}

/// The gate of the second-step pages: this browser's live login challenge (its token, from
/// the challenge cookie, and what the pages show of it). Without one — no cookie, or a
/// challenge that expired or was used up — the browser goes back to the login page, told
/// why, and the stale cookie is removed.
pub struct LiveChallenge {
    /// The challenge token, for the auth calls that complete or resend it.
    pub token: String,
    /// The username, the methods and the masked phone.
    pub view: ChallengeView,
}

impl FromRequestParts<AppState> for LiveChallenge {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // The pages' forms carry `next` in their address too, so that it is known here.
        let next: Option<String> = parts.uri.query().and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "next")
                .map(|(_, v)| v.into_owned())
        });
        let next = destination(&state.web, next.as_deref());
        let Some(token) = cookie(parts, state.web.cookies.challenge).map(str::to_owned) else {
            return Err(expired(state, &next));
        };
        match state.auth.second_step().challenge_view(&token).await {
            Ok(view) => Ok(Self { token, view }),
            Err(AuthError::ChallengeExpired) => Err(expired(state, &next)),
            Err(AuthError::ChallengeFailed) => Err(ended(state, true, &next)),
            Err(e) => Err(WebError::from(e).into_response()),
        }
    }
}

/// `?method=…&next=…&sent=1&failed=1&wait=N`
#[derive(Deserialize, Default)]
pub struct CodeQuery {
    method: Option<String>,
    next: Option<String>,
    sent: Option<String>,
    failed: Option<String>,
    wait: Option<String>,
}

/// The method the code page shows: the one asked for, else the default (a passkey when the
/// account has one: the strongest).
fn pick(v: &ChallengeView, asked: Option<&str>) -> Method {
    let usable = |m: &Method| v.methods.contains(m);
    asked
        .and_then(|m| Method::parse(m).ok())
        .filter(usable)
        .or_else(|| Some(v.default_method).filter(usable))
        .or_else(|| v.methods.iter().copied().find(usable))
        .unwrap_or(Method::BackupCode)
}

/// The passkey options of the page for `method` (none for a code, nor while the second
/// step is locked: the page says so).
async fn options_for(state: &AppState, token: &str, method: Method) -> Result<String, WebError> {
    if method != Method::Webauthn {
        return Ok(String::new());
    }
    match state.auth.second_step().webauthn_options(token).await {
        Ok(o) => Ok(o.to_string()),
        Err(AuthError::RateLimited { .. } | AuthError::SecondStepBlocked) => Ok(String::new()),
        Err(e) => Err(e.into()),
    }
}

/// `GET /login/two-factor`.
pub async fn code_page(
    State(state): State<AppState>,
    PageContext { csrf, .. }: PageContext,
    LiveChallenge { token, view: v }: LiveChallenge,
    Query(q): Query<CodeQuery>,
) -> Result<Response, WebError> {
    let next = destination(&state.web, q.next.as_deref());
    let method = pick(&v, q.method.as_deref());
    let options = options_for(&state, &token, method).await?;
    // `wait` comes from the address bar, so anyone can write a link with any number: only
    // a wait Twofold could have asked for (a second to a day) is shown.
    let notice = if let Some(secs) = q
        .wait
        .and_then(|w| w.parse::<i64>().ok())
        .filter(|s| (1..=86_400).contains(s))
    {
        Some(format!(
            "You can ask for a new code in {}.",
            crate::domain::wait_text(secs)
        ))
    } else {
        q.sent
            .as_ref()
            .map(|_| "We sent a new code. Use the newest one.".to_owned())
    };
    let page = CodePage {
        user: None,
        csrf,
        method: method.as_str(),
        next: &next,
        username: &v.username,
        phone: v.phone.as_deref(),
        sms_sent: v.sms_sent,
        sms_failed: q.failed.is_some(),
        // Honest limits: a second step locked by wrong codes says so before anything is
        // typed, and an attempt that took wrong codes says how many it still takes.
        notice: notice.or_else(|| {
            (v.locked_for.is_none() && v.tries_left < v.max_tries).then(|| {
                format!(
                    "{} wrong code{} so far: {} {} left before you have to log in again.",
                    v.max_tries - v.tries_left,
                    if v.max_tries - v.tries_left == 1 {
                        ""
                    } else {
                        "s"
                    },
                    v.tries_left,
                    if v.tries_left == 1 { "try" } else { "tries" }
                )
            })
        }),
        error: v.locked_for.map(codes_paused),
        recovery: v.recovery,
        expires_in: v.expires_in,
        next_query: super::next_query(&next),
        typed: String::new(),
        options,
    };
    Ok(Html(page.render()?).into_response())
}

/// `GET /login/two-factor/methods`: "Try another way".
pub async fn methods_page(
    State(state): State<AppState>,
    PageContext { csrf, .. }: PageContext,
    LiveChallenge { view: v, .. }: LiveChallenge,
    Query(q): Query<CodeQuery>,
) -> Result<Response, WebError> {
    let next = destination(&state.web, q.next.as_deref());
    let page = MethodsPage {
        user: None,
        csrf,
        next: &next,
        username: &v.username,
        phone: v.phone.as_deref(),
        has_totp: v.methods.contains(&Method::Totp),
        has_passkey: v.methods.contains(&Method::Webauthn),
        contact: state.web.operator_contact.as_deref(),
    };
    Ok(Html(page.render()?).into_response())
}

/// The code form, or the passkey's answer. (No `Debug`: it holds a code.)
#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    method: String,
    #[serde(default)]
    code: String,
    /// With method `webauthn`: what `navigator.credentials.get` gave, as JSON.
    #[serde(default)]
    credential: String,
    next: Option<String>,
}

/// `POST /login/two-factor`.
pub async fn submit(
    State(state): State<AppState>,
    PageContext { csrf, .. }: PageContext,
    LiveChallenge { token, view: v }: LiveChallenge,
    Client(client): Client,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<Response, WebError> {
    let next = destination(&state.web, form.next.as_deref());
    let result = if form.method == Method::Webauthn.as_str() {
        match super::passkeys::credential_of(&form.credential) {
            Ok(c) => {
                state
                    .auth
                    .second_step()
                    .complete_webauthn(&token, &c, &client)
                    .await
            }
            Err(e) => Err(e),
        }
    } else {
        state
            .auth
            .second_step()
            .complete_second_step(&token, &form.method, &form.code, &client)
            .await
    };
    let error = match result {
        Ok(done) => {
            // The home page tells how many backup codes are left; a login for an app's
            // sign-in request or a protected site goes on there instead (the security
            // notice tells the count).
            let to = match done.backup_remaining {
                _ if done.recovered && next == "/" => "/?recovered=1".to_owned(),
                _ if done.recovered => next.clone(),
                Some(left) if !next.starts_with("/oidc/") && !is_other_site(&next) => {
                    format!("/?backup_left={left}")
                }
                _ => next.clone(),
            };
            let mut res = logged_in(&state, &done.session, &to);
            res.headers_mut()
                .append(SET_COOKIE, challenge_cookie(&state, "", 0));
            return Ok(res);
        }
        Err(AuthError::ChallengeExpired) => return Ok(expired(&state, &next)),
        Err(AuthError::ChallengeFailed) => return Ok(ended(&state, true, &next)),
        Err(
            e @ (AuthError::InvalidCode(_)
            | AuthError::MalformedCode(_)
            | AuthError::RateLimited { .. }
            | AuthError::SecondStepBlocked
            | AuthError::InvalidMethod(_)
            | AuthError::InvalidCredential(_)),
        ) => e,
        Err(e) => return Err(e.into()),
    };
    let method = pick(&v, Some(&form.method));
    let options = options_for(&state, &token, method).await?;
    let page = CodePage {
        user: None,
        csrf,
        method: method.as_str(),
        next: &next,
        username: &v.username,
        phone: v.phone.as_deref(),
        sms_sent: v.sms_sent,
        sms_failed: false,
        notice: None,
        // A paused second step has its own words: what happened and when to try again.
        error: Some(match &error {
            AuthError::RateLimited { retry_after } => codes_paused(*retry_after),
            e @ AuthError::InvalidCredential(_) => passkey_page_message(e),
            other => sentence(&message(other)),
        }),
        recovery: v.recovery,
        expires_in: v.expires_in,
        next_query: super::next_query(&next),
        typed: super::kept_code(&error, &form.code),
        options,
    };
    Ok(form_error(&error, Html(page.render()?)))
}

/// The resend form.
#[derive(Deserialize)]
pub struct ResendForm {
    next: Option<String>,
}

/// `POST /login/two-factor/resend`: "Resend code" (and "Text me" under "Try another way").
pub async fn resend(
    State(state): State<AppState>,
    LiveChallenge { token, .. }: LiveChallenge,
    CsrfForm(form): CsrfForm<ResendForm>,
) -> Result<Response, WebError> {
    let next = destination(&state.web, form.next.as_deref());
    let extra = match state.auth.second_step().resend_sms(&token).await {
        Ok(_) => ("sent", "1".to_owned()),
        Err(AuthError::RateLimited { retry_after }) => ("wait", retry_after.to_string()),
        Err(AuthError::SmsFailed) => ("failed", "1".to_owned()),
        Err(AuthError::ChallengeExpired) => return Ok(expired(&state, &next)),
        Err(AuthError::ChallengeFailed) => return Ok(ended(&state, true, &next)),
        Err(e) => return Err(e.into()),
    };
    let query = serde_urlencoded::to_string([
        ("method", "sms"),
        ("next", next.as_str()),
        (extra.0, extra.1.as_str()),
    ])
    .unwrap_or_default();
    Ok(Redirect::to(&format!("/login/two-factor?{query}")).into_response())
}
