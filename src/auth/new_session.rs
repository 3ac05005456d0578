//! The one way a session is born, after a password (login.rs) or a second factor
//! (second_step): a fresh token, its public id, the browser's device cookie, and the row the
//! store inserts.

use super::{Auth, NewSessionToken};
use crate::crypto::{Token, TokenHash};
use crate::domain::{AccountId, ClientInfo, FirstFactor, Method, SessionId, SessionKind, UnixTime};
use crate::store::NewSession;

/// A session about to be created; nothing is stored until the store inserts [`Self::row`].
pub(crate) struct SessionDraft {
    token: Token,
    id: SessionId,
    hash: TokenHash,
    device_token: Option<Token>,
    device: Option<String>,
    kind: SessionKind,
    now: UnixTime,
    expires_at: UnixTime,
    new_device: bool,
}

impl SessionDraft {
    /// A new session of `kind` starting now, with its absolute end from the policy.
    pub(crate) fn new(auth: &Auth, kind: SessionKind, client: &ClientInfo) -> Self {
        let now = auth.now();
        let token = Token::generate();
        let hash = token.hash();
        let (device_token, device) = device_for(kind, client);
        Self {
            token,
            id: SessionId::generate(),
            hash,
            device_token,
            device,
            kind,
            now,
            expires_at: now.plus(auth.policy.session_absolute_secs),
            new_device: false,
        }
    }

    /// Looks up whether the login comes from a browser or app new to `account`, so the
    /// session records a `login_new_device` event (OWASP ASVS 4.0.3 V2.2.3: tell the owner).
    pub(crate) async fn check_device(
        mut self,
        auth: &Auth,
        account: &AccountId,
        client: &ClientInfo,
    ) -> Result<Self, crate::store::StoreError> {
        self.new_device = auth
            .store
            .meta()
            .is_new_device(
                account,
                self.kind == SessionKind::Web,
                client.device.as_deref(),
                client.user_agent.as_deref(),
            )
            .await?;
        Ok(self)
    }

    /// Whether the login comes from a new browser or app (its notice is queued).
    pub(crate) fn new_device(&self) -> bool {
        self.new_device
    }

    /// When it starts.
    pub(crate) fn now(&self) -> UnixTime {
        self.now
    }

    /// The row to insert for `account`, whose login used the password and `second_factor`
    /// (or the password alone).
    pub(crate) fn row<'a>(
        &'a self,
        account: &'a AccountId,
        client: &'a ClientInfo,
        second_factor: Option<Method>,
    ) -> NewSession<'a> {
        self.row_after(account, client, FirstFactor::Password, second_factor)
    }

    /// The row to insert for `account`, whose login used `first_factor` and `second_factor`.
    pub(crate) fn row_after<'a>(
        &'a self,
        account: &'a AccountId,
        client: &'a ClientInfo,
        first_factor: FirstFactor,
        second_factor: Option<Method>,
    ) -> NewSession<'a> {
        NewSession {
            id: &self.id,
            token_hash: &self.hash,
            account_id: account,
            kind: self.kind,
            now: self.now,
            expires_at: self.expires_at,
            client,
            device: self.device.as_deref(),
            first_factor,
            second_factor,
            new_device: self.new_device,
        }
    }

    /// The inserted session, with the token the client keeps.
    pub(crate) fn issued(self, account_id: AccountId, username: String) -> NewSessionToken {
        NewSessionToken {
            session_id: self.id,
            token: self.token,
            account_id,
            username,
            device_token: self.device_token,
        }
    }
}

/// The device cookie a new browser session is remembered by: the browser's own (its
/// SHA-256), or a fresh one to hand out. API sessions have none.
fn device_for(kind: SessionKind, client: &ClientInfo) -> (Option<Token>, Option<String>) {
    match (kind, &client.device) {
        (SessionKind::Api, _) => (None, None),
        (SessionKind::Web, Some(known)) => (None, Some(known.clone())),
        (SessionKind::Web, None) => {
            let fresh = Token::generate();
            let hash = fresh.hash().as_str().to_owned();
            (Some(fresh), Some(hash))
        }
    }
}
