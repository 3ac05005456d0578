//! Who may sign up (issue 25): `--sign-up open | invite | closed`, and an invitation as the
//! console and the CLI list it. The invitation's token is a [`crate::crypto::Token`]; only
//! its SHA-256 is stored.

use std::fmt;
use std::str::FromStr;

/// An invitation works this long (contract v3: 7 days).
pub const INVITATION_SECS: i64 = 7 * 86_400;

/// Who may make an account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SignUpMode {
    /// Anyone (an invitation, when given, is still used and may put them in a group).
    #[default]
    Open,
    /// Only with an invitation (`twofold invite create`, `/admin/invitations`).
    Invite,
    /// No one: accounts come from the operator's seed or backup only.
    Closed,
}

/// A word that names no sign-up mode.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown sign-up mode {0:?}; use open, invite or closed")]
pub struct UnknownSignUpMode(pub String);

impl SignUpMode {
    /// Its word in flags, variables and the TOML file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Invite => "invite",
            Self::Closed => "closed",
        }
    }
}

impl FromStr for SignUpMode {
    type Err = UnknownSignUpMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "open" => Ok(Self::Open),
            "invite" => Ok(Self::Invite),
            "closed" => Ok(Self::Closed),
            _ => Err(UnknownSignUpMode(s.chars().take(40).collect())),
        }
    }
}

impl fmt::Display for SignUpMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for SignUpMode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An invitation as the console and the CLI show it (never its token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvitationRecord {
    /// Its id (`inv_…`).
    pub id: String,
    /// The address it is bound to, if any (the account gets it, confirmed).
    pub email: Option<String>,
    /// The group the new account joins, if any (and if the group still exists).
    pub group: Option<String>,
    /// Who made it: an admin's username or the OS user behind the CLI.
    pub created_by: String,
    /// When (Unix seconds).
    pub created_at: i64,
    /// When it stops working (Unix seconds).
    pub expires_at: i64,
    /// When it was used, if it was.
    pub used_at: Option<i64>,
    /// The username of the account it made, if it was used and the account remains.
    pub used_by: Option<String>,
}

/// Where an invitation stands at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvitationState {
    /// It can be used.
    Open,
    /// It was used.
    Used,
    /// Its 7 days are over.
    Expired,
}

impl InvitationRecord {
    /// Where it stands at `now` (Unix seconds).
    pub fn state(&self, now: i64) -> InvitationState {
        if self.used_at.is_some() {
            InvitationState::Used
        } else if now >= self.expires_at {
            InvitationState::Expired
        } else {
            InvitationState::Open
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_from_their_words_only() {
        for m in [SignUpMode::Open, SignUpMode::Invite, SignUpMode::Closed] {
            assert_eq!(m.as_str().parse::<SignUpMode>(), Ok(m));
        }
        assert_eq!(" Invite ".parse::<SignUpMode>(), Ok(SignUpMode::Invite));
        let e = "invited".parse::<SignUpMode>().unwrap_err();
        assert!(e.to_string().contains("open, invite or closed"), "{e}");
    }

    #[test]
    fn an_invitation_is_open_until_used_or_expired() {
        let mut r = InvitationRecord {
            id: "inv_x".into(),
            email: None,
            group: None,
            created_by: "ops".into(),
            created_at: 0,
            expires_at: INVITATION_SECS,
            used_at: None,
            used_by: None,
        };
        assert_eq!(r.state(INVITATION_SECS - 1), InvitationState::Open);
        assert_eq!(r.state(INVITATION_SECS), InvitationState::Expired);
        r.used_at = Some(5);
        assert_eq!(r.state(10), InvitationState::Used);
    }
}
