//! Who may sign up (issue 25): `--sign-up open | invite | closed`, and invitations — made by
//! an admin in the console or the operator at the CLI, single use, 7 days, bound to an
//! address when given (the account gets it, confirmed) and optionally into a group. Only the
//! SHA-256 of a link's 256-bit token is stored (the link is shown once); the sign-up takes
//! the invitation in its own transaction (`store/invitations.rs`).
//!
//! Owns: the rules of a sign-up's gate. Must not: word a refusal (`http::error`).

use super::{Actor, AuthError, ConsoleProblem};
use crate::crypto::{Token, TokenHash};
use crate::domain::{
    Email, GroupName, INVITATION_SECS, InvitationId, InvitationRecord, InvitationState, SignUpMode,
};
use crate::store::NewInvitation;

/// Invitations the console lists, newest first.
pub const INVITATIONS_LISTED: i64 = 200;

/// Why an invitation did not open the way to an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvitationProblem {
    /// `--sign-up invite` and no invitation was given.
    Missing,
    /// A token that names no invitation (mistyped, cut short, or revoked).
    Unknown,
    /// It made an account already.
    Used,
    /// Its 7 days are over.
    Expired,
    /// It is bound to another address than the one given.
    OtherAddress,
}

/// A fresh invitation: its record and its link, shown once.
#[derive(Clone, Debug)]
pub struct NewInvitationLink {
    /// What the console and the CLI list.
    pub record: InvitationRecord,
    /// `PUBLIC_URL/signup?invite=TOKEN` (a path when no public URL is set).
    pub url: String,
}

impl super::Invitations<'_> {
    /// Who may sign up here.
    pub fn mode(&self) -> SignUpMode {
        self.policy.sign_up
    }

    /// Makes an invitation; `email` binds it to an address, `group` puts the new account in
    /// that group. Recorded in the audit trail (never the link).
    ///
    /// # Errors
    /// [`AuthError::InvalidEmail`]; [`AuthError::InvalidGroupName`]; [`ConsoleProblem::UnknownGroup`].
    pub async fn create(
        &self,
        actor: &Actor,
        email: Option<&str>,
        group: Option<&str>,
    ) -> Result<NewInvitationLink, AuthError> {
        let email = match email.map(str::trim).filter(|e| !e.is_empty()) {
            Some(e) => Some(Email::parse(e)?.normalized()),
            None => None,
        };
        let group = match group.map(str::trim).filter(|g| !g.is_empty()) {
            Some(g) => Some(GroupName::parse(g)?),
            None => None,
        };
        let token = Token::generate();
        let id = InvitationId::generate();
        let now = self.now();
        let stored = self
            .store
            .invitations()
            .add(&NewInvitation {
                id: &id,
                token_hash: token.hash().as_str(),
                email: email.as_deref(),
                group: group.as_ref().map(GroupName::as_str),
                created_by: &actor.name,
                now,
                expires_at: now.plus(INVITATION_SECS),
            })
            .await?;
        if !stored {
            return Err(AuthError::Console(ConsoleProblem::UnknownGroup));
        }
        let mut what = Vec::new();
        if let Some(e) = &email {
            what.push(format!("for {e}"));
        }
        if let Some(g) = &group {
            what.push(format!("into group {}", g.as_str()));
        }
        let what = (!what.is_empty()).then(|| what.join(", "));
        self.console()
            .audit(
                actor,
                "invitation_create",
                Some(id.as_str()),
                what.as_deref(),
            )
            .await?;
        let site = self.policy.site.as_deref().unwrap_or("");
        Ok(NewInvitationLink {
            url: format!(
                "{}/signup?invite={}",
                site.trim_end_matches('/'),
                token.reveal()
            ),
            record: InvitationRecord {
                id: id.as_str().to_owned(),
                email,
                group: group.map(|g| g.as_str().to_owned()),
                created_by: actor.name.clone(),
                created_at: now.0,
                expires_at: now.plus(INVITATION_SECS).0,
                used_at: None,
                used_by: None,
            },
        })
    }

    /// The newest invitations, used, expired or open.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list(&self) -> Result<Vec<InvitationRecord>, AuthError> {
        Ok(self.store.invitations().list(INVITATIONS_LISTED).await?)
    }

    /// The invitation with this id, used or not.
    ///
    /// # Errors
    /// [`AuthError::NotFound`] when there is none.
    pub async fn get(&self, id: &str) -> Result<InvitationRecord, AuthError> {
        let id: String = id.chars().take(80).collect();
        self.store
            .invitations()
            .by_id(&id)
            .await?
            .ok_or(AuthError::NotFound)
    }

    /// Revokes an unused invitation (its link stops working at once).
    ///
    /// # Errors
    /// [`AuthError::NotFound`] when there is no such unused invitation.
    pub async fn revoke(&self, actor: &Actor, id: &str) -> Result<(), AuthError> {
        let id: String = id.chars().take(80).collect();
        if !self.store.invitations().revoke(&id).await? {
            return Err(AuthError::NotFound);
        }
        self.console()
            .audit(actor, "invitation_revoke", Some(&id), None)
            .await
    }

    /// The invitation a sign-up page was opened with, if it can still be used.
    ///
    /// # Errors
    /// [`AuthError::SignUpClosed`]; [`AuthError::InvitationRequired`] saying why it cannot.
    pub async fn usable(&self, token: &str) -> Result<InvitationRecord, AuthError> {
        if self.mode() == SignUpMode::Closed {
            return Err(AuthError::SignUpClosed);
        }
        Ok(self.look_up(token).await?.0)
    }

    async fn look_up(&self, token: &str) -> Result<(InvitationRecord, TokenHash), AuthError> {
        let unknown = AuthError::InvitationRequired(InvitationProblem::Unknown);
        let hash = Token::from_client(token).ok_or(unknown)?.hash();
        // The lookup is by the SHA-256 of a 256-bit secret: its timing tells nothing about
        // another invitation's token (the same reasoning as session tokens).
        let record = self
            .store
            .invitations()
            .by_token(hash.as_str())
            .await?
            .ok_or(AuthError::InvitationRequired(InvitationProblem::Unknown))?;
        match record.state(self.now().0) {
            InvitationState::Open => Ok((record, hash)),
            InvitationState::Used => Err(AuthError::InvitationRequired(InvitationProblem::Used)),
            InvitationState::Expired => {
                Err(AuthError::InvitationRequired(InvitationProblem::Expired))
            }
        }
    }

    /// The gate of a sign-up: under `closed` no one passes; under `invite` only with a
    /// usable invitation; under `open` anyone, and a given invitation must still be usable.
    /// An invitation bound to an address refuses another typed address. Returns the
    /// invitation's token hash, for the sign-up's transaction to take.
    ///
    /// # Errors
    /// [`AuthError::SignUpClosed`]; [`AuthError::InvitationRequired`];
    /// [`AuthError::InvalidEmail`] for a typed address that is not one.
    pub(super) async fn admit(
        &self,
        token: Option<&str>,
        email: Option<&str>,
    ) -> Result<Option<TokenHash>, AuthError> {
        let mode = self.mode();
        if mode == SignUpMode::Closed {
            return Err(AuthError::SignUpClosed);
        }
        let Some(token) = token.map(str::trim).filter(|t| !t.is_empty()) else {
            return match mode {
                SignUpMode::Invite => {
                    Err(AuthError::InvitationRequired(InvitationProblem::Missing))
                }
                _ => Ok(None),
            };
        };
        let (record, hash) = self.look_up(token).await?;
        if let (Some(bound), Some(typed)) = (
            record.email.as_deref(),
            email.map(str::trim).filter(|e| !e.is_empty()),
        ) && Email::parse(typed)?.normalized() != bound
        {
            return Err(AuthError::InvitationRequired(
                InvitationProblem::OtherAddress,
            ));
        }
        Ok(Some(hash))
    }
}
