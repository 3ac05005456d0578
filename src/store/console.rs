//! The operator console's statements (issue 25): who is an admin, finding people (by
//! username prefix, email or phone, a page at a time by key), the console's counts, deleting
//! an account through the credential lifecycle, and the audit trail of admin and operator
//! actions.
//!
//! Must not: decide who may act (auth does) or word anything a person reads.

use super::accounts::{AccountRecord, AccountRow, account_columns};
use super::{Engine, StoreResult};
use crate::domain::{
    AccountId, AuditFilter, AuditRecord, ClientInfo, ConsoleCounts, CredentialEvent, UnixTime,
    Username,
};

/// How an admin change came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminChange {
    /// Done (or already so).
    Done,
    /// No account has that username.
    NoSuchAccount,
    /// Only an account with two-factor authentication on can be an admin.
    NeedsTwoFactor,
    /// The account is the last admin: it stays one (and is not deleted).
    LastAdmin,
}

/// One row of the console's list of people.
#[derive(Clone, Debug)]
pub struct PersonRecord {
    /// The account.
    pub account: AccountRecord,
    /// Its confirmed email address.
    pub email: Option<String>,
    /// When it became an admin.
    pub admin_since: Option<UnixTime>,
}

/// One admin or operator action, to record.
#[derive(Clone, Copy, Debug)]
pub struct NewAudit<'a> {
    /// Who: an admin's username, or the OS user behind the CLI.
    pub actor: &'a str,
    /// `console` or `cli`.
    pub via: &'a str,
    /// From where (the CLI has no address; its user agent names it).
    pub client: &'a ClientInfo,
    /// What: a fixed word (`disable`, `delete`, `grant_admin`…).
    pub action: &'a str,
    /// To whom or what (a username, a group, an app).
    pub target: Option<&'a str>,
    /// Why, as the actor wrote it.
    pub reason: Option<&'a str>,
    /// When.
    pub at: UnixTime,
}

/// What to look people up by.
#[derive(Clone, Debug)]
pub enum PersonQuery<'a> {
    /// Usernames starting with this (already folded to lower case), after `after`.
    Prefix(&'a str),
    /// The account with this confirmed email key.
    EmailKey(&'a str),
    /// The account with this phone (E.164) for text-message codes.
    Phone(&'a str),
}

#[derive(sqlx::FromRow)]
struct PersonRow {
    #[sqlx(flatten)]
    account: AccountRow,
    email: Option<String>,
    email_verified_at: Option<i64>,
    admin_since: Option<i64>,
}

impl From<PersonRow> for PersonRecord {
    fn from(r: PersonRow) -> Self {
        Self {
            account: r.account.into(),
            email: r.email.filter(|_| r.email_verified_at.is_some()),
            admin_since: r.admin_since.map(UnixTime),
        }
    }
}

macro_rules! person_select {
    ($rest:literal) => {
        concat!(
            "SELECT ",
            account_columns!("a"),
            ", a.email, a.email_verified_at, a.admin_since FROM accounts a ",
            $rest
        )
    };
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: i64,
    actor: String,
    via: String,
    ip: Option<String>,
    user_agent: Option<String>,
    action: String,
    target: Option<String>,
    reason: Option<String>,
}

impl From<AuditRow> for AuditRecord {
    fn from(r: AuditRow) -> Self {
        Self {
            id: r.id,
            at: r.at,
            actor: r.actor,
            via: r.via,
            ip: r.ip,
            user_agent: r.user_agent,
            action: r.action,
            target: r.target,
            reason: r.reason,
        }
    }
}

/// The admins who count: granted, with two-factor authentication on, not disabled.
const ADMINS: &str = "SELECT COUNT(*) FROM accounts WHERE admin_since IS NOT NULL AND two_factor_since IS NOT NULL AND disabled_at IS NULL";

impl super::Console<'_> {
    /// Up to `limit` people matching `query`, by username, after the username `after` (the
    /// page key). A prefix reads one range of the username index (`>= prefix`, `< prefix~`:
    /// `~` sorts after every username character), so a page costs the same at a million
    /// accounts as at ten.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn find_people(
        &self,
        query: &PersonQuery<'_>,
        after: Option<&Username>,
        limit: i64,
    ) -> StoreResult<Vec<PersonRecord>> {
        let after = after.map_or("", Username::as_str);
        let rows: Vec<PersonRow> = match query {
            // One lower bound, so the index range starts where the page does: with both
            // `>= prefix` and `> after`, SQLite picks one and would walk from the prefix to
            // the page key (at a million accounts, 100 ms for a late page).
            PersonQuery::Prefix(p) if after > *p => {
                sqlx::query_as(person_select!(
                    "WHERE a.username > $1 AND a.username < $2 ORDER BY a.username LIMIT $3"
                ))
                .bind(after)
                .bind(format!("{p}~"))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            PersonQuery::Prefix(p) => {
                sqlx::query_as(person_select!(
                    "WHERE a.username >= $1 AND a.username < $2 ORDER BY a.username LIMIT $3"
                ))
                .bind(*p)
                .bind(format!("{p}~"))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            PersonQuery::EmailKey(k) => {
                sqlx::query_as(person_select!(
                    "WHERE a.email_key = $1 AND a.email_verified_at IS NOT NULL AND a.username > $2 ORDER BY a.username LIMIT $3"
                ))
                .bind(*k)
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            PersonQuery::Phone(p) => {
                sqlx::query_as(person_select!(
                    "JOIN sms_phones p ON p.account_id = a.id WHERE p.phone = $1 AND a.username > $2 ORDER BY a.username LIMIT $3"
                ))
                .bind(*p)
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
        };
        Ok(rows.into_iter().map(PersonRecord::from).collect())
    }

    /// One person by username.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn person(&self, username: &Username) -> StoreResult<Option<PersonRecord>> {
        let row: Option<PersonRow> = sqlx::query_as(person_select!("WHERE a.username = $1"))
            .bind(username.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(PersonRecord::from))
    }

    /// Whether the account is an admin with two-factor authentication on (an admin whose
    /// 2FA was turned off or reset is no admin until it is on again).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn is_admin(&self, account: &AccountId) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM accounts WHERE id = $1 AND admin_since IS NOT NULL AND two_factor_since IS NOT NULL AND disabled_at IS NULL",
        )
        .bind(account.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok(n == 1)
    }

    /// Makes `username` an admin (`Some(now)`) or not (`None`). Granting needs two-factor
    /// authentication on; revoking the last admin is refused. Decided in one transaction that
    /// holds the admins' rows, so two admins revoking each other cannot both succeed.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn set_admin(
        &self,
        username: &Username,
        since: Option<UnixTime>,
    ) -> StoreResult<AdminChange> {
        let mut tx = self.write_tx().await?;
        let change = self.lock_admins(&mut tx, username).await?;
        if change != AdminChange::Done {
            return Ok(change);
        }
        let sql = match since {
            Some(_) => {
                "UPDATE accounts SET admin_since = COALESCE(admin_since, $1) WHERE username = $2 AND two_factor_since IS NOT NULL"
            }
            None => "UPDATE accounts SET admin_since = $1 WHERE username = $2",
        };
        let n = sqlx::query(sql)
            .bind(since.map(|t| t.0))
            .bind(username.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Ok(AdminChange::NeedsTwoFactor);
        }
        if since.is_none() && self.admins_left(&mut tx).await? == 0 {
            return Ok(AdminChange::LastAdmin);
        }
        tx.commit().await?;
        Ok(AdminChange::Done)
    }

    /// Takes the admins' row locks (PostgreSQL; SQLite's write transaction holds the
    /// database) and checks that `username` exists.
    async fn lock_admins(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        username: &Username,
    ) -> StoreResult<AdminChange> {
        if self.engine == Engine::Postgres {
            sqlx::query("SELECT id FROM accounts WHERE admin_since IS NOT NULL FOR UPDATE")
                .execute(&mut **tx)
                .await?;
        }
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts WHERE username = $1")
            .bind(username.as_str())
            .fetch_one(&mut **tx)
            .await?;
        Ok(if n == 0 {
            AdminChange::NoSuchAccount
        } else {
            AdminChange::Done
        })
    }

    async fn admins_left(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(ADMINS).fetch_one(&mut **tx).await?)
    }

    /// Whether taking `account` away (disabling or deleting it) would leave no admin.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn is_last_admin(&self, account: &AccountId) -> StoreResult<bool> {
        if !self.is_admin(account).await? {
            return Ok(false);
        }
        let n: i64 = sqlx::query_scalar(ADMINS).fetch_one(&self.pool).await?;
        Ok(n <= 1)
    }

    /// Deletes the account: ends every credential it holds (the lifecycle's
    /// `AccountDeleted`) and removes its row, and with it everything kept about it (the
    /// tables cascade), in one transaction. Refused (`LastAdmin`) for the last admin.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn delete_account(
        &self,
        account: &AccountId,
        now: UnixTime,
    ) -> StoreResult<AdminChange> {
        let mut tx = self.write_tx().await?;
        if self.engine == Engine::Postgres {
            sqlx::query("SELECT id FROM accounts WHERE admin_since IS NOT NULL FOR UPDATE")
                .execute(&mut *tx)
                .await?;
        }
        super::lifecycle::end_credentials(
            &mut tx,
            &super::Ending::new(CredentialEvent::AccountDeleted, account, None, now),
        )
        .await?;
        let admin: Option<Option<i64>> =
            sqlx::query_scalar("SELECT admin_since FROM accounts WHERE id = $1")
                .bind(account.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        let Some(admin) = admin else {
            return Ok(AdminChange::NoSuchAccount);
        };
        // Every table that names the account cascades from its row, but the wrong-password
        // counters, keyed by it without a reference.
        for sql in [
            "DELETE FROM login_throttle WHERE subject = $1",
            "DELETE FROM accounts WHERE id = $1",
        ] {
            sqlx::query(sql)
                .bind(account.as_str())
                .execute(&mut *tx)
                .await?;
        }
        if admin.is_some() && self.admins_left(&mut tx).await? == 0 {
            return Ok(AdminChange::LastAdmin);
        }
        tx.commit().await?;
        Ok(AdminChange::Done)
    }

    /// The console's counts.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn counts(&self) -> StoreResult<ConsoleCounts> {
        let (accounts, disabled, two_factor, admins): (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), \
               COALESCE(SUM(CASE WHEN disabled_at IS NOT NULL THEN 1 ELSE 0 END), 0), \
               COALESCE(SUM(CASE WHEN two_factor_since IS NOT NULL THEN 1 ELSE 0 END), 0), \
               COALESCE(SUM(CASE WHEN admin_since IS NOT NULL THEN 1 ELSE 0 END), 0) \
             FROM accounts",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(ConsoleCounts {
            accounts,
            disabled,
            two_factor,
            admins,
        })
    }

    /// The newest events of these kinds across every account, with the username, newest first.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn latest_events(
        &self,
        kinds: &[&str],
        limit: i64,
    ) -> StoreResult<Vec<(String, super::EventRecord)>> {
        // The kinds are the program's own words, never input; one placeholder each.
        let marks: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT a.username, e.kind, e.at, e.ip, e.user_agent, e.detail FROM events e \
             JOIN accounts a ON a.id = e.account_id WHERE e.kind IN ({}) ORDER BY e.id DESC LIMIT $1",
            marks.join(", ")
        );
        let mut q = sqlx::query_as::<
            _,
            (
                String,
                String,
                i64,
                Option<String>,
                Option<String>,
                Option<String>,
            ),
        >(sqlx::AssertSqlSafe(sql))
        .bind(limit);
        for k in kinds {
            q = q.bind(*k);
        }
        Ok(q.fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|(u, kind, at, ip, user_agent, detail)| {
                (
                    u,
                    super::EventRecord {
                        kind,
                        at: UnixTime(at),
                        ip,
                        user_agent,
                        detail,
                    },
                )
            })
            .collect())
    }

    /// Records an admin or operator action.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn add_audit(&self, a: &NewAudit<'_>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit (at, actor, via, ip, user_agent, action, target, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(a.at.0)
        .bind(a.actor)
        .bind(a.via)
        .bind(a.client.ip.as_deref())
        .bind(a.client.user_agent.as_deref())
        .bind(a.action)
        .bind(a.target)
        .bind(a.reason)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Up to `limit` recorded actions matching `f`, newest first.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list_audit(&self, f: &AuditFilter, limit: i64) -> StoreResult<Vec<AuditRecord>> {
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT id, at, actor, via, ip, user_agent, action, target, reason FROM audit \
             WHERE ($1 = '' OR actor = $1) AND ($2 = '' OR action = $2) AND ($3 = '' OR target = $3) \
             AND id < $4 ORDER BY id DESC LIMIT $5",
        )
        .bind(f.actor.as_deref().unwrap_or(""))
        .bind(f.action.as_deref().unwrap_or(""))
        .bind(f.target.as_deref().unwrap_or(""))
        .bind(f.before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(AuditRecord::from).collect())
    }

    /// Deletes recorded actions older than `before` (the retention rule).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn purge_audit(&self, before: UnixTime) -> StoreResult<u64> {
        Ok(sqlx::query("DELETE FROM audit WHERE at < $1")
            .bind(before.0)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}
