//! The device authorization grant (RFC 8628) for apps registered with `--device`: a TV or a
//! command-line tool asks for a device code and a user code (`start`), the person types the
//! user code at `/device` while logged in, sees which app asks for what, and approves or
//! denies it with one press (`look_up`, `decide`), while the device polls the token endpoint
//! (`redeem_device`) until it gets its tokens or an answer.
//!
//! The user code is 8 letters (`domain::UserCode`): guessable by design. So it is kept only
//! as a keyed hash, lives 10 minutes, is decided once, and every entry that finds no code is
//! counted in the database per browser, per address and per account (`store.limits()`).

use super::tokens::{CODE_WORDS, Refusal, TokenRequest, TokenResponse, refuse};
use super::{ClientCredentials, OAuthCode, OAuthError};
use crate::auth::{AuthError, CurrentSession};
use crate::crypto::{SigningKey, Token};
use crate::domain::{ClientInfo, Method, UnixTime, UserCode};
use crate::store::{
    Bucket, ClientRecord, DevicePoll, DeviceRequestRecord, NewDeviceRequest, NewGrant, Redemption,
    Spend, StoreError,
};

/// The grant type a polling device sends (RFC 8628 §3.4).
pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// How long a device's codes live (contract v3: 10 minutes).
const DEVICE_SECS: i64 = 600;
/// Seconds between polls (§3.2 default).
const INTERVAL_SECS: i64 = 5;
/// Entries that find no code, per quarter hour: per browser, per address, per account.
const WRONG_PER_BROWSER: i64 = 5;
const WRONG_PER_ADDRESS: i64 = 20;
const WRONG_PER_ACCOUNT: i64 = 10;
const WINDOW_SECS: i64 = 900;

/// What the device gets (§3.2); the verification URIs are the issuer's `/device`.
#[derive(Debug, serde::Serialize)]
pub struct DeviceStart {
    /// The device's secret for polling.
    pub device_code: String,
    /// What the person types, `XXXX-XXXX`.
    pub user_code: String,
    /// Where.
    pub verification_uri: String,
    /// The same with the code filled in (for a QR code).
    pub verification_uri_complete: String,
    /// Seconds the codes live.
    pub expires_in: i64,
    /// Seconds between polls.
    pub interval: i64,
}

/// A device's request as the person deciding it sees it.
#[derive(Clone, Debug)]
pub struct DeviceApproval {
    /// The code as typed, normalised (`XXXX-XXXX`), to decide it.
    pub user_code: String,
    /// The app's name.
    pub client_name: String,
    /// What it asks for.
    pub scopes: Vec<String>,
}

impl super::Device<'_> {
    /// The device authorization endpoint (§3.1, §3.2): a client registered with `--device`
    /// (authenticated as at the token endpoint) asks with a `scope` that includes `openid`.
    ///
    /// # Errors
    /// `Ok(Err(_))` for an OAuth error answer; `Err` for a failure inside.
    pub async fn start(
        &self,
        creds: &ClientCredentials,
        scope: Option<&str>,
    ) -> Result<Result<DeviceStart, OAuthError>, AuthError> {
        let client = match self
            .clients()
            .authenticate_client(creds.client_id.as_deref(), creds.client_secret.as_deref())
            .await?
        {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        if !client.device {
            return Ok(Err(OAuthError::new(
                OAuthCode::UnauthorizedClient,
                "this client is not registered for the device flow (twofold client add --device)",
            )));
        }
        let requested = scope.unwrap_or("");
        if !requested.split_ascii_whitespace().any(|s| s == "openid") {
            return Ok(Err(OAuthError::new(
                OAuthCode::InvalidScope,
                "the scope must include openid",
            )));
        }
        let scope =
            super::authorize::normal_scope(&super::authorize::narrowed_scopes(&client, requested));
        let device_code = Token::generate();
        let now = self.now();
        // A user code already in use (about one in 2^34 per live code) is drawn again.
        for _ in 0..3 {
            let user_code = UserCode::generate();
            let made = self
                .auth
                .store
                .devices()
                .create(&NewDeviceRequest {
                    id: device_code.hash().as_str(),
                    user_code_mac: &self.auth.keys.user_code_mac(user_code.as_str()),
                    client_id: &client.id,
                    scope: &scope,
                    now,
                    expires_at: now.plus(DEVICE_SECS),
                    interval_secs: INTERVAL_SECS,
                })
                .await;
            match made {
                Ok(()) => {
                    let shown = user_code.display();
                    let uri = format!("{}/device", self.policy.issuer);
                    return Ok(Ok(DeviceStart {
                        device_code: device_code.reveal().to_owned(),
                        verification_uri_complete: format!("{uri}?user_code={shown}"),
                        user_code: shown,
                        verification_uri: uri,
                        expires_in: DEVICE_SECS,
                        interval: INTERVAL_SECS,
                    }));
                }
                Err(StoreError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(AuthError::Internal(anyhow::anyhow!(
            "no free device user code after three draws"
        )))
    }

    /// The pending request `typed` names, for the person logged in to decide. Every entry
    /// is charged to the browser's, the address's and the account's budget of wrong entries
    /// first, and given back when it found a request.
    ///
    /// # Errors
    /// [`AuthError::RateLimited`] past a budget; [`AuthError::DeviceCodeUnknown`] for a code
    /// that names no pending request.
    pub async fn look_up(
        &self,
        session: &CurrentSession,
        typed: &str,
        who: &ClientInfo,
    ) -> Result<DeviceApproval, AuthError> {
        let (found, _) = self.find(session, typed, who).await?;
        Ok(DeviceApproval {
            user_code: found.0.display(),
            client_name: found.1.client_name,
            scopes: found.1.scope.split(' ').map(str::to_owned).collect(),
        })
    }

    /// Approves (`approve`) or denies the request `typed` names, once; charged like
    /// [`look_up`](Self::look_up). An approval is the person's consent: a grant descending
    /// from this session, its code kept for the device's next poll.
    ///
    /// # Errors
    /// As [`look_up`](Self::look_up); [`AuthError::TwoFactorLoginRequired`] when the app
    /// takes only two-factor logins and this one had one factor.
    pub async fn decide(
        &self,
        session: &CurrentSession,
        typed: &str,
        approve: bool,
        who: &ClientInfo,
    ) -> Result<(), AuthError> {
        let ((_, request), client) = self.find(session, typed, who).await?;
        let now = self.now();
        if approve && client.require_two_factor && session.second_factor.is_none() {
            return Err(AuthError::TwoFactorLoginRequired);
        }
        // The grant an approval makes descends from this session; its code is only ever
        // kept as a hash, which the device's next poll redeems.
        let code_hash = Token::generate().hash().as_str().to_owned();
        let grant_id = Token::generate().hash().as_str()[..32].to_owned();
        let grant = approve.then(|| NewGrant {
            id: &grant_id,
            code_hash: &code_hash,
            client_id: &client.id,
            account_id: &session.account_id,
            redirect_uri: "",
            scope: &request.scope,
            nonce: None,
            code_challenge: None,
            auth_time: session.created_at,
            first_factor: session.first_factor.as_str(),
            second_factor: session.second_factor.map(Method::as_str),
            acr: None,
            session_id: &session.session_id,
            offline: request.scope.split(' ').any(|s| s == "offline_access"),
            refresh_until: session.created_at.plus(self.policy.refresh_absolute_secs),
            now,
            code_expires_at: UnixTime(request.expires_at),
        });
        let decided = self
            .auth
            .store
            .devices()
            .decide(&request.id, grant.as_ref(), now)
            .await?;
        if !decided {
            return Err(AuthError::DeviceCodeUnknown);
        }
        if approve {
            // An approval is the person's consent, remembered like the consent page's.
            self.auth
                .store
                .oidc()
                .put_consent(
                    &session.account_id,
                    &client.id,
                    &request.scope,
                    now,
                    who,
                    &client.name,
                )
                .await?;
            self.auth.notices().notify(&session.account_id).await;
        }
        tracing::info!(client = %client.id, account = %session.account_id, approve, "a device request was decided");
        Ok(())
    }

    /// The pending request a typed code names, charged as [`look_up`](Self::look_up) says.
    async fn find(
        &self,
        session: &CurrentSession,
        typed: &str,
        who: &ClientInfo,
    ) -> Result<((UserCode, DeviceRequestRecord), ClientRecord), AuthError> {
        let now = self.now();
        let keys = &self.auth.keys;
        let mut buckets = vec![
            Bucket {
                key: format!("device:acct:{}", session.account_id.as_str()),
                window_secs: WINDOW_SECS,
                limit: WRONG_PER_ACCOUNT,
            },
            Bucket {
                key: format!(
                    "device:ip:{}",
                    keys.limit_key("device ip", who.ip.as_deref().unwrap_or(""))
                ),
                window_secs: WINDOW_SECS,
                limit: WRONG_PER_ADDRESS,
            },
        ];
        if let Some(device) = &who.device {
            buckets.push(Bucket {
                key: format!(
                    "device:browser:{}",
                    keys.limit_key("device browser", device)
                ),
                window_secs: WINDOW_SECS,
                limit: WRONG_PER_BROWSER,
            });
        }
        let limits = self.auth.store.limits();
        if let Spend::Refused { retry_after, .. } = limits.spend(&buckets, now).await? {
            return Err(AuthError::RateLimited { retry_after });
        }
        let found = match UserCode::parse(typed) {
            Ok(code) => {
                let mac = keys.user_code_mac(code.as_str());
                let request = self.auth.store.devices().pending(&mac, now).await?;
                let client = match &request {
                    Some(r) => self.clients().client_record(&r.client_id).await?,
                    None => None,
                };
                request.zip(client).map(|(r, c)| ((code, r), c))
            }
            Err(_) => None,
        };
        let Some(found) = found else {
            tracing::info!(account = %session.account_id, "a device code was entered that names no request");
            return Err(AuthError::DeviceCodeUnknown);
        };
        // Only entries that find nothing count against the budgets.
        limits.refund(&buckets, now).await?;
        Ok(found)
    }
}

impl super::Tokens<'_> {
    /// `grant_type=urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4, §3.5).
    pub(super) async fn redeem_device(
        &self,
        form: &TokenRequest,
        client: &ClientRecord,
        key: &SigningKey,
    ) -> Result<TokenResponse, Refusal> {
        if !client.device {
            return refuse(
                OAuthCode::UnauthorizedClient,
                "this client is not registered for the device flow",
            );
        }
        let Some(device_code) = form.device_code.as_deref().and_then(Token::from_client) else {
            return refuse(
                OAuthCode::InvalidRequest,
                "device_code is missing or malformed",
            );
        };
        let now = self.now();
        let poll = self
            .auth
            .store
            .devices()
            .poll(device_code.hash().as_str(), &client.id, now)
            .await?;
        let code_hash = match poll {
            DevicePoll::Approved(c) => c,
            DevicePoll::Pending => {
                return refuse(
                    OAuthCode::AuthorizationPending,
                    "the person has not approved this device yet",
                );
            }
            DevicePoll::SlowDown => {
                return refuse(
                    OAuthCode::SlowDown,
                    "polling too fast: wait 5 seconds more between polls",
                );
            }
            DevicePoll::Denied => {
                return refuse(OAuthCode::AccessDenied, "the person denied this device");
            }
            DevicePoll::Expired => {
                return refuse(
                    OAuthCode::ExpiredToken,
                    "the device code expired: start again",
                );
            }
            DevicePoll::Unknown | DevicePoll::Done => {
                return refuse(
                    OAuthCode::InvalidGrant,
                    "the device code is unknown, another client's, or already used",
                );
            }
        };
        let redeemed = self
            .auth
            .store
            .grants()
            .redeem_code(&Redemption {
                code_hash: &code_hash,
                client_id: &client.id,
                redirect_uri: "",
                verifier_challenge: None,
                clock: self.session_clock(),
            })
            .await?;
        self.answer(redeemed, &client.id, key, true, &CODE_WORDS)
            .await
    }
}
