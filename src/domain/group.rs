//! Group names: 1–64 characters of `a-z 0-9 . _ -`, folded to lower case, so that a name
//! reads the same in the `groups` claim, in a forward-auth rule's `group:NAME` and in the
//! comma-separated `Remote-Groups` header (no comma, space or control character can hide
//! in one).

use std::fmt;

/// The longest group name, in characters.
pub const MAX_GROUP_NAME_LEN: usize = 64;

/// A valid, lower-cased group name.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct GroupName(String);

/// Why a group name was refused; each message says what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GroupNameError {
    /// Nothing was entered.
    #[error("enter a group name")]
    Empty,
    /// More than 64 characters.
    #[error("a group name can be at most 64 characters long")]
    TooLong,
    /// A character outside `a-z 0-9 . _ -`.
    #[error("a group name can only use letters a–z, numbers, '.', '_' and '-'")]
    BadCharacter,
}

impl GroupName {
    /// Parses input: trims surrounding spaces and folds ASCII upper case.
    ///
    /// # Errors
    /// [`GroupNameError`] for an empty, over-long or odd name.
    pub fn parse(input: &str) -> Result<Self, GroupNameError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(GroupNameError::Empty);
        }
        if s.chars().count() > MAX_GROUP_NAME_LEN {
            return Err(GroupNameError::TooLong);
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(GroupNameError::BadCharacter);
        }
        Ok(Self(s.to_ascii_lowercase()))
    }

    /// The canonical (lower-case) form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GroupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for GroupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GroupName({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_folded_and_checked() {
        assert_eq!(GroupName::parse(" Admins ").unwrap().as_str(), "admins");
        assert_eq!(
            GroupName::parse("team-a.b_c").unwrap().as_str(),
            "team-a.b_c"
        );
        assert_eq!(GroupName::parse(""), Err(GroupNameError::Empty));
        assert_eq!(
            GroupName::parse(&"a".repeat(65)),
            Err(GroupNameError::TooLong)
        );
        for bad in ["a,b", "a b", "a\nb", "ä", "a:b"] {
            assert_eq!(
                GroupName::parse(bad),
                Err(GroupNameError::BadCharacter),
                "{bad}"
            );
        }
    }
}
