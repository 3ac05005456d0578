//! The one place where errors become HTTP: JSON errors for the API, HTML pages for the web.
//!
//! Every API error has the fixed shape `{"error":{"code","message"}}`. A 5xx body is generic;
//! its cause is logged here and nowhere else. Rejections of malformed input (JSON, forms,
//! content types, sizes) land in the same shapes.

use askama::Template;
use axum::Json;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;

use crate::auth::oidc::PageProblem;
use crate::auth::{
    AuthError, CodeProblem, CodeRefusal, CredentialProblem, InvitationProblem, MethodProblem,
    Pending,
};
use crate::domain::wait_text;

/// An API error: a status, a fixed snake_case code and a human sentence.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorDetail {
    /// A fixed snake_case code, e.g. `invalid_credentials`.
    code: &'static str,
    /// A human sentence; never contains a secret.
    message: String,
}

impl ApiError {
    /// An error with this status, code and message: only this file writes them (every
    /// other error is one of the named ones below, or an `AuthError` mapped here).
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// `401 untrusted_proxy`: a forward-auth request from outside `--trusted-proxies`.
    pub fn untrusted_proxy() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "untrusted_proxy",
            "forward-auth requests are answered only for the proxies in --trusted-proxies; add this proxy's address there",
        )
    }

    /// `401 unauthenticated`: forward-auth for nobody logged in.
    pub fn forward_auth_login() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "log in to Twofold first",
        )
    }

    /// `403 two_factor_required`: a protected page that needs a two-factor login.
    pub fn forward_auth_two_factor() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "two_factor_required",
            "this page needs two-factor authentication: turn it on in Twofold's settings, then log in again",
        )
    }

    /// `403 forbidden`: the access rules refuse this user.
    pub fn forward_auth_denied() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "your account is not allowed to open this page",
        )
    }

    /// `400 bad_forwarded_request`: the proxy's headers could not be read (`what` says
    /// which, for the operator).
    pub fn bad_forwarded_request(what: String) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_forwarded_request", what)
    }

    /// `400 bad_path`: a forwarded path with no one canonical form (contract v3).
    pub fn bad_path(why: crate::domain::PathRefusal) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad_path",
            format!("{why}: such a path could reach a page the access rules did not check"),
        )
    }

    /// `409 codes_not_viewable`.
    pub fn codes_not_viewable() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "codes_not_viewable",
            "backup codes are shown only once, when they are made; get new codes to see a new batch",
        )
    }

    /// `400 invalid_request`: a recovery completion with neither a link's token nor a code.
    pub fn recovery_proof_missing() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "send the token from the reset link, or the identifier and the code that was texted",
        )
    }

    /// `422 invalid_request`: a field the request needs is missing (one that is optional
    /// in the body's shape, needed by the method it names).
    pub fn missing_field(field: &'static str) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            format!("the JSON body does not fit this route: missing field `{field}`"),
        )
    }

    /// `404 not_found` for a route that does not exist.
    pub fn no_route() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "there is no such API route; see /api/v1/openapi.json",
        )
    }

    /// `405 method_not_allowed`.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this route does not accept that method; see /api/v1/openapi.json",
        )
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "something went wrong on our side; try again in a moment",
        )
    }
}

/// Status, code and Retry-After for an auth error, shared by the API and the pages.
fn classify(e: &AuthError) -> (StatusCode, &'static str, Option<i64>) {
    match e {
        AuthError::InvalidUsername(_) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_username", None)
        }
        AuthError::WeakPassword(_) => (StatusCode::UNPROCESSABLE_ENTITY, "weak_password", None),
        AuthError::UsernameTaken => (StatusCode::CONFLICT, "username_taken", None),
        AuthError::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials", None),
        AuthError::AccountDisabled => (StatusCode::FORBIDDEN, "account_disabled", None),
        AuthError::RateLimited { retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            Some((*retry_after).max(1)),
        ),
        // The cap is lifted by the owner, not by time: an hour is an honest hint to wait.
        AuthError::LoginBlocked | AuthError::SecondStepBlocked => {
            (StatusCode::TOO_MANY_REQUESTS, "rate_limited", Some(3600))
        }
        AuthError::CredentialChanged => (StatusCode::CONFLICT, "password_changed", None),
        AuthError::Busy => (StatusCode::SERVICE_UNAVAILABLE, "busy", Some(1)),
        AuthError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated", None),
        AuthError::ReauthRequired => (StatusCode::FORBIDDEN, "reauth_required", None),
        AuthError::NotFound => (StatusCode::NOT_FOUND, "not_found", None),
        AuthError::DeviceCodeUnknown => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_device_code",
            None,
        ),
        AuthError::Console(p) => console_status(*p),
        AuthError::InvalidClient(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_client_registration",
            None,
        ),
        AuthError::InvalidGroupName(_) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_group_name", None)
        }
        AuthError::InvalidMethod(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_method", None),
        AuthError::MalformedCode(_) => (StatusCode::UNPROCESSABLE_ENTITY, "malformed_code", None),
        AuthError::InvalidCode(_) => (StatusCode::UNAUTHORIZED, "invalid_code", None),
        AuthError::ChallengeExpired | AuthError::ChallengeFailed => {
            (StatusCode::GONE, "challenge_expired", None)
        }
        AuthError::InvalidPhone(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_phone", None),
        AuthError::PhoneInUse => (StatusCode::CONFLICT, "phone_in_use", None),
        AuthError::SmsFailed => (StatusCode::BAD_GATEWAY, "sms_failed", None),
        AuthError::InvalidEmail(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_email", None),
        AuthError::MailFailed => (StatusCode::BAD_GATEWAY, "mail_failed", None),
        AuthError::NothingPending(_) => (StatusCode::CONFLICT, "nothing_pending", None),
        AuthError::NoBackupCodes => (StatusCode::NOT_FOUND, "no_backup_codes", None),
        AuthError::MissingIdentifier => {
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_identifier", None)
        }
        AuthError::RecoveryInvalid => (StatusCode::GONE, "recovery_expired", None),
        AuthError::RecoveryPasswordChosen => {
            (StatusCode::CONFLICT, "password_already_chosen", None)
        }
        AuthError::InvalidCredential(_) | AuthError::PasskeyNotVerified => {
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_credential", None)
        }
        AuthError::PasskeyRefused { .. } => (StatusCode::UNAUTHORIZED, "passkey_refused", None),
        AuthError::FlowExpired => (StatusCode::GONE, "flow_expired", None),
        AuthError::TooManyPasskeys { .. } => (StatusCode::CONFLICT, "too_many_passkeys", None),
        AuthError::PasskeyExists => (StatusCode::CONFLICT, "passkey_exists", None),
        AuthError::AuthenticatorNotAllowed => {
            (StatusCode::FORBIDDEN, "authenticator_not_allowed", None)
        }
        AuthError::TwoFactorLoginRequired => (StatusCode::FORBIDDEN, "two_factor_required", None),
        AuthError::InvalidPasskeyName(_) => {
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_name", None)
        }
        AuthError::SignUpClosed => (StatusCode::FORBIDDEN, "sign_up_closed", None),
        AuthError::ChallengeMissing => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", None),
        AuthError::InvitationRequired(_) => (StatusCode::FORBIDDEN, "invitation_required", None),
        AuthError::Store(_) | AuthError::Internal(_) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "internal_error", None)
        }
    }
}

/// A second step paused by wrong codes, on the code page: what happened and when to try
/// again (NIST SP 800-63B §5.2.2: the person is told when the pause ends).
pub fn codes_paused(secs: i64) -> String {
    sentence(&format!(
        "too many wrong codes were tried for this account, so codes are paused; try again in {}",
        wait_text(secs)
    ))
}

/// What an auth error says to the person or program that met it: every sentence an error
/// shows is written here (the domain's parse errors say what is wrong with a value in their
/// own words, and are quoted). Lower case, no final stop: pages make a sentence of it.
pub fn message(e: &AuthError) -> String {
    let fixed = match e {
        AuthError::InvalidUsername(e) => return e.to_string(),
        AuthError::WeakPassword(e) => return e.to_string(),
        AuthError::MalformedCode(e) => return e.to_string(),
        AuthError::InvalidPhone(e) => return e.to_string(),
        AuthError::InvalidEmail(e) => return e.to_string(),
        AuthError::InvalidGroupName(e) => return e.to_string(),
        AuthError::Console(p) => console_message(*p),
        AuthError::InvalidClient(p) => return client_message(p),
        AuthError::RateLimited { retry_after } => {
            return format!(
                "too many attempts; try again in {}",
                wait_text(*retry_after)
            );
        }
        AuthError::InvalidCode(refusal) => return code_message(*refusal),
        AuthError::UsernameTaken => "that username is taken; try another",
        AuthError::DeviceCodeUnknown => {
            "that code isn't right, has expired, or was used already; check the code your device shows and type it again"
        }
        AuthError::InvalidCredentials => "the username or password is incorrect",
        AuthError::AccountDisabled => {
            "this account has been disabled; contact the person who runs this Twofold server"
        }
        AuthError::LoginBlocked => {
            "too many wrong passwords were tried for this account; log in from a browser you have used here before, or ask the person who runs this Twofold server to unlock it"
        }
        AuthError::SecondStepBlocked => {
            "too many wrong codes were tried for this account; ask the person who runs this Twofold server to unlock it"
        }
        AuthError::CredentialChanged => {
            "the password was changed meanwhile; log in again with the new password"
        }
        AuthError::Busy => "the server is busy; try again in a moment",
        AuthError::Unauthenticated => {
            "log in first: the session is missing, expired or was logged out"
        }
        AuthError::ReauthRequired => "confirm your password to continue",
        AuthError::NotFound => "not found",
        AuthError::InvalidMethod(MethodProblem::Unknown) => {
            "the method must be one of sms, totp, backup_code or webauthn"
        }
        AuthError::InvalidMethod(MethodProblem::NoPasskey)
        | AuthError::InvalidCredential(_)
        | AuthError::PasskeyNotVerified
        | AuthError::PasskeyRefused { .. }
        | AuthError::FlowExpired
        | AuthError::TooManyPasskeys { .. }
        | AuthError::PasskeyExists
        | AuthError::AuthenticatorNotAllowed
        | AuthError::TwoFactorLoginRequired
        | AuthError::InvalidPasskeyName(_) => return passkey_message(e),
        AuthError::InvalidMethod(MethodProblem::NoPhone) => {
            "this account has no phone for text messages; try another way"
        }
        AuthError::InvalidMethod(MethodProblem::NoApp) => {
            "this account has no authentication app; try another way"
        }
        AuthError::InvalidMethod(MethodProblem::NoBackupCodes) => {
            "this account has no backup codes"
        }
        AuthError::ChallengeExpired => {
            "this login attempt has expired; log in again with your username and password"
        }
        AuthError::ChallengeFailed => {
            "this login attempt ended because too many wrong codes were entered; log in again with your username and password"
        }
        AuthError::PhoneInUse => {
            "this phone number is already used for two-factor authentication by another account; a number can protect only one account"
        }
        AuthError::SmsFailed => {
            "we couldn't send a text message; try again in a moment, or try another way"
        }
        AuthError::NothingPending(p) => pending_message(*p),
        AuthError::MailFailed => {
            "we couldn't send the email; check the address and try again in a moment"
        }
        AuthError::NoBackupCodes => {
            "there are no backup codes: turn on two-factor authentication first"
        }
        AuthError::MissingIdentifier => {
            "enter your username, the email address on your account, or your phone number"
        }
        AuthError::RecoveryInvalid => {
            "this reset link or code has expired, was already used, or the password was changed since; ask for a new one"
        }
        AuthError::RecoveryPasswordChosen => {
            "a new password was already chosen with this reset link; type that same password to go on, or ask for a new link to choose another"
        }
        AuthError::ChallengeMissing
        | AuthError::SignUpClosed
        | AuthError::InvitationRequired(_) => gate_message(e),
        AuthError::Store(_) | AuthError::Internal(_) => {
            "something went wrong on our side; try again in a moment"
        }
    };
    fixed.to_owned()
}

/// Why a sign-up (issue 25) or a deletion's answer was not let through.
fn gate_message(e: &AuthError) -> &'static str {
    let p = match e {
        AuthError::ChallengeMissing => {
            return "challenge: send the challenge of the 403 that texted the code or gave the passkey's options; ask again with the method alone for a new one";
        }
        AuthError::InvitationRequired(p) => *p,
        _ => {
            return "new accounts are not being made here; ask the person who runs this Twofold server";
        }
    };
    match p {
        InvitationProblem::Missing => {
            "accounts here are made by invitation only; open the invitation link you were sent, or ask the person who runs this Twofold server for one"
        }
        InvitationProblem::Unknown => {
            "that invitation link is not one we know; check that you opened the whole link, or ask for a new one"
        }
        InvitationProblem::Used => {
            "that invitation was already used to make an account; log in with it, or ask for a new invitation"
        }
        InvitationProblem::Expired => {
            "that invitation has expired (they work for 7 days); ask for a new one"
        }
        InvitationProblem::OtherAddress => {
            "that invitation is for another email address; use the address it was sent to, or ask for a new invitation"
        }
    }
}

/// What there was nothing of to confirm.
fn pending_message(p: Pending) -> &'static str {
    match p {
        Pending::NoAppSetUp => "set up the authentication app first: there is no code to confirm",
        Pending::AppSetUpRestarted => {
            "the authentication app set-up was restarted; scan the new QR code"
        }
        Pending::NoPhoneCode => "enter your phone number first: there is no code to confirm",
        Pending::NoEmailCode => "enter your email address first: there is no code to confirm",
    }
}

/// What a passkey's error says (issue 24); `message` hands these over.
fn passkey_message(e: &AuthError) -> String {
    let fixed = match e {
        AuthError::InvalidPasskeyName(e) => return format!("name: {e}"),
        AuthError::TooManyPasskeys { max } => {
            return format!(
                "an account can have at most {max} passkeys and security keys; remove one first"
            );
        }
        AuthError::InvalidMethod(MethodProblem::NoPasskey) => {
            "this account has no passkey or security key; try another way"
        }
        AuthError::InvalidCredential(CredentialProblem::Malformed) => {
            "credential: not a WebAuthn credential; send what navigator.credentials gave, in its JSON form (base64url fields)"
        }
        AuthError::InvalidCredential(CredentialProblem::TooLarge) => {
            "credential: larger than 16 KiB; send what navigator.credentials gave, in its JSON form"
        }
        AuthError::PasskeyNotVerified => {
            "credential: the authenticator's answer did not verify for this request (another page, site or flow); start again"
        }
        AuthError::PasskeyRefused { cloned: false } => {
            "that passkey or security key was not accepted; try again, or log in with your password"
        }
        AuthError::PasskeyRefused { cloned: true } => {
            "that passkey or security key was refused: its signature counter went back, so a copy of it may exist; log in another way and remove it"
        }
        AuthError::FlowExpired => {
            "this passkey request has expired or was already used; start again"
        }
        AuthError::PasskeyExists => "this passkey or security key is already registered",
        AuthError::AuthenticatorNotAllowed => {
            "this kind of passkey or security key is not allowed here; use another one"
        }
        AuthError::TwoFactorLoginRequired => {
            "adding a passkey needs a login with your second factor; log out, then log in again with it"
        }
        _ => "something went wrong with the passkey; try again",
    };
    fixed.to_owned()
}

/// What the pages say about a passkey that was not taken (issue 24): in the words of
/// someone who may never have used one, with what to do next. (`passkey_message` is the
/// API's.)
pub fn passkey_page_message(e: &AuthError) -> String {
    let fixed = match e {
        AuthError::InvalidPasskeyName(e) => return sentence(&format!("the name {e}")),
        AuthError::TooManyPasskeys { max } => {
            return format!(
                "You already have {max} passkeys and security keys, the most an account can have. Remove one you no longer use first."
            );
        }
        AuthError::InvalidCredential(_) | AuthError::PasskeyNotVerified => {
            "Your passkey's answer couldn't be checked. Try again."
        }
        AuthError::FlowExpired => "That took too long, so nothing was saved. Try again.",
        AuthError::PasskeyExists => {
            "That passkey or security key is already added to your account."
        }
        AuthError::AuthenticatorNotAllowed => {
            "This kind of passkey or security key isn't allowed here. Use another one, or ask the person who runs this Twofold which ones are."
        }
        AuthError::TwoFactorLoginRequired => {
            "To add a passkey, log out and log in again with your second step (a code or your passkey), then come back here."
        }
        AuthError::PasskeyRefused { cloned: false } => {
            "That passkey isn't set up for an account here. Log in with your username and password, or choose another passkey."
        }
        AuthError::PasskeyRefused { cloned: true } => {
            "That passkey was refused because a copy of it may exist. Log in with your username and password, then remove it in your security settings."
        }
        other => return sentence(&message(other)),
    };
    fixed.to_owned()
}

/// A refused code, with the tries the login attempt has left.
fn code_message(r: CodeRefusal) -> String {
    let what = match r.problem {
        CodeProblem::Wrong => "that code isn't right; check it and try again",
        CodeProblem::Expired => "that code has expired; send a new code and use the newest one",
        CodeProblem::NotSent => "no code has been sent for this login yet; send a code first",
        CodeProblem::AlreadyUsed => {
            "this backup code has already been used; each code works once, so try another one"
        }
        CodeProblem::UsedUp => "that code has expired or was tried too many times; send a new code",
        CodeProblem::PasskeyRefused => {
            "that passkey or security key was not accepted; try again, or try another way"
        }
        CodeProblem::PasskeyCloned => {
            "that passkey or security key was refused: its signature counter went back, so a copy of it may exist; try another way and remove it"
        }
    };
    match r.tries_left {
        Some(0) => "that code isn't right, and it was the last wrong code this login attempt takes: it has ended; log in again with your username and password".to_owned(),
        Some(1) => format!("{what} (1 try left)"),
        Some(n) => format!("{what} ({n} tries left)"),
        None => what.to_owned(),
    }
}

/// The HTTP status of an auth error (pages that re-render a form use it).
pub fn status_for(e: &AuthError) -> StatusCode {
    classify(e).0
}

/// A form page re-rendered because of `e`: the error's status and, for a limit, its
/// `Retry-After` — the same answer the API gives, so scripts and people can both wait right.
pub fn form_error(e: &AuthError, page: impl IntoResponse) -> Response {
    let (status, _, retry_after) = classify(e);
    let mut res = page.into_response();
    *res.status_mut() = status;
    if let Some(secs) = retry_after {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    res
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let (status, code, retry_after) = classify(&e);
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            return Self::internal(&e);
        }
        Self {
            status,
            code,
            message: message(&e),
            retry_after,
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::JsonSyntaxError(e) => Self::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body is not valid JSON: {}", innermost(&e)),
            ),
            JsonRejection::JsonDataError(e) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
                format!(
                    "the JSON body does not fit this route: {}",
                    scrub_serde(&innermost(&e))
                ),
            ),
            JsonRejection::MissingJsonContentType(_) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with the header Content-Type: application/json",
            ),
            JsonRejection::BytesRejection(b) => Self::from(b),
            other => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                other.body_text(),
            ),
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(b: BytesRejection) -> Self {
        if b.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is larger than 64 KiB",
            )
        } else {
            Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the request body could not be read",
            )
        }
    }
}

/// The deepest cause of an error, which is where serde's own words are.
fn innermost(e: &dyn std::error::Error) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// serde says "invalid type: string `hunter2`, expected …", quoting what was sent; what was
/// sent may be a password, so the quoted value is dropped and the expectation kept.
fn scrub_serde(text: &str) -> String {
    for marker in ["invalid type: ", "invalid value: ", "invalid length "] {
        if let Some(start) = text.find(marker) {
            let head = &text[..start];
            let tail = text[start..]
                .find("expected ")
                .map(|i| &text[start + i..])
                .unwrap_or("");
            return format!("{head}wrong value, {tail}");
        }
    }
    text.to_owned()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
            },
        };
        let mut res = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

/// An OAuth 2.0 error answer (RFC 6749 §5.2, RFC 6750 §3): `{"error","error_description"}`,
/// `401` for client and token failures (with the `WWW-Authenticate` they call for), `400`
/// for the rest.
#[derive(Debug)]
pub struct OAuthAnswer {
    error: crate::auth::oidc::OAuthError,
    basic: bool,
}

impl OAuthAnswer {
    /// An answer with this code and description.
    pub fn bad(code: crate::auth::oidc::OAuthCode, description: &'static str) -> Self {
        crate::auth::oidc::OAuthError { code, description }.into()
    }

    /// Adds `WWW-Authenticate: Basic` to an `invalid_client` answer (the client used, or
    /// should use, HTTP Basic).
    pub fn basic_challenge(mut self) -> Self {
        self.basic = true;
        self
    }
}

impl From<crate::auth::oidc::OAuthError> for OAuthAnswer {
    fn from(error: crate::auth::oidc::OAuthError) -> Self {
        Self {
            error,
            basic: false,
        }
    }
}

impl IntoResponse for OAuthAnswer {
    fn into_response(self) -> Response {
        use crate::auth::oidc::OAuthCode;
        let status = match self.error.code {
            OAuthCode::InvalidClient | OAuthCode::InvalidToken => StatusCode::UNAUTHORIZED,
            _ => StatusCode::BAD_REQUEST,
        };
        let body = serde_json::json!({
            "error": self.error.code.as_str(),
            "error_description": self.error.description,
        });
        let mut res = (status, Json(body)).into_response();
        let challenge = match self.error.code {
            OAuthCode::InvalidToken => Some(format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\"",
                self.error.description
            )),
            OAuthCode::InvalidClient if self.basic => Some("Basic realm=\"twofold\"".to_owned()),
            _ => None,
        };
        if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        res
    }
}

/// An error on a web page: rendered as a friendly HTML page.
#[derive(Debug)]
pub struct WebError {
    status: StatusCode,
    title: &'static str,
    message: String,
    retry_after: Option<i64>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    user: Option<&'a str>,
    /// (The header's Log out form shows only with a user, never on error pages.)
    csrf: &'a str,
}

impl WebError {
    /// A page with this status, title and message: only this file writes them.
    fn new(status: StatusCode, title: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            title,
            message: message.into(),
            retry_after: None,
        }
    }

    /// An app's sign-in or logout request that cannot be answered with a redirect.
    pub fn app_request(problem: PageProblem) -> Self {
        let why = match problem {
            PageProblem::UnknownClient => {
                "The app that sent you here is not registered with this Twofold server (unknown client_id)."
            }
            PageProblem::UnknownRedirectUri => {
                "The app sent you here with a return address that is not registered for it (redirect_uri does not match)."
            }
            PageProblem::ForeignIdToken => {
                "The app sent an ID token that this Twofold server did not issue (id_token_hint)."
            }
            PageProblem::ClientMismatch => {
                "The ID token and the client_id the app sent name different apps."
            }
            PageProblem::LogoutWithoutClient => {
                "The app asked to be sent back after logging out but did not say which app it is (id_token_hint or client_id)."
            }
            PageProblem::UnknownPostLogoutUri => {
                "The app asked to be sent back to an address that is not registered for it (post_logout_redirect_uri)."
            }
            PageProblem::UnknownPushedRequest => {
                "The app's sign-in request has expired or was used already (request_uri). Go back to the app and try again."
            }
        };
        match problem {
            PageProblem::UnknownClient
            | PageProblem::UnknownRedirectUri
            | PageProblem::UnknownPushedRequest => Self::sign_in_link(why),
            _ => Self::logout_link(why),
        }
    }

    /// An app's sign-in request that cannot be answered with a redirect.
    fn sign_in_link(why: &'static str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "This login link doesn't work", why)
    }

    /// An app's sign-in request with a parameter twice.
    pub fn sign_in_parameter_twice() -> Self {
        Self::sign_in_link("The app sent a parameter twice. Go back to the app and try again.")
    }

    /// An app's sign-in request or form that could not be read.
    pub fn sign_in_unreadable() -> Self {
        Self::sign_in_link("The app's request could not be read. Go back to the app and try again.")
    }

    /// An app's logout request that cannot be followed.
    fn logout_link(why: &'static str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "This logout link doesn't work",
            why,
        )
    }

    /// An app's posted logout request that could not be read.
    pub fn logout_unreadable() -> Self {
        Self::logout_link("The app's request could not be read. Go back to the app and try again.")
    }

    /// Backup codes asked for again after they were shown.
    pub fn codes_shown_once() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Codes are shown only once",
            "For your security, backup codes are shown only when they're made. Get new codes to save a new batch.",
        )
    }

    /// A form over 64 KiB.
    pub fn form_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Too much data",
            "The form sent more than 64 KiB. Shorten what you typed and try again.",
        )
    }

    /// A form that could not be read.
    pub fn form_unreadable() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "The form could not be read",
            "The form arrived incomplete or garbled. Go back, reload the page and try again.",
        )
    }

    /// The "why was I turned away" page for a link that names no protected site.
    pub fn no_protected_site() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "That link doesn't lead anywhere",
            "This page explains why a protected site turned you away, but the link that brought you here doesn't name one of the sites Twofold protects. Go back and try again.",
        )
    }

    /// A page used with a method it does not take.
    pub fn page_method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "That didn't work",
            "This page can't be used that way. Go back and use the buttons on the page.",
        )
    }

    /// The page for a path that does not exist.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Page not found",
            "There's no page at this address. Check the link, or go back to your account.",
        )
    }

    /// The page for a form whose CSRF token did not match.
    pub fn csrf() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "This form has expired",
            "For your safety the form could not be sent. Go back, reload the page and try again.",
        )
    }

    fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "Something went wrong on our side. Try again in a moment.",
        )
    }
}

impl From<AuthError> for WebError {
    fn from(e: AuthError) -> Self {
        let (status, _, retry_after) = classify(&e);
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            return Self::internal(&e);
        }
        Self {
            status,
            title: "That didn't work",
            message: sentence(&message(&e)),
            retry_after,
        }
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        Self::internal(&e)
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            title: self.title,
            message: &self.message,
            user: None,
            csrf: "",
        };
        let html = page.render().unwrap_or_else(|_| self.message.clone());
        let mut res = (self.status, Html(html)).into_response();
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

/// "the username is taken" → "The username is taken."
pub fn sentence(s: &str) -> String {
    let mut chars = s.chars();
    let mut out: String = match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// Status and code of a console refusal (issue 25).
fn console_status(p: crate::auth::ConsoleProblem) -> (StatusCode, &'static str, Option<i64>) {
    use crate::auth::ConsoleProblem as P;
    match p {
        P::LastAdmin => (StatusCode::CONFLICT, "last_admin", None),
        P::AdminNeedsTwoFactor => (StatusCode::CONFLICT, "two_factor_required", None),
        P::ConfirmYourself => (StatusCode::CONFLICT, "confirm_yourself", None),
        P::BadPageKey => (StatusCode::BAD_REQUEST, "bad_page_key", None),
        P::GroupExists => (StatusCode::CONFLICT, "group_exists", None),
        P::UnknownGroup => (StatusCode::NOT_FOUND, "unknown_group", None),
        P::PublicClient => (StatusCode::CONFLICT, "public_client", None),
    }
}

/// What a console refusal tells the admin to do next.
fn console_message(p: crate::auth::ConsoleProblem) -> &'static str {
    use crate::auth::ConsoleProblem as P;
    match p {
        P::LastAdmin => {
            "this is the last admin: make another account an admin first (twofold user grant-admin)"
        }
        P::AdminNeedsTwoFactor => {
            "only an account with two-factor authentication on can be an admin; ask them to turn it on first"
        }
        P::ConfirmYourself => "this is your own account: tick the box that says so to go ahead",
        P::BadPageKey => "that page link is damaged; start the search again",
        P::GroupExists => "a group of that name exists already; pick another name",
        P::UnknownGroup => "there is no group of that name; make it first, or leave the group out",
        P::PublicClient => {
            "this app is public: it has no secret to rotate, it proves itself with PKCE"
        }
    }
}

/// What is wrong with an app's registration (`/admin/apps`, `twofold client add`): the field
/// first, in words that fit the page's label and the CLI's flag alike, then what to do.
pub fn client_message(p: &crate::auth::oidc::ClientProblem) -> String {
    use crate::auth::oidc::{ClientFault as F, ClientField as W, MAX_URIS};
    let field = match p.field {
        W::Name => "name",
        W::RedirectUris => "redirect URI",
        W::PostLogoutRedirectUris => "post-logout redirect URI",
        W::BackchannelLogoutUri => "back-channel logout URI",
        W::Scopes => "scopes",
        W::AllowNoPkce => "sending no PKCE",
    };
    let example = "like https://app.example.com/callback or http://127.0.0.1:8400/callback";
    let what = match p.fault {
        F::NameLength => {
            "give the app a name of 1 to 100 characters; people see it on the consent page"
                .to_owned()
        }
        F::NoRedirectUri => {
            "give at least one, exactly as the app will send it, one a line".to_owned()
        }
        F::TooManyUris => format!("at most {MAX_URIS}; keep the ones the app really uses"),
        F::UriUnusable | F::UriNotAbsolute | F::UriScheme => {
            format!("not an absolute https URI; give one {example}")
        }
        F::UriFragment => "must not have a fragment (#…); remove it".to_owned(),
        F::UriUserInfo => "must not hold user-info (…@); remove it".to_owned(),
        F::UriWildcard => "wildcards are not allowed; register each URI exactly".to_owned(),
        F::UriPlainHttp => "use https (http is accepted only for the loopback hosts 127.0.0.1, [::1] and localhost)".to_owned(),
        F::NoOpenid => {
            "include openid, like \"openid profile email\", or the app can log nobody in"
                .to_owned()
        }
        F::ScopeMalformed => "give scope names separated by spaces".to_owned(),
        F::ScopeUnknown => format!(
            "not a scope Twofold knows; choose from {}",
            crate::auth::oidc::SCOPES.join(", ")
        ),
        F::PublicWithoutPkce => {
            "only for confidential apps: a public app proves itself with PKCE".to_owned()
        }
    };
    match &p.value {
        Some(v) => format!("{field} {v}: {what}"),
        None => format!("{field}: {what}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_values_are_scrubbed() {
        let t = "password: invalid type: integer `12345678`, expected a string at line 1 column 30";
        let s = scrub_serde(t);
        assert!(!s.contains("12345678"), "{s}");
        assert!(s.contains("expected a string"), "{s}");
        assert_eq!(
            scrub_serde("missing field `password`"),
            "missing field `password`"
        );
    }

    #[test]
    fn sentences() {
        assert_eq!(
            sentence("that username is taken; try another"),
            "That username is taken; try another."
        );
        assert_eq!(sentence("Done."), "Done.");
        assert_eq!(sentence(""), "");
    }
}
