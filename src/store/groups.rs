//! Groups and their members (issue 25): for apps (the `groups` claim) and forward
//! authentication (`group:NAME`, `Remote-Groups`). The unique index on the name decides
//! between two groups made at once; a member is one row, added or removed by one statement.

use super::{StoreResult, conflict_or};
use crate::domain::{AccountId, GroupName, GroupRecord, UnixTime, Username};

impl super::Groups<'_> {
    /// Makes a group.
    ///
    /// # Errors
    /// [`StoreError::Conflict`](super::StoreError::Conflict) when the name is taken.
    pub async fn add_group(&self, name: &GroupName, now: UnixTime) -> StoreResult<()> {
        sqlx::query("INSERT INTO groups (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(crate::domain::GroupId::generate().as_str())
            .bind(name.as_str())
            .bind(now.0)
            .execute(&self.pool)
            .await
            .map_err(conflict_or)?;
        Ok(())
    }

    /// Removes a group (its memberships go with it); `false` when there is none.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn remove_group(&self, name: &GroupName) -> StoreResult<bool> {
        Ok(sqlx::query("DELETE FROM groups WHERE name = $1")
            .bind(name.as_str())
            .execute(&self.pool)
            .await?
            .rows_affected()
            == 1)
    }

    /// Adds (`add`) or removes a member. `None` when the group or the account does not
    /// exist; else whether anything changed.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn set_member(
        &self,
        name: &GroupName,
        username: &Username,
        add: bool,
        now: UnixTime,
    ) -> StoreResult<Option<bool>> {
        let ids: Option<(String, String)> = sqlx::query_as(
            "SELECT g.id, a.id FROM groups g, accounts a WHERE g.name = $1 AND a.username = $2",
        )
        .bind(name.as_str())
        .bind(username.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let Some((group, account)) = ids else {
            return Ok(None);
        };
        let sql = if add {
            "INSERT INTO group_members (group_id, account_id, added_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM group_members WHERE group_id = $1 AND account_id = $2 AND $3 = $3"
        };
        let n = sqlx::query(sql)
            .bind(group)
            .bind(account)
            .bind(now.0)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(Some(n == 1))
    }

    /// Every group with its members, by name.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list_groups(&self) -> StoreResult<Vec<GroupRecord>> {
        let rows: Vec<(String, i64, Option<String>)> = sqlx::query_as(
            "SELECT g.name, g.created_at, a.username FROM groups g \
             LEFT JOIN group_members m ON m.group_id = g.id \
             LEFT JOIN accounts a ON a.id = m.account_id ORDER BY g.name, a.username",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut groups: Vec<GroupRecord> = Vec::new();
        for (name, created_at, member) in rows {
            if groups.last().is_none_or(|g| g.name != name) {
                groups.push(GroupRecord {
                    name,
                    created_at: UnixTime(created_at),
                    members: Vec::new(),
                });
            }
            if let (Some(m), Some(g)) = (member, groups.last_mut()) {
                g.members.push(m);
            }
        }
        Ok(groups)
    }

    /// The names of the account's groups, sorted.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn groups_of(&self, account: &AccountId) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT g.name FROM groups g JOIN group_members m ON m.group_id = g.id \
             WHERE m.account_id = $1 ORDER BY g.name",
        )
        .bind(account.as_str())
        .fetch_all(&self.pool)
        .await?)
    }
}
