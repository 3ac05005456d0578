//! Passwords: 8–1024 characters of any Unicode, no composition rules, the most common refused.
//!
//! NIST SP 800-63B §5.1.1.2: at least 8 characters, allow at least 64, all printing
//! characters and spaces; NFKC-normalise before hashing; refuse values from lists of
//! commonly-used or compromised passwords and context-specific words (the username).
//! OWASP ASVS 4.0.3 V2.1.1, V2.1.2, V2.1.7, V2.1.9.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use secrecy::{ExposeSecret, SecretString};
use unicode_normalization::UnicodeNormalization;

use super::Username;

/// The shortest password, in characters.
pub const MIN_PASSWORD_LEN: usize = 8;
/// The longest password, in characters.
pub const MAX_PASSWORD_LEN: usize = 1024;

/// The 10,000 most common passwords (from the zxcvbn frequency list), lower case.
static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../data/common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
});

/// A password, NFKC-normalised and kept secret: its `Debug` never shows it.
#[derive(Clone)]
pub struct Password(SecretString);

/// Why a new password was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Fewer than 8 characters.
    #[error("use at least 8 characters")]
    TooShort,
    /// More than 1024 characters.
    #[error("use at most 1024 characters")]
    TooLong,
    /// On the list of most common passwords.
    #[error("this password is too common and easy to guess; choose another")]
    Common,
    /// The same as (or contains only) the username.
    #[error("don't use your username as your password")]
    SameAsUsername,
}

impl Password {
    /// Wraps a password typed at login or re-authentication: no rules apply there, only
    /// normalisation, so that the same characters always hash the same way.
    pub fn for_checking(input: &str) -> Self {
        Self(SecretString::from(input.nfkc().collect::<String>()))
    }

    /// Parses a password chosen at sign-up or on change.
    ///
    /// # Errors
    /// [`PasswordError`] when it is too short, too long, common or the username.
    pub fn parse_new(input: &str, username: &Username) -> Result<Self, PasswordError> {
        let normalised: String = input.nfkc().collect();
        let len = normalised.chars().count();
        if len < MIN_PASSWORD_LEN {
            return Err(PasswordError::TooShort);
        }
        if len > MAX_PASSWORD_LEN {
            return Err(PasswordError::TooLong);
        }
        let lower = normalised.to_lowercase();
        if COMMON.contains(lower.as_str()) {
            return Err(PasswordError::Common);
        }
        // The username, repeated or with a few characters around it, is as guessable as
        // the username itself.
        let name = username.as_str();
        if name.len() >= 3 && lower.contains(name) && lower.replace(name, "").chars().count() < 4 {
            return Err(PasswordError::SameAsUsername);
        }
        Ok(Self(SecretString::from(normalised)))
    }

    /// The secret bytes, for the hasher only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> Username {
        Username::parse("alice").unwrap()
    }

    #[test]
    fn length_limits_count_characters() {
        assert_eq!(
            Password::parse_new("short", &user()).unwrap_err(),
            PasswordError::TooShort
        );
        assert!(Password::parse_new("ünïcødé!", &user()).is_ok());
        assert!(Password::parse_new(&"é".repeat(1024), &user()).is_ok());
        assert_eq!(
            Password::parse_new(&"é".repeat(1025), &user()).unwrap_err(),
            PasswordError::TooLong
        );
    }

    #[test]
    fn common_passwords_are_refused_whatever_the_case() {
        for p in [
            "password",
            "12345678",
            "Password1",
            "IloveYou",
            "qwertyuiop",
            "baseball",
        ] {
            assert_eq!(
                Password::parse_new(p, &user()).unwrap_err(),
                PasswordError::Common,
                "{p}"
            );
        }
        assert!(COMMON.len() >= 10_000 - 50);
    }

    #[test]
    fn username_is_refused() {
        assert_eq!(
            Password::parse_new("alicealice", &user()).unwrap_err(),
            PasswordError::SameAsUsername
        );
        assert!(Password::parse_new("alice likes long walks", &user()).is_ok());
    }

    #[test]
    fn nfkc_makes_equivalent_input_equal() {
        // "ﬁ" (U+FB01) normalises to "fi"; a composed and a decomposed é are one character.
        let a = Password::for_checking("ﬁsh-and-café");
        let b = Password::for_checking("fish-and-cafe\u{301}");
        assert_eq!(a.expose(), b.expose());
    }

    #[test]
    fn debug_hides_the_secret() {
        let p = Password::parse_new("correct horse battery", &user()).unwrap();
        assert_eq!(format!("{p:?}"), "Password(***)");
    }
}
