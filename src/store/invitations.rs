//! Invitations (issue 25, `--sign-up invite`): only the SHA-256 of a link's token is kept.
//! An invitation is used by one conditional `UPDATE` in the sign-up's own transaction — the
//! account, its confirmed address and its group membership are written with it or not at
//! all — so two sign-ups racing with one link, on any number of nodes, make one account.

use super::{StoreResult, conflict_or};
use crate::domain::{AccountId, InvitationId, InvitationRecord, UnixTime, Username};

/// An invitation to store.
#[derive(Clone, Copy, Debug)]
pub struct NewInvitation<'a> {
    /// Its id.
    pub id: &'a InvitationId,
    /// The SHA-256 (hex) of its token.
    pub token_hash: &'a str,
    /// The address it is bound to ([`crate::domain::Email::normalized`]).
    pub email: Option<&'a str>,
    /// The group's name, which must exist.
    pub group: Option<&'a str>,
    /// Who made it.
    pub created_by: &'a str,
    /// Now.
    pub now: UnixTime,
    /// When it stops working.
    pub expires_at: UnixTime,
}

/// The account an invitation makes.
#[derive(Clone, Copy, Debug)]
pub struct InvitedAccount<'a> {
    /// Its id.
    pub id: &'a AccountId,
    /// Its username.
    pub username: &'a Username,
    /// Its password hash.
    pub password_hash: &'a str,
    /// The SHA-256 (hex) of the invitation's token.
    pub token_hash: &'a str,
    /// Now.
    pub now: UnixTime,
}

/// What using an invitation did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvitedOutcome {
    /// The account is made, the invitation used.
    Created,
    /// The invitation was used meanwhile, expired or revoked: nothing was written.
    InvitationGone,
}

type InvitationRow = (
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
    i64,
    Option<i64>,
    Option<String>,
);

/// The columns of [`InvitationRow`], from the invitation and its group and account.
macro_rules! invitation_select {
    () => {
        "SELECT i.id, i.email_key, g.name, i.created_by, i.created_at, i.expires_at, \
         i.used_at, a.username FROM invitations i LEFT JOIN groups g ON g.id = i.group_id \
         LEFT JOIN accounts a ON a.id = i.used_by"
    };
}

fn record(r: InvitationRow) -> InvitationRecord {
    InvitationRecord {
        id: r.0,
        email: r.1,
        group: r.2,
        created_by: r.3,
        created_at: r.4,
        expires_at: r.5,
        used_at: r.6,
        used_by: r.7,
    }
}

impl super::Invitations<'_> {
    /// Stores an invitation; `false` when its group does not exist.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn add(&self, i: &NewInvitation<'_>) -> StoreResult<bool> {
        let group_id: Option<String> = match i.group {
            Some(name) => {
                let id = sqlx::query_scalar("SELECT id FROM groups WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?;
                if id.is_none() {
                    return Ok(false);
                }
                id
            }
            None => None,
        };
        sqlx::query(
            "INSERT INTO invitations (id, token_hash, email_key, group_id, created_by, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(i.id.as_str())
        .bind(i.token_hash)
        .bind(i.email)
        .bind(group_id)
        .bind(i.created_by)
        .bind(i.now.0)
        .bind(i.expires_at.0)
        .execute(&self.pool)
        .await
        .map_err(conflict_or)?;
        Ok(true)
    }

    /// The invitation with this token's hash, used or not.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn by_token(&self, token_hash: &str) -> StoreResult<Option<InvitationRecord>> {
        let row: Option<InvitationRow> =
            sqlx::query_as(concat!(invitation_select!(), " WHERE i.token_hash = $1"))
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(record))
    }

    /// The invitation with this id, used or not.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn by_id(&self, id: &str) -> StoreResult<Option<InvitationRecord>> {
        let row: Option<InvitationRow> =
            sqlx::query_as(concat!(invitation_select!(), " WHERE i.id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(record))
    }

    /// The newest invitations first, at most `limit`.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list(&self, limit: i64) -> StoreResult<Vec<InvitationRecord>> {
        let rows: Vec<InvitationRow> = sqlx::query_as(concat!(
            invitation_select!(),
            " ORDER BY i.created_at DESC, i.id DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(record).collect())
    }

    /// Revokes an unused invitation; `false` when there is no such unused one.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn revoke(&self, id: &str) -> StoreResult<bool> {
        Ok(
            sqlx::query("DELETE FROM invitations WHERE id = $1 AND used_at IS NULL")
                .bind(id)
                .execute(&self.pool)
                .await?
                .rows_affected()
                == 1,
        )
    }

    /// Makes the account with the invitation, in one transaction: the conditional `UPDATE`
    /// takes the invitation only while it is unused and unexpired (one row, or nothing is
    /// written); the account gets the invitation's address, confirmed, and joins its group.
    ///
    /// # Errors
    /// [`StoreError::Conflict`](super::StoreError::Conflict) when the username is taken (nothing is written, the
    /// invitation stays unused).
    pub async fn create_account(&self, a: &InvitedAccount<'_>) -> StoreResult<InvitedOutcome> {
        let mut tx = self.write_tx().await?;
        let taken: Option<(Option<String>, Option<String>)> = sqlx::query_as(
            "UPDATE invitations SET used_at = $2, used_by = $3 \
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 \
             RETURNING email_key, group_id",
        )
        .bind(a.token_hash)
        .bind(a.now.0)
        .bind(a.id.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((email, group)) = taken else {
            tx.rollback().await?;
            return Ok(InvitedOutcome::InvitationGone);
        };
        let inserted = sqlx::query(
            "INSERT INTO accounts (id, username, password_hash, created_at, email, email_key, \
             email_verified_at) VALUES ($1, $2, $3, $4, $5, $5, $6)",
        )
        .bind(a.id.as_str())
        .bind(a.username.as_str())
        .bind(a.password_hash)
        .bind(a.now.0)
        .bind(email.as_deref())
        .bind(email.as_ref().map(|_| a.now.0))
        .execute(&mut *tx)
        .await;
        if let Err(e) = inserted {
            tx.rollback().await?;
            return Err(conflict_or(e));
        }
        if let Some(group) = group {
            sqlx::query(
                "INSERT INTO group_members (group_id, account_id, added_at) VALUES ($1, $2, $3)",
            )
            .bind(group)
            .bind(a.id.as_str())
            .bind(a.now.0)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(InvitedOutcome::Created)
    }

    /// Deletes invitations that expired before `before` (the retention rule).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn purge(&self, before: UnixTime) -> StoreResult<u64> {
        Ok(sqlx::query("DELETE FROM invitations WHERE expires_at < $1")
            .bind(before.0)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}
