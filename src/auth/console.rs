//! The operator console's use cases (issue 25): who is an admin, finding people, one
//! person's page, the actions on an account — each through the same credential lifecycle as
//! `twofold user …` (this file calls `accounts()`, `two_factor()` and `recovery()`, it does
//! not repeat them) — and the audit trail of every admin and operator action, from the
//! console and the CLI alike.
//!
//! Owns: the rules of the console — an admin has 2FA on and logged in with two factors; the
//! last admin is never disabled, demoted, reset or deleted; acting on oneself needs an
//! explicit confirmation. Must not: decide how a refusal is worded (`http::error`).

use super::{AccountReport, AuthError, CurrentSession};
use crate::domain::{AccountId, ClientInfo, Email, PhoneNumber, UnixTime, Username, amr};
use crate::domain::{AuditFilter, AuditRecord};
use crate::store::{AdminChange, NewAudit, PersonQuery, PersonRecord};

/// People per page of the console's list.
pub const PEOPLE_PER_PAGE: i64 = 50;
/// Recorded actions per page of the audit trail.
pub const AUDIT_PER_PAGE: i64 = 100;

/// Why the console refused something.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsoleProblem {
    /// The last admin cannot be disabled, demoted, reset or deleted.
    LastAdmin,
    /// Only an account with two-factor authentication on can be an admin.
    AdminNeedsTwoFactor,
    /// Acting on one's own account needs an explicit confirmation.
    ConfirmYourself,
    /// A page key that is not a username (tampered with).
    BadPageKey,
    /// A group of that name exists already.
    GroupExists,
    /// No group has that name.
    UnknownGroup,
    /// A public app has no secret to rotate.
    PublicClient,
}

/// Who acts: an admin in the console, or the operator at the CLI.
#[derive(Clone, Debug)]
pub struct Actor {
    /// An admin's username, or the OS user behind the CLI.
    pub name: String,
    /// `console` or `cli`.
    pub via: &'static str,
    /// From where; its user agent names the actor in the person's own activity.
    pub client: ClientInfo,
    /// The admin's own account (none for the CLI).
    pub account: Option<AccountId>,
}

impl Actor {
    /// The operator at the CLI, as the OS user `os_user`.
    pub fn cli(os_user: &str) -> Self {
        Self {
            name: os_user.to_owned(),
            via: "cli",
            client: ClientInfo::operator(os_user),
            account: None,
        }
    }

    /// An admin in the console, from `client`.
    pub fn admin(session: &CurrentSession, client: &ClientInfo) -> Self {
        let mut client = client.clone();
        client.user_agent = Some(format!(
            "Twofold admin console (admin {})",
            session.username
        ));
        Self {
            name: session.username.clone(),
            via: "console",
            client,
            account: Some(session.account_id.clone()),
        }
    }
}

/// One page of people.
#[derive(Clone, Debug)]
pub struct PeoplePage {
    /// This page's people, by username.
    pub people: Vec<PersonRecord>,
    /// The key of the next page (the last username), when there is one.
    pub next: Option<String>,
}

/// Everything the person's page shows.
#[derive(Clone, Debug)]
pub struct PersonView {
    /// The account, its email and admin status.
    pub person: PersonRecord,
    /// Status, factors, sessions count and activity (as `twofold user show`).
    pub report: AccountReport,
    /// Live sessions.
    pub sessions: Vec<super::SessionSummary>,
    /// Passkeys and security keys, by name.
    pub passkeys: Vec<String>,
    /// The apps it allowed, by name.
    pub apps: Vec<String>,
    /// Its groups.
    pub groups: Vec<String>,
}

/// What an action on an account is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountAction {
    /// Disable: no logins, every session ends.
    Disable,
    /// Enable again.
    Enable,
    /// Log out everywhere.
    LogOut,
    /// Turn two-factor authentication off.
    ResetTwoFactor,
    /// Send a password-reset link or code to the account's email or phone.
    SendRecovery,
    /// Delete the account and everything kept about it.
    Delete,
    /// Make it an admin.
    GrantAdmin,
    /// Make it no admin.
    RevokeAdmin,
}

impl AccountAction {
    /// The audit trail's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Enable => "enable",
            Self::LogOut => "logout",
            Self::ResetTwoFactor => "reset_2fa",
            Self::SendRecovery => "send_recovery",
            Self::Delete => "delete",
            Self::GrantAdmin => "grant_admin",
            Self::RevokeAdmin => "revoke_admin",
        }
    }

    /// Whether, done to one's own account, it ends one's own console session.
    pub fn removes_own_access(self) -> bool {
        matches!(
            self,
            Self::Disable | Self::LogOut | Self::ResetTwoFactor | Self::Delete | Self::RevokeAdmin
        )
    }

    /// Whether it takes an admin away (so the last one must not be its target).
    fn removes_admin(self) -> bool {
        matches!(
            self,
            Self::Disable | Self::ResetTwoFactor | Self::Delete | Self::RevokeAdmin
        )
    }
}

impl super::Console<'_> {
    /// Whether this session may use the console: its account is an admin (2FA on, not
    /// disabled) and its login used two factors.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn is_admin_session(&self, session: &CurrentSession) -> Result<bool, AuthError> {
        if !amr(session.first_factor, session.second_factor).contains(&"mfa") {
            return Ok(false);
        }
        Ok(self.store.console().is_admin(&session.account_id).await?)
    }

    /// One page of people: `q` is a username prefix, an email address (with `@`) or a phone
    /// number (starting with `+`); `after` the previous page's key.
    ///
    /// # Errors
    /// [`ConsoleProblem::BadPageKey`] for a key that is not a username.
    pub async fn find_people(&self, q: &str, after: Option<&str>) -> Result<PeoplePage, AuthError> {
        let after = match after.filter(|a| !a.is_empty()) {
            Some(a) => Some(
                Username::parse(a).map_err(|_| AuthError::Console(ConsoleProblem::BadPageKey))?,
            ),
            None => None,
        };
        let q = q.trim();
        let (email, phone);
        let query = if q.contains('@') {
            let Ok(e) = Email::parse(q) else {
                return Ok(PeoplePage::empty());
            };
            email = e.normalized();
            PersonQuery::EmailKey(&email)
        } else if q.starts_with('+') {
            let Ok(p) = PhoneNumber::parse(q, self.tf.default_region.as_deref()) else {
                return Ok(PeoplePage::empty());
            };
            phone = p.e164().to_owned();
            PersonQuery::Phone(&phone)
        } else if q
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
        {
            email = q.to_ascii_lowercase();
            PersonQuery::Prefix(&email)
        } else {
            // No username holds these characters: nothing matches, and nothing is asked.
            return Ok(PeoplePage::empty());
        };
        let mut people = self
            .store
            .console()
            .find_people(&query, after.as_ref(), PEOPLE_PER_PAGE + 1)
            .await?;
        let more = people.len() > PEOPLE_PER_PAGE as usize;
        people.truncate(PEOPLE_PER_PAGE as usize);
        let next = more
            .then(|| people.last().map(|p| p.account.username.clone()))
            .flatten();
        Ok(PeoplePage { people, next })
    }

    /// One person's page.
    ///
    /// # Errors
    /// [`AuthError::NotFound`] for an unknown or invalid username.
    pub async fn person(&self, username: &str) -> Result<PersonView, AuthError> {
        let name = Username::parse(username).map_err(|_| AuthError::NotFound)?;
        let person = self
            .store
            .console()
            .person(&name)
            .await?
            .ok_or(AuthError::NotFound)?;
        let report = self
            .operator()
            .account_report(name.as_str())
            .await?
            .ok_or(AuthError::NotFound)?;
        let id = &person.account.id;
        let sessions = self.sessions().live_sessions(id).await?;
        let passkeys = self
            .store
            .passkeys()
            .list(id)
            .await?
            .into_iter()
            .map(|p| p.name)
            .collect();
        let apps = self
            .store
            .oidc()
            .consents(id)
            .await?
            .into_iter()
            .map(|c| c.name)
            .collect();
        let groups = self.store.groups().groups_of(id).await?;
        Ok(PersonView {
            person,
            report,
            sessions,
            passkeys,
            apps,
            groups,
        })
    }

    /// Does `action` to `username`, for `actor`, and records it in the audit trail. The
    /// change goes through the same use case as the CLI's, so it ends what the lifecycle
    /// says and tells the person. `myself` confirms an action on the actor's own account.
    /// Answers how many sessions ended, for a logout.
    ///
    /// # Errors
    /// [`AuthError::NotFound`] for an unknown user; [`ConsoleProblem::LastAdmin`],
    /// [`ConsoleProblem::ConfirmYourself`], [`ConsoleProblem::AdminNeedsTwoFactor`].
    pub async fn act(
        &self,
        actor: &Actor,
        username: &str,
        action: AccountAction,
        reason: Option<&str>,
        myself: bool,
    ) -> Result<Option<u64>, AuthError> {
        let name = Username::parse(username).map_err(|_| AuthError::NotFound)?;
        let target = self
            .store
            .accounts()
            .account_by_username(&name)
            .await?
            .ok_or(AuthError::NotFound)?;
        if actor.account.as_ref() == Some(&target.id) && !myself {
            return Err(AuthError::Console(ConsoleProblem::ConfirmYourself));
        }
        if action.removes_admin() && self.store.console().is_last_admin(&target.id).await? {
            return Err(AuthError::Console(ConsoleProblem::LastAdmin));
        }
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        let who = &actor.client;
        let (u, found) = (name.as_str(), true);
        let mut ended = None;
        let found = match action {
            AccountAction::Disable | AccountAction::Enable => {
                let off = action == AccountAction::Disable;
                self.accounts().set_disabled(u, off, who, reason).await?
            }
            AccountAction::LogOut => {
                ended = self.accounts().log_out_everywhere(u, who, reason).await?;
                ended.is_some()
            }
            AccountAction::ResetTwoFactor => {
                self.two_factor().reset_two_factor(u, who, reason).await?
            }
            AccountAction::SendRecovery => {
                self.recovery().send_recoveries(u, who).await?;
                found
            }
            AccountAction::Delete => self.delete(&target.id).await?,
            AccountAction::GrantAdmin | AccountAction::RevokeAdmin => {
                let since = (action == AccountAction::GrantAdmin).then(|| self.now());
                match self.store.console().set_admin(&name, since).await? {
                    AdminChange::Done => true,
                    AdminChange::NoSuchAccount => false,
                    AdminChange::NeedsTwoFactor => {
                        return Err(AuthError::Console(ConsoleProblem::AdminNeedsTwoFactor));
                    }
                    AdminChange::LastAdmin => {
                        return Err(AuthError::Console(ConsoleProblem::LastAdmin));
                    }
                }
            }
        };
        if !found {
            return Err(AuthError::NotFound);
        }
        self.audit(actor, action.as_str(), Some(u), reason).await?;
        Ok(ended)
    }

    /// Deletes an account through the lifecycle; `false` when it was gone already.
    async fn delete(&self, account: &AccountId) -> Result<bool, AuthError> {
        match self
            .store
            .console()
            .delete_account(account, self.now())
            .await?
        {
            AdminChange::Done => {
                tracing::info!(account = %account, "account deleted");
                Ok(true)
            }
            AdminChange::NoSuchAccount => Ok(false),
            _ => Err(AuthError::Console(ConsoleProblem::LastAdmin)),
        }
    }

    /// The owner deletes their own account (`DELETE /api/v1/me`, `/settings/account`): every
    /// credential ends and everything kept about it goes. The last admin cannot.
    ///
    /// # Errors
    /// [`ConsoleProblem::LastAdmin`]; [`AuthError::Unauthenticated`] when it is gone.
    pub async fn delete_own_account(&self, session: &CurrentSession) -> Result<(), AuthError> {
        if !self.delete(&session.account_id).await? {
            return Err(AuthError::Unauthenticated);
        }
        Ok(())
    }

    /// Records an admin or operator action.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn audit(
        &self,
        actor: &Actor,
        action: &str,
        target: Option<&str>,
        reason: Option<&str>,
    ) -> Result<(), AuthError> {
        tracing::info!(
            actor = %actor.name,
            via = actor.via,
            action,
            target = target.unwrap_or_default(),
            reason = reason.unwrap_or_default(),
            "admin action"
        );
        Ok(self
            .store
            .console()
            .add_audit(&NewAudit {
                actor: &actor.name,
                via: actor.via,
                client: &actor.client,
                action,
                target,
                reason,
                at: self.now(),
            })
            .await?)
    }

    /// One page of the audit trail, newest first.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn audit_trail(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>, AuthError> {
        Ok(self
            .store
            .console()
            .list_audit(filter, AUDIT_PER_PAGE)
            .await?)
    }

    /// The console's front page: counts and the latest security events.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn overview(
        &self,
    ) -> Result<
        (
            crate::domain::ConsoleCounts,
            Vec<(String, super::ActivityEntry)>,
        ),
        AuthError,
    > {
        let counts = self.store.console().counts().await?;
        let events = self
            .store
            .console()
            .latest_events(SECURITY_KINDS, 20)
            .await?
            .into_iter()
            .map(|(u, e)| (u, e.into()))
            .collect();
        Ok((counts, events))
    }

    /// Deletes recorded actions past the retention rule (housekeeping).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn purge_audit(&self, before: UnixTime) -> Result<u64, AuthError> {
        Ok(self.store.console().purge_audit(before).await?)
    }
}

/// The kinds the console's front page shows.
const SECURITY_KINDS: &[&str] = &[
    "second_factor_locked",
    "passkey_cloned",
    "password_changed",
    "two_factor_disabled",
    "two_factor_reset_by_operator",
    "recovery_completed",
    "account_disabled",
    "logged_out_by_operator",
];

impl PeoplePage {
    fn empty() -> Self {
        Self {
            people: Vec::new(),
            next: None,
        }
    }
}
