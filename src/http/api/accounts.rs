//! `POST /api/v1/accounts`: sign up.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::SignUp;
use crate::http::AppState;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::{AppJson, Client};

/// A username and password. (No `Debug`: it holds a password.)
#[derive(Deserialize, ToSchema)]
pub struct Credentials {
    /// 1–30 characters of `a-z 0-9 . _` (upper case is folded).
    #[schema(pattern = r"^\s*[A-Za-z0-9._]{1,30}\s*$")]
    pub username: String,
    /// A new password: 8–128 characters of any Unicode; the most common passwords are refused.
    #[schema(min_length = 8, max_length = 1024)]
    pub password: String,
}

/// A sign-up: a username and password, and an invitation when there is one. (No `Debug`:
/// it holds a password.)
#[derive(Deserialize, ToSchema)]
pub struct SignUpBody {
    /// 1–30 characters of `a-z 0-9 . _` (upper case is folded).
    #[schema(pattern = r"^\s*[A-Za-z0-9._]{1,30}\s*$")]
    pub username: String,
    /// A new password: 8–128 characters of any Unicode; the most common passwords are refused.
    #[schema(min_length = 8, max_length = 1024)]
    pub password: String,
    /// The token of an invitation link (`/signup?invite=TOKEN`): required under
    /// `--sign-up invite`, used (and so spent) when given under `open`.
    #[serde(default)]
    pub invitation: Option<String>,
    /// With an invitation bound to an address: that address (optional; another one is
    /// refused). The account gets the invitation's address, confirmed.
    #[serde(default)]
    pub email: Option<String>,
}

/// An account.
#[derive(Serialize, ToSchema)]
pub struct AccountBody {
    /// Its id.
    pub id: String,
    /// Its username (lower case).
    pub username: String,
}

/// Creates an account.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", request_body = SignUpBody,
    responses(
        (status = 201, body = AccountBody),
        (status = 403, description = "invitation_required: under --sign-up invite without a usable invitation, or an invitation that is unknown, used, expired or for another address; sign_up_closed: under --sign-up closed", body = ErrorBody),
        (status = 409, description = "username_taken", body = ErrorBody),
        (status = 422, description = "invalid_username or weak_password", body = ErrorBody),
        (status = 429, description = "rate_limited: too many sign-ups from this address; wait Retry-After seconds", body = ErrorBody)))]
pub async fn create_account(
    State(state): State<AppState>,
    Client(client): Client,
    AppJson(body): AppJson<SignUpBody>,
) -> Result<(StatusCode, Json<AccountBody>), ApiError> {
    let account = state
        .auth
        .accounts()
        .sign_up(
            &SignUp {
                username: &body.username,
                password: &body.password,
                invitation: body.invitation.as_deref(),
                email: body.email.as_deref(),
            },
            &client,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(AccountBody {
            id: account.id.to_string(),
            username: account.username,
        }),
    ))
}

/// A password being chosen. (No `Debug`: it holds a password.)
#[derive(Deserialize, ToSchema)]
pub struct StrengthRequest {
    /// The password as typed so far.
    pub password: String,
    /// The username it is for, when known (counted as known to an attacker).
    #[serde(default)]
    pub username: Option<String>,
}

/// How guessable a password is.
#[derive(Serialize, ToSchema)]
pub struct StrengthBody {
    /// zxcvbn's score, 0 (guessed at once) to 4 (very unlikely to be guessed).
    pub score: u8,
    /// Whether it would be accepted (at least 8 characters and a score of 3 or more).
    pub acceptable: bool,
}

/// Scores a password as it is typed (the sign-up, change and recovery pages show it), the
/// same way a new password is judged: zxcvbn with the username, "twofold" and the host's
/// names as words an attacker knows. Nothing is stored or logged.
#[utoipa::path(post, path = "/api/v1/password-strength", tag = "accounts", request_body = StrengthRequest,
    responses(
        (status = 200, body = StrengthBody)))]
pub async fn password_strength(
    State(state): State<AppState>,
    AppJson(body): AppJson<StrengthRequest>,
) -> Json<StrengthBody> {
    let (score, acceptable) = state
        .auth
        .accounts()
        .password_strength(&body.password, body.username.as_deref());
    Json(StrengthBody { score, acceptable })
}
