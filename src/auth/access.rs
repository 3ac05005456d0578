//! Forward authentication: may this request, which a reverse proxy is about to pass to a
//! protected site, go through? The access rules decide which policy applies; the session
//! (the shared cookie, or an app's bearer token) decides whether it is met.
//!
//! Owns: that decision. A check is at most one session lookup (no argon2, and no write but
//! the session's `last_seen`, at most once a minute) plus, only for a one-factor session on
//! a `two_factor` rule, one look at whether the account has two-factor on.
//! Must not: know about headers or proxies (`http::authz` reads those).

use std::sync::Arc;

use super::{Auth, AuthError, CurrentSession};
use crate::crypto::Token;
use crate::domain::{
    AccessControl, AccessTarget, AnonymousDecision, ClientInfo, Decision, Policy, SessionKind,
};

/// What the proxy is told.
#[derive(Debug, PartialEq, Eq)]
pub enum AccessAnswer {
    /// Let it through; `user` is who (none for a `bypass` rule decided before any lookup).
    Allow {
        /// The username, for `Remote-User`.
        user: Option<String>,
        /// The confirmed email address, for `Remote-Email`.
        email: Option<String>,
        /// The user's groups, for `Remote-Groups` (issue 25).
        groups: Vec<String>,
    },
    /// Log in first (no session, or one that lacks the second factor the account has).
    Login,
    /// Never for this user: a `deny` rule, or a rule a user of that name does not meet.
    Denied,
    /// The rule wants two factors and the account has none: turn two-factor on first.
    TwoFactorNeeded,
}

impl AccessAnswer {
    /// The answer in words, for the log.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Allow { .. } => "allowed",
            Self::Login => "not logged in",
            Self::Denied => "denied by the rules",
            Self::TwoFactorNeeded => "a two-factor login is needed",
        }
    }
}

/// The access rules and the sessions they are checked against; cheap to clone.
#[derive(Clone)]
pub struct Access {
    auth: Auth,
    rules: Arc<AccessControl>,
}

impl Access {
    /// The checker for these rules.
    pub fn new(auth: Auth, rules: AccessControl) -> Self {
        Self {
            auth,
            rules: Arc::new(rules),
        }
    }

    /// The rules (for `twofold access check` and the forbidden page's wording).
    pub fn rules(&self) -> &AccessControl {
        &self.rules
    }

    /// Decides a request. `credential` is the session token the request carried: the
    /// browser's cookie ([`SessionKind::Web`]) or an app's bearer token.
    ///
    /// # Errors
    /// On a database failure (an unknown or ended session is [`AccessAnswer::Login`]).
    pub async fn check(
        &self,
        target: &AccessTarget,
        credential: Option<(&Token, SessionKind)>,
        client: &ClientInfo,
    ) -> Result<AccessAnswer, AuthError> {
        let (answer, user) = self.decide(target, credential, client).await?;
        if !matches!(answer, AccessAnswer::Allow { .. }) {
            // A refusal: who asked, from where, for what (OWASP ASVS 4.0.3 7.2.1). Allowed
            // requests are the proxy's to log; there is one for every page.
            tracing::warn!(
                user = user.as_deref().unwrap_or("(not logged in)"),
                ip = client.ip.as_deref().unwrap_or("unknown"),
                target = %format!("{} {}{}", target.method, target.host, target.path_and_query),
                answer = answer.name(),
                "forward-auth refused a request"
            );
        }
        Ok(answer)
    }

    /// [`Access::check`]'s decision, with the username of the session when one was read.
    async fn decide(
        &self,
        target: &AccessTarget,
        credential: Option<(&Token, SessionKind)>,
        client: &ClientInfo,
    ) -> Result<(AccessAnswer, Option<String>), AuthError> {
        // Rules that decide without knowing who asks cost no lookup at all.
        match self.rules.decide_anonymous(target) {
            AnonymousDecision::Known(Decision {
                policy: Policy::Bypass,
                ..
            }) => {
                return Ok((
                    AccessAnswer::Allow {
                        user: None,
                        email: None,
                        groups: Vec::new(),
                    },
                    None,
                ));
            }
            AnonymousDecision::Known(Decision {
                policy: Policy::Deny,
                ..
            }) => return Ok((AccessAnswer::Denied, None)),
            _ => {}
        }
        let Some(session) = self.session(credential, client).await? else {
            return Ok((AccessAnswer::Login, None));
        };
        let answer = self.answer_for(target, &session).await?;
        Ok((answer, Some(session.username)))
    }

    /// The answer for a known session.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn answer_for(
        &self,
        target: &AccessTarget,
        session: &CurrentSession,
    ) -> Result<AccessAnswer, AuthError> {
        // One indexed read: the rules may name groups, and `Remote-Groups` tells them.
        let groups = self.auth.groups().of(&session.account_id).await?;
        let decision = self.rules.decide_for(target, &session.username, &groups);
        let allow = || AccessAnswer::Allow {
            user: Some(session.username.clone()),
            email: session.email.clone(),
            groups: groups.clone(),
        };
        Ok(match decision.policy {
            Policy::Bypass | Policy::OneFactor => allow(),
            Policy::Deny => AccessAnswer::Denied,
            // NIST SP 800-63B §4.2 (AAL2): only a login that used the second factor counts.
            Policy::TwoFactor if session.second_factor.is_some() => allow(),
            Policy::TwoFactor => {
                if self.has_two_factor(session).await? {
                    // Two-factor was turned on after this login: log in again with both.
                    AccessAnswer::Login
                } else {
                    AccessAnswer::TwoFactorNeeded
                }
            }
        })
    }

    /// Whether the session's account has two-factor authentication on.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn has_two_factor(&self, session: &CurrentSession) -> Result<bool, AuthError> {
        Ok(self
            .auth
            .store
            .two_factor()
            .record(&session.account_id)
            .await?
            .enabled_since
            .is_some())
    }

    async fn session(
        &self,
        credential: Option<(&Token, SessionKind)>,
        client: &ClientInfo,
    ) -> Result<Option<CurrentSession>, AuthError> {
        let Some((token, kind)) = credential else {
            return Ok(None);
        };
        match self.auth.sessions().authenticate(token, kind, client).await {
            Ok(s) => Ok(Some(s)),
            Err(AuthError::Unauthenticated) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
