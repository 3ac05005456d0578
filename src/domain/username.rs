//! Usernames: 1–30 characters of `a-z 0-9 . _`, compared case-insensitively.
//!
//! Like Instagram, upper-case letters are accepted on the way in and folded to lower case,
//! so `Alice` and `alice` are one account. The folded form is what the database stores
//! under a unique index.

use std::fmt;

/// The longest username, in characters.
pub const MAX_USERNAME_LEN: usize = 30;

/// A valid, lower-cased username.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

/// Why a username was refused; each message tells the user what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    /// Nothing was entered.
    #[error("enter a username")]
    Empty,
    /// More than 30 characters.
    #[error("a username can be at most 30 characters long")]
    TooLong,
    /// A character outside `a-z 0-9 . _`.
    #[error("a username can only use letters a–z, numbers, '.' and '_'")]
    BadCharacter,
}

impl Username {
    /// Parses user input: trims surrounding spaces and folds ASCII upper case.
    ///
    /// # Errors
    /// [`UsernameError`] when the name is empty, too long or has another character.
    pub fn parse(input: &str) -> Result<Self, UsernameError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(UsernameError::Empty);
        }
        if s.chars().count() > MAX_USERNAME_LEN {
            return Err(UsernameError::TooLong);
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
        {
            return Err(UsernameError::BadCharacter);
        }
        Ok(Self(s.to_ascii_lowercase()))
    }

    /// The canonical (lower-case) form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Username({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_folds() {
        assert_eq!(Username::parse("Alice").unwrap().as_str(), "alice");
        assert_eq!(
            Username::parse(" bob.smith_2 ").unwrap().as_str(),
            "bob.smith_2"
        );
        assert_eq!(Username::parse("a").unwrap().as_str(), "a");
        assert!(Username::parse(&"x".repeat(30)).is_ok());
    }

    #[test]
    fn refuses() {
        assert_eq!(Username::parse(""), Err(UsernameError::Empty));
        assert_eq!(Username::parse("   "), Err(UsernameError::Empty));
        assert_eq!(
            Username::parse(&"x".repeat(31)),
            Err(UsernameError::TooLong)
        );
        for bad in ["al ice", "alice!", "élise", "a-b", "a@b", "名前"] {
            assert_eq!(
                Username::parse(bad),
                Err(UsernameError::BadCharacter),
                "{bad}"
            );
        }
    }

    #[test]
    fn every_ascii_character_is_either_folded_or_refused() {
        for b in 0u8..128 {
            let c = b as char;
            let r = Username::parse(&format!("a{c}b"));
            let allowed = c.is_ascii_alphanumeric() || c == '.' || c == '_';
            assert_eq!(r.is_ok(), allowed, "{c:?}");
            if let Ok(u) = r {
                assert_eq!(u.as_str(), format!("a{}b", c.to_ascii_lowercase()));
            }
        }
    }
}
