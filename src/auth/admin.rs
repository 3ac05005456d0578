//! The operator's use cases behind `twofold user …`: listing accounts, one account's report,
//! housekeeping. (Disabling, logging out and resetting 2FA live with the feature they touch.)

use super::{ActivityEntry, AuthError};
use crate::domain::{AccountId, UnixTime, Username};

/// An account as `twofold user list` shows it.
#[derive(Clone, Debug)]
pub struct AccountSummary {
    /// Its id.
    pub id: AccountId,
    /// Its username.
    pub username: String,
    /// When it was created.
    pub created_at: UnixTime,
    /// When the operator disabled it, if they did.
    pub disabled_at: Option<UnixTime>,
}

/// Everything `twofold user show` prints about one account.
#[derive(Clone, Debug)]
pub struct AccountReport {
    /// The account.
    pub account: AccountSummary,
    /// Wrong passwords in a row.
    pub wrong_passwords: i64,
    /// When 2FA was turned on, the methods ("text message", "authentication app") and the
    /// backup codes left; `None` when 2FA is off.
    pub two_factor: Option<(UnixTime, Vec<&'static str>, usize)>,
    /// Live sessions.
    pub sessions: usize,
    /// The newest activity.
    pub activity: Vec<ActivityEntry>,
}

impl super::Operator<'_> {
    /// Every account, by username.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list_accounts(&self) -> Result<Vec<AccountSummary>, AuthError> {
        Ok(self
            .store
            .accounts()
            .list_accounts()
            .await?
            .into_iter()
            .map(|a| AccountSummary {
                id: a.id,
                username: a.username,
                created_at: a.created_at,
                disabled_at: a.disabled_at,
            })
            .collect())
    }

    /// One account's report, `None` when there is no such user.
    ///
    /// # Errors
    /// On a database failure or an invalid username.
    pub async fn account_report(&self, username: &str) -> Result<Option<AccountReport>, AuthError> {
        let Some(a) = self
            .store
            .accounts()
            .account_by_username(&Username::parse(username)?)
            .await?
        else {
            return Ok(None);
        };
        let tf = self.store.two_factor().record(&a.id).await?;
        let two_factor = match tf.enabled_since {
            Some(since) => {
                let mut methods = Vec::new();
                if tf.totp.is_some() {
                    methods.push("authentication app");
                }
                if tf.phone.is_some() {
                    methods.push("text message");
                }
                let left = self
                    .store
                    .backup_codes()
                    .backup_batch(&a.id)
                    .await?
                    .map_or(0, |b| b.remaining());
                Some((since, methods, left))
            }
            None => None,
        };
        Ok(Some(AccountReport {
            wrong_passwords: self.wrong_passwords_in_a_row(&a.id).await?,
            two_factor,
            sessions: self.sessions().live_sessions(&a.id).await?.len(),
            activity: self
                .store
                .events()
                .list_events(&a.id, 10)
                .await?
                .into_iter()
                .map(ActivityEntry::from)
                .collect(),
            account: AccountSummary {
                id: a.id,
                username: a.username,
                created_at: a.created_at,
                disabled_at: a.disabled_at,
            },
        }))
    }

    /// Deletes what has expired: sessions, login challenges, idle counters and budgets,
    /// browsers not seen for a year, and activity past its retention (lookups check expiry
    /// anyway; Sign in with Twofold has its own, `oidc.keys().housekeeping`, which the
    /// server runs beside this). Returns how many sessions and how many other rows went.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn housekeeping(&self) -> Result<(u64, u64), AuthError> {
        let now = self.now();
        let sessions = self
            .store
            .sessions()
            .purge_sessions(now, self.policy.session_idle_secs)
            .await?;
        let challenges = self.store.challenges().purge_challenges(now).await?
            + self.store.recovery().purge_recoveries(now).await?
            + self.store.passkeys().purge_flows(now).await?;
        let limits = self
            .store
            .limits()
            .purge_limits(now, 30 * 86_400, self.policy.login.unknown_device_cap)
            .await?;
        let devices = self
            .store
            .meta()
            .purge_devices(now.plus(-365 * 86_400))
            .await?;
        // Activity is kept as long as the operator says and no longer (ASVS 4.0.3 8.3.8).
        let events = self
            .store
            .events()
            .purge_events(now.plus(-self.policy.activity_retention_secs))
            .await?
            // The audit trail of admin and operator actions, under the same rule (issue 25).
            + self
                .console()
                .purge_audit(now.plus(-self.policy.activity_retention_secs))
                .await?
            // Invitations long expired, under the same rule.
            + self
                .store
                .invitations()
                .purge(now.plus(-self.policy.activity_retention_secs))
                .await?;
        Ok((sessions, challenges + limits + devices + events))
    }
}
