//! Groups (issue 25): made, removed and filled from the CLI and the console, each change in
//! the audit trail; read by OpenID Connect (the `groups` claim) and forward authentication
//! (`group:NAME`, `Remote-Groups`).

use super::{Actor, AuthError, ConsoleProblem};
use crate::domain::GroupRecord;
use crate::domain::{AccountId, GroupName, Username};
use crate::store::StoreError;

impl super::Groups<'_> {
    /// Makes a group.
    ///
    /// # Errors
    /// [`AuthError::InvalidGroupName`]; [`ConsoleProblem::GroupExists`].
    pub async fn add(&self, actor: &Actor, name: &str) -> Result<GroupName, AuthError> {
        let name = GroupName::parse(name)?;
        match self.store.groups().add_group(&name, self.now()).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                return Err(AuthError::Console(ConsoleProblem::GroupExists));
            }
            Err(e) => return Err(e.into()),
        }
        self.console()
            .audit(actor, "group_add", Some(name.as_str()), None)
            .await?;
        Ok(name)
    }

    /// Removes a group.
    ///
    /// # Errors
    /// [`AuthError::NotFound`] for no such group.
    pub async fn remove(&self, actor: &Actor, name: &str) -> Result<(), AuthError> {
        let name = GroupName::parse(name).map_err(|_| AuthError::NotFound)?;
        if !self.store.groups().remove_group(&name).await? {
            return Err(AuthError::NotFound);
        }
        self.console()
            .audit(actor, "group_remove", Some(name.as_str()), None)
            .await
    }

    /// Adds `username` to the group (`add`) or takes them out.
    ///
    /// # Errors
    /// [`AuthError::NotFound`] for no such group or user.
    pub async fn set_member(
        &self,
        actor: &Actor,
        name: &str,
        username: &str,
        add: bool,
    ) -> Result<(), AuthError> {
        let name = GroupName::parse(name).map_err(|_| AuthError::NotFound)?;
        let user = Username::parse(username).map_err(|_| AuthError::NotFound)?;
        self.store
            .groups()
            .set_member(&name, &user, add, self.now())
            .await?
            .ok_or(AuthError::NotFound)?;
        let what = if add {
            "group_add_member"
        } else {
            "group_remove_member"
        };
        let target = format!("{} {}", name.as_str(), user.as_str());
        self.console().audit(actor, what, Some(&target), None).await
    }

    /// Every group with its members.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list(&self) -> Result<Vec<GroupRecord>, AuthError> {
        Ok(self.store.groups().list_groups().await?)
    }

    /// The names of the account's groups (the `groups` claim, `Remote-Groups`).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn of(&self, account: &AccountId) -> Result<Vec<String>, AuthError> {
        Ok(self.store.groups().groups_of(account).await?)
    }
}
