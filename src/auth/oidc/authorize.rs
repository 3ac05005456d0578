//! The authorization endpoint's decision (OIDC Core §3.1.2): who the client is and where
//! errors may go, then what the browser needs next — Twofold's own login, setting up two
//! factors, the consent page — or the code.

use super::{OAuthCode, OAuthError, PageProblem, SCOPES};
use crate::auth::{AuthError, CurrentSession};
use crate::crypto::Token;
use crate::domain::{ClientInfo, Method};
use crate::store::{ClientRecord, NewGrant};

/// How long the record of an asked-for login waits for that login (with a second factor,
/// or setting one up, it can take a while).
const LOGIN_REQUEST_SECS: i64 = 30 * 60;

/// The query (or form) of an authorization request, as sent.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct AuthorizeRequest {
    /// The client.
    pub client_id: Option<String>,
    /// Where to send the answer; must be registered exactly.
    pub redirect_uri: Option<String>,
    /// Must be `code`.
    pub response_type: Option<String>,
    /// Space-separated; must include `openid`.
    pub scope: Option<String>,
    /// Returned as sent.
    pub state: Option<String>,
    /// Put in the ID token.
    pub nonce: Option<String>,
    /// PKCE (RFC 7636).
    pub code_challenge: Option<String>,
    /// Must be `S256` when a challenge is sent.
    pub code_challenge_method: Option<String>,
    /// `none`, `login`, `consent` (space-separated).
    pub prompt: Option<String>,
    /// Seconds since the login beyond which it must be repeated.
    pub max_age: Option<String>,
    /// The username to prefill.
    pub login_hint: Option<String>,
    /// An ID token Twofold issued earlier: who the app expects to be logged in (OIDC Core
    /// §3.1.2.1). Another person's session is not used for it.
    pub id_token_hint: Option<String>,
    /// Space-separated authentication context classes the app would like, in order of
    /// preference (voluntary, OIDC Core §3.1.2.1): answered with the `acr` the login met.
    pub acr_values: Option<String>,
    /// A request object (OIDC Core §6.1): not supported, answered `request_not_supported`.
    pub request: Option<String>,
    /// A pushed request (RFC 9126, `urn:ietf:params:oauth:request_uri:…` from `/oidc/par`),
    /// taken by `resolve_pushed`; any other (OIDC Core §6.2) is `request_uri_not_supported`.
    pub request_uri: Option<String>,
    /// Set by Twofold when it sent the browser to log in again: the token of its own record
    /// of when it asked (`oidc_login_requests`). Only a session made after that record counts
    /// as the new login (for its 30 minutes); a made-up or expired token counts for nothing,
    /// so nothing in the request can mark a login fresh (contract v3).
    pub login_request: Option<String>,
}

/// What the request leads to.
#[derive(Debug)]
pub enum AuthorizeStep {
    /// An unknown client or redirect URI: an error page, never a redirect (RFC 6749
    /// §4.1.2.1).
    ErrorPage(PageProblem),
    /// An error sent back to the client.
    Redirect {
        /// The registered redirect URI.
        redirect_uri: String,
        /// The query to add: `error`/`error_description` or `code`, with `state` and `iss`.
        params: Vec<(&'static str, String)>,
    },
    /// Log in (again, when `again`), then come back to this request with `login_request`.
    Login {
        /// A session exists but is too old or lacks a second factor.
        again: bool,
        /// The username to prefill.
        login_hint: Option<String>,
        /// The token of the server's record that a new login was asked for now, for the
        /// return trip (with `prompt=login` or `max_age`).
        login_request: Option<String>,
    },
    /// The client takes only two-factor logins and the user has none set up: set it up,
    /// then come back.
    SetUpTwoFactor,
    /// Ask the user.
    Consent {
        /// The client's name.
        client_name: String,
        /// What it asks for.
        scopes: Vec<String>,
    },
}

/// The parts of a request that are fine.
struct Checked {
    client: ClientRecord,
    redirect_uri: String,
    scopes: Vec<String>,
    prompt: Vec<String>,
}

impl super::Authorization<'_> {
    fn redirect_error(&self, req: &AuthorizeRequest, uri: &str, e: OAuthError) -> AuthorizeStep {
        let mut params = vec![
            ("error", e.code.as_str().to_owned()),
            ("error_description", e.description.to_owned()),
        ];
        if let Some(s) = &req.state {
            params.push(("state", s.clone()));
        }
        params.push(("iss", self.policy.issuer.clone()));
        AuthorizeStep::Redirect {
            redirect_uri: uri.to_owned(),
            params,
        }
    }

    async fn check(
        &self,
        req: &AuthorizeRequest,
    ) -> Result<Result<Checked, AuthorizeStep>, AuthError> {
        let Some(client) = self
            .clients()
            .client_record(req.client_id.as_deref().unwrap_or(""))
            .await?
        else {
            return Ok(Err(AuthorizeStep::ErrorPage(PageProblem::UnknownClient)));
        };
        let Some(redirect_uri) = req
            .redirect_uri
            .as_deref()
            .filter(|u| client.redirect_uris.iter().any(|r| r == u))
        else {
            return Ok(Err(AuthorizeStep::ErrorPage(
                PageProblem::UnknownRedirectUri,
            )));
        };
        let fail = |code, d| {
            Ok(Err(self.redirect_error(
                req,
                redirect_uri,
                OAuthError::new(code, d),
            )))
        };
        if req.response_type.as_deref() != Some("code") {
            return fail(
                OAuthCode::UnsupportedResponseType,
                "only response_type=code (the authorization code flow) is supported",
            );
        }
        // OIDC Core §6.1, §6.2: a provider that does not take request objects says so rather
        // than acting on the rest of the request as if the object were not there.
        if req.request.is_some() {
            return fail(
                OAuthCode::RequestNotSupported,
                "request objects are not supported: send the parameters in the query or form",
            );
        }
        if req.request_uri.is_some() {
            return fail(
                OAuthCode::RequestUriNotSupported,
                "only a request_uri from the pushed authorization request endpoint (/oidc/par) is taken",
            );
        }
        let requested = req.scope.as_deref().unwrap_or("");
        if !requested.split_ascii_whitespace().any(|s| s == "openid") {
            return fail(OAuthCode::InvalidScope, "the scope must include openid");
        }
        let scopes = narrowed_scopes(&client, requested);
        if let Some(problem) = pkce_problem(req, &client) {
            return fail(OAuthCode::InvalidRequest, problem);
        }
        if req.nonce.as_deref().is_some_and(|n| n.len() > 512)
            || req.state.as_deref().is_some_and(|s| s.len() > 2048)
        {
            return fail(OAuthCode::InvalidRequest, "state or nonce is too long");
        }
        let prompt: Vec<String> = req
            .prompt
            .as_deref()
            .unwrap_or("")
            .split_ascii_whitespace()
            .map(str::to_owned)
            .collect();
        if prompt
            .iter()
            .any(|p| !["none", "login", "consent", "select_account"].contains(&p.as_str()))
            || (prompt.iter().any(|p| p == "none") && prompt.len() > 1)
        {
            return fail(
                OAuthCode::InvalidRequest,
                "prompt must be none, or any of login and consent",
            );
        }
        if req
            .max_age
            .as_deref()
            .is_some_and(|m| m.parse::<u32>().is_err())
        {
            return fail(
                OAuthCode::InvalidRequest,
                "max_age must be a number of seconds",
            );
        }
        Ok(Ok(Checked {
            redirect_uri: redirect_uri.to_owned(),
            client,
            scopes,
            prompt,
        }))
    }

    /// Decides what an authorization request leads to. `session` is the browser's Twofold
    /// session, if any; `consent` is the answer of the consent form, when this is its post.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn authorize(
        &self,
        req: &AuthorizeRequest,
        session: Option<&CurrentSession>,
        consent: Option<bool>,
        who: &ClientInfo,
    ) -> Result<AuthorizeStep, AuthError> {
        let c = match self.check(req).await? {
            Ok(c) => c,
            Err(step) => return Ok(step),
        };
        let none = c.prompt.iter().any(|p| p == "none");
        let fail =
            |code, d| Ok(self.redirect_error(req, &c.redirect_uri, OAuthError::new(code, d)));
        let now = self.now().0;
        let max_age = req.max_age.as_deref().and_then(|m| m.parse::<i64>().ok());
        let wants_login = c.prompt.iter().any(|p| p == "login");
        // prompt=login and max_age (OIDC Core §3.1.2.1) are judged from the server's own
        // record of when it asked for the login; nothing in the request marks a login fresh.
        let asked_at = self.login_asked_at(req).await?;
        let hinted = match self.hinted_subject(req).await? {
            Ok(h) => h,
            Err(e) => return Ok(self.redirect_error(req, &c.redirect_uri, e)),
        };
        let record_login = wants_login || max_age.is_some() || hinted.is_some();
        let login = |again, hint| self.login_step(again, hint, record_login);
        let Some(session) = session else {
            if none {
                return fail(
                    OAuthCode::LoginRequired,
                    "nobody is logged in to Twofold in this browser",
                );
            }
            return login(false, req.login_hint.clone()).await;
        };
        let hint = Some(session.username.clone());
        // A login made after the server asked for it is fresh; without such a record a
        // prompt=login asks, and max_age judges the session's own login time.
        let fresh = asked_at.is_some_and(|t| session.created_at.0 >= t);
        let too_old = max_age.is_some_and(|m| now - session.created_at.0 > m);
        // The app expects someone else (its `id_token_hint`): this session is not theirs to
        // use, so prompt=none answers login_required (OIDC Core §3.1.2.1) and otherwise the
        // person logs in anew, as whoever they are.
        let someone_else = hinted
            .as_deref()
            .is_some_and(|sub| sub != session.account_id.as_str());
        if !fresh && (wants_login || too_old || someone_else) {
            if none {
                return fail(
                    OAuthCode::LoginRequired,
                    if someone_else {
                        "the id_token_hint names someone other than the person logged in"
                    } else {
                        "the login must be repeated (max_age)"
                    },
                );
            }
            return login(true, (!someone_else).then_some(hint).flatten()).await;
        }
        if c.client.require_two_factor && session.second_factor.is_none() {
            let tf = self
                .auth
                .store
                .two_factor()
                .record(&session.account_id)
                .await?;
            if none {
                return fail(
                    OAuthCode::InteractionRequired,
                    "this app needs a login with two factors",
                );
            }
            // Two-factor on but this session's login used only the password (it started
            // before): log in again with both. Off: set it up first.
            return if tf.enabled_since.is_some() {
                login(true, hint).await
            } else {
                Ok(AuthorizeStep::SetUpTwoFactor)
            };
        }
        let scope = normal_scope(&c.scopes);
        if let Some(step) = self
            .consent_step(req, &c, session, consent, who, &scope, none)
            .await?
        {
            return Ok(step);
        }
        self.issue_code(req, c, session, &scope).await
    }

    /// When this Twofold asked for the login the request's `login_request` names (its own
    /// record; an unknown or expired one counts for nothing).
    async fn login_asked_at(&self, req: &AuthorizeRequest) -> Result<Option<i64>, AuthError> {
        Ok(
            match req.login_request.as_deref().and_then(Token::from_client) {
                Some(t) => {
                    self.auth
                        .store
                        .grants()
                        .login_request_time(t.hash().as_str(), self.now())
                        .await?
                }
                None => None,
            },
        )
    }

    /// Off to the login (`again`: a session exists but will not do), recording when it was
    /// asked for when the return trip must prove a new login (`record`).
    async fn login_step(
        &self,
        again: bool,
        hint: Option<String>,
        record: bool,
    ) -> Result<AuthorizeStep, AuthError> {
        let login_request = if record {
            let t = Token::generate();
            self.auth
                .store
                .grants()
                .put_login_request(t.hash().as_str(), self.now(), LOGIN_REQUEST_SECS)
                .await?;
            Some(t.reveal().to_owned())
        } else {
            None
        };
        Ok(AuthorizeStep::Login {
            again,
            login_hint: hint,
            login_request,
        })
    }

    /// The subject of the request's `id_token_hint` (`Ok(None)` without one): an ID token
    /// this provider issued, expired or not (OIDC Core §3.1.2.1); anything else is
    /// `invalid_request`.
    async fn hinted_subject(
        &self,
        req: &AuthorizeRequest,
    ) -> Result<Result<Option<String>, OAuthError>, AuthError> {
        let Some(h) = req.id_token_hint.as_deref().filter(|h| !h.is_empty()) else {
            return Ok(Ok(None));
        };
        Ok(
            match self
                .keys()
                .issued_id_token(h)
                .await?
                .and_then(|c| c["sub"].as_str().map(str::to_owned))
            {
                Some(sub) => Ok(Some(sub)),
                None => Err(OAuthError::new(
                    OAuthCode::InvalidRequest,
                    "id_token_hint is not an ID token this provider issued",
                )),
            },
        )
    }

    /// Consent (unless the app skips it): the answer of the consent form stored, or the
    /// consent page when the user has not allowed these scopes yet. `None` when nothing
    /// stands in the way of the code.
    #[allow(clippy::too_many_arguments)]
    async fn consent_step(
        &self,
        req: &AuthorizeRequest,
        c: &Checked,
        session: &CurrentSession,
        consent: Option<bool>,
        who: &ClientInfo,
        scope: &str,
        none: bool,
    ) -> Result<Option<AuthorizeStep>, AuthError> {
        let fail = |code, d| {
            Ok(Some(self.redirect_error(
                req,
                &c.redirect_uri,
                OAuthError::new(code, d),
            )))
        };
        if !c.client.skip_consent {
            match consent {
                Some(false) => {
                    return fail(OAuthCode::AccessDenied, "the user did not allow this app");
                }
                Some(true) => {
                    self.auth
                        .store
                        .oidc()
                        .put_consent(
                            &session.account_id,
                            &c.client.id,
                            scope,
                            self.now(),
                            who,
                            &c.client.name,
                        )
                        .await?;
                    self.auth.notices().notify(&session.account_id).await;
                }
                None => {
                    let given = self
                        .auth
                        .store
                        .oidc()
                        .consent(&session.account_id, &c.client.id)
                        .await?;
                    let covered = given.is_some_and(|g| {
                        let g: Vec<&str> = g.split(' ').collect();
                        c.scopes.iter().all(|s| g.contains(&s.as_str()))
                    });
                    if !covered || c.prompt.iter().any(|p| p == "consent") {
                        if none {
                            return fail(
                                OAuthCode::ConsentRequired,
                                "the user has not allowed this app yet",
                            );
                        }
                        return Ok(Some(AuthorizeStep::Consent {
                            client_name: c.client.name.clone(),
                            scopes: c.scopes.clone(),
                        }));
                    }
                }
            }
        }
        Ok(None)
    }

    /// The code for an authorization that needs nothing more: stored as a grant that
    /// descends from `session`, and the redirect that carries it to the app.
    async fn issue_code(
        &self,
        req: &AuthorizeRequest,
        c: Checked,
        session: &CurrentSession,
        scope: &str,
    ) -> Result<AuthorizeStep, AuthError> {
        let code = Token::generate();
        let code_hash = code.hash();
        // Only an app that asked with acr_values is told the class (OIDC Core §2).
        let acr = req.acr_values.as_deref().map(|asked| {
            crate::domain::acr(
                &crate::domain::amr(session.first_factor, session.second_factor),
                asked,
            )
        });
        let grant_id = Token::generate().hash().as_str()[..32].to_owned();
        self.auth
            .store
            .grants()
            .create_grant(&NewGrant {
                id: &grant_id,
                code_hash: code_hash.as_str(),
                client_id: &c.client.id,
                account_id: &session.account_id,
                redirect_uri: &c.redirect_uri,
                scope,
                nonce: req.nonce.as_deref(),
                code_challenge: req.code_challenge.as_deref(),
                auth_time: session.created_at,
                first_factor: session.first_factor.as_str(),
                second_factor: session.second_factor.map(Method::as_str),
                acr,
                session_id: &session.session_id,
                offline: scope.split(' ').any(|s| s == "offline_access"),
                refresh_until: session.created_at.plus(self.policy.refresh_absolute_secs),
                now: self.now(),
                code_expires_at: self.now().plus(self.policy.code_secs),
            })
            .await?;
        tracing::info!(client = %c.client.id, account = %session.account_id, "authorization code issued");
        let mut params = vec![("code", code.reveal().to_owned())];
        if let Some(s) = &req.state {
            params.push(("state", s.clone()));
        }
        params.push(("iss", self.policy.issuer.clone()));
        Ok(AuthorizeStep::Redirect {
            redirect_uri: c.redirect_uri,
            params,
        })
    }

    /// The apps an account allowed (for `/settings/apps` and `GET /api/v1/me/apps`).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn connected_apps(
        &self,
        session: &CurrentSession,
    ) -> Result<Vec<ConnectedApp>, AuthError> {
        Ok(self
            .auth
            .store
            .oidc()
            .consents(&session.account_id)
            .await?
            .into_iter()
            .map(|c| ConnectedApp {
                client_id: c.client_id,
                name: c.name,
                scopes: c.scope.split(' ').map(str::to_owned).collect(),
                authorized_at: crate::domain::UnixTime(c.granted_at),
            })
            .collect())
    }

    /// Disconnects an app: its consent goes and its tokens stop working.
    ///
    /// # Errors
    /// [`AuthError::NotFound`] when the app was not connected.
    pub async fn revoke_app(
        &self,
        session: &CurrentSession,
        client_id: &str,
        who: &ClientInfo,
    ) -> Result<(), AuthError> {
        if client_id.len() > 100
            || !self
                .auth
                .store
                .oidc()
                .revoke_app(&session.account_id, client_id, self.now(), who)
                .await?
        {
            return Err(AuthError::NotFound);
        }
        tracing::info!(account = %session.account_id, client = client_id, "app disconnected");
        self.auth.notices().notify(&session.account_id).await;
        Ok(())
    }
}

/// A connected app, as its owner sees it.
#[derive(Clone, Debug)]
pub struct ConnectedApp {
    /// Its `client_id`.
    pub client_id: String,
    /// Its name.
    pub name: String,
    /// What it was allowed.
    pub scopes: Vec<String>,
    /// When.
    pub authorized_at: crate::domain::UnixTime,
}

/// The scopes of a request that a client gets: a request for more than the client may
/// receive is narrowed to what it may, and a scope Twofold does not know is ignored (RFC 6749
/// §3.3, OIDC Core §5.4): the answer's `scope` says what was granted (ASVS 5.0 10.4.11, 10.7.3).
pub(super) fn narrowed_scopes(client: &ClientRecord, requested: &str) -> Vec<String> {
    requested
        .split_ascii_whitespace()
        .filter(|s| SCOPES.contains(s))
        .filter(|s| {
            client
                .scopes
                .as_ref()
                .is_none_or(|allowed| allowed.iter().any(|a| a == s))
        })
        .map(str::to_owned)
        .collect()
}

/// Scopes sorted and without repeats, space-separated (how consents and grants store them).
pub(super) fn normal_scope(scopes: &[String]) -> String {
    let mut s: Vec<&str> = scopes.iter().map(String::as_str).collect();
    s.sort_unstable();
    s.dedup();
    s.join(" ")
}

/// What is wrong with a request's PKCE (RFC 7636), if anything: every client sends S256
/// (contract v3, OAuth 2.0 Security BCP §2.1.1) but a confidential one registered with
/// `--allow-no-pkce`.
pub(super) fn pkce_problem(req: &AuthorizeRequest, client: &ClientRecord) -> Option<&'static str> {
    match (
        req.code_challenge.as_deref(),
        req.code_challenge_method.as_deref(),
    ) {
        (None, _) if !(client.allow_no_pkce && client.secret_hash.is_some()) => {
            return Some("PKCE is required: send code_challenge with code_challenge_method=S256");
        }
        (None, Some(_)) => {
            return Some("code_challenge_method without code_challenge");
        }
        (Some(c), m) => {
            if m != Some("S256") {
                return Some("code_challenge_method must be S256");
            }
            if c.len() != 43
                || !c
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Some(
                    "code_challenge must be the base64url SHA-256 of the code_verifier (43 characters)",
                );
            }
        }
        (None, None) => {}
    }
    None
}
