//! What a person names a passkey or security key ("Work laptop", "YubiKey 5").

/// A passkey's name: 1 to 64 characters once trimmed, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasskeyName(String);

/// Why a passkey's name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasskeyNameError {
    /// Nothing but spaces.
    #[error("give the passkey a name, like \"Work laptop\"")]
    Empty,
    /// Over 64 characters.
    #[error("the passkey's name must be at most 64 characters")]
    TooLong,
    /// A control character (a new line, a tab…).
    #[error("the passkey's name must not contain control characters")]
    ControlCharacter,
}

/// The longest name kept.
pub const PASSKEY_NAME_MAX: usize = 64;

impl PasskeyName {
    /// Parses a typed name.
    ///
    /// # Errors
    /// [`PasskeyNameError`] for an empty, over-long or control-character name.
    pub fn parse(s: &str) -> Result<Self, PasskeyNameError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(PasskeyNameError::Empty);
        }
        if s.chars().count() > PASSKEY_NAME_MAX {
            return Err(PasskeyNameError::TooLong);
        }
        if s.chars().any(char::is_control) {
            return Err(PasskeyNameError::ControlCharacter);
        }
        Ok(Self(s.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            PasskeyName::parse("  YubiKey ").unwrap().as_str(),
            "YubiKey"
        );
        assert_eq!(PasskeyName::parse("   "), Err(PasskeyNameError::Empty));
        assert_eq!(
            PasskeyName::parse(&"é".repeat(65)),
            Err(PasskeyNameError::TooLong)
        );
        assert!(PasskeyName::parse(&"é".repeat(64)).is_ok());
        assert_eq!(
            PasskeyName::parse("a\nb"),
            Err(PasskeyNameError::ControlCharacter)
        );
    }
}
