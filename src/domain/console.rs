//! What the operator console shows and asks (issue 25), as plain data: the counts, a
//! group, a recorded action and the filter of the audit trail.

use super::UnixTime;

/// The console's counts.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConsoleCounts {
    /// Accounts.
    pub accounts: i64,
    /// Disabled accounts.
    pub disabled: i64,
    /// Accounts with two-factor authentication on.
    pub two_factor: i64,
    /// Admins.
    pub admins: i64,
}

/// One recorded action.
#[derive(Clone, Debug)]
pub struct AuditRecord {
    /// Its id (newest highest).
    pub id: i64,
    /// When (Unix seconds).
    pub at: i64,
    /// Who.
    pub actor: String,
    /// `console` or `cli`.
    pub via: String,
    /// From which address.
    pub ip: Option<String>,
    /// From which user agent.
    pub user_agent: Option<String>,
    /// What.
    pub action: String,
    /// To whom or what.
    pub target: Option<String>,
    /// Why.
    pub reason: Option<String>,
}

/// Which recorded actions to list: each filter matches exactly, `before` is the page key.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Only this actor's.
    pub actor: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// Only on this target.
    pub target: Option<String>,
    /// Only older than this id.
    pub before: Option<i64>,
}

/// A group and its members' usernames, by name.
#[derive(Clone, Debug)]
pub struct GroupRecord {
    /// Its name.
    pub name: String,
    /// When it was made.
    pub created_at: UnixTime,
    /// Its members' usernames, sorted.
    pub members: Vec<String>,
}
