//! Passwords: 8–128 characters of any Unicode, no composition rules, the 100,000 most common
//! and the words of the context (the username, the service, the site) refused.
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
/// The longest password, in characters (OWASP ASVS 4.0.3 V2.1.2 asks to allow 64 and
/// refuse beyond 128; argon2 hashes any length at the same cost, so this is about sanity).
pub const MAX_PASSWORD_LEN: usize = 128;

/// The 100,000 most common passwords (the xato.net list, `data/common-passwords-100k.*`),
/// lower case, compressed in the binary and unpacked on first use. Only those of 8 or more
/// characters can match (shorter ones are refused anyway), so only those are kept.
static COMMON: LazyLock<HashSet<String>> = LazyLock::new(|| {
    use std::io::Read;
    let packed: &[u8] = include_bytes!("../../data/common-passwords-100k.txt.gz");
    let mut text = String::new();
    // The list is committed and checked by a test; a broken one leaves it empty, and the
    // test `common_passwords_are_refused_whatever_the_case` says so.
    let _ = flate2::read::GzDecoder::new(packed).read_to_string(&mut text);
    text.lines()
        .map(str::trim)
        .filter(|l| l.chars().count() >= MIN_PASSWORD_LEN)
        .map(str::to_owned)
        .collect()
});

/// Words every password of this installation must not be built on: the service's name and
/// the labels of its host name (NIST SP 800-63B §5.1.1.2 "context-specific words").
#[derive(Clone, Debug, Default)]
pub struct PasswordContext {
    words: Vec<String>,
}

impl PasswordContext {
    /// The context of an instance reached at `host` (`auth.example.com`): "twofold", the
    /// host, and each of its labels of four letters or more but the top-level domain.
    pub fn for_host(host: &str) -> Self {
        let host = host.trim().to_lowercase();
        let mut words = vec!["twofold".to_owned()];
        let labels: Vec<&str> = host.split('.').collect();
        let keep = labels.len().saturating_sub(1).max(1);
        for l in labels.iter().take(keep) {
            if l.chars().count() >= 4 && l.chars().all(char::is_alphanumeric) && *l != "localhost" {
                words.push((*l).to_owned());
            }
        }
        if host.contains('.') {
            words.push(host);
        }
        words.dedup();
        Self { words }
    }
}

/// A password, NFKC-normalised and kept secret: its `Debug` never shows it.
#[derive(Clone)]
pub struct Password(SecretString);

/// Why a new password was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Fewer than 8 characters.
    #[error("use at least 8 characters")]
    TooShort,
    /// More than 128 characters.
    #[error("use at most 128 characters")]
    TooLong,
    /// On the list of most common passwords.
    #[error("this password is too common and easy to guess; choose another")]
    Common,
    /// The same as (or contains only) the username.
    #[error("don't use your username as your password")]
    SameAsUsername,
    /// Built on the name of this service or site.
    #[error("don't build your password on the name of this service or site; choose another")]
    ContextWord,
    /// Easy to guess by zxcvbn's measure (a score below 3).
    #[error("this password is easy to guess; add more words or make it less predictable")]
    Guessable,
}

/// The lowest zxcvbn score (0–4) a new password may have: 3 is "safely unguessable:
/// moderate protection from offline slow-hash scenarios" (10^8 guesses or more).
pub const MIN_STRENGTH: u8 = 3;

/// How guessable `password` is (zxcvbn's score, 0–4), the username and `context`'s words
/// counted as known to an attacker (OWASP ASVS 4.0.3 2.1.8; NIST SP 800-63B §5.1.1.2).
pub fn strength(password: &str, username: &str, context: &PasswordContext) -> u8 {
    let mut inputs: Vec<&str> = context.words.iter().map(String::as_str).collect();
    inputs.push(username);
    zxcvbn::zxcvbn(password, &inputs).score().into()
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
    /// [`PasswordError`] when it is too short, too long, common, the username or a word of
    /// the context.
    pub fn parse_new(
        input: &str,
        username: &Username,
        context: &PasswordContext,
    ) -> Result<Self, PasswordError> {
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
        if built_on(&lower, username.as_str()) {
            return Err(PasswordError::SameAsUsername);
        }
        if context.words.iter().any(|w| built_on(&lower, w)) {
            return Err(PasswordError::ContextWord);
        }
        // Last, as it is the slowest check (a millisecond or so for a long password).
        if strength(&normalised, username.as_str(), context) < MIN_STRENGTH {
            return Err(PasswordError::Guessable);
        }
        Ok(Self(SecretString::from(normalised)))
    }

    /// The secret bytes, for the hasher only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// Whether `password` is `word`, repeated or with fewer than four other characters around it
/// (as guessable as the word itself).
fn built_on(password: &str, word: &str) -> bool {
    word.chars().count() >= 3
        && password.contains(word)
        && password.replace(word, "").chars().count() < 4
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

    fn parse(p: &str) -> Result<Password, PasswordError> {
        Password::parse_new(p, &user(), &PasswordContext::for_host("auth.example.com"))
    }

    #[test]
    fn length_limits_count_characters() {
        assert_eq!(parse("short").unwrap_err(), PasswordError::TooShort);
        assert!(parse("ünïcødé! façade øre").is_ok());
        let long: String = "tangerine kayak lighthouse é "
            .repeat(5)
            .chars()
            .take(128)
            .collect();
        assert_eq!(long.chars().count(), 128);
        assert!(parse(&long).is_ok());
        assert_eq!(parse(&"é".repeat(129)).unwrap_err(), PasswordError::TooLong);
    }

    #[test]
    fn guessable_passwords_are_refused_by_zxcvbn() {
        // Issue 21, item 15: past the list and the context words, zxcvbn's score decides.
        for p in [
            "Password2024!",
            "hunter22hunter22",
            "aaaaaaaab",
            &"é".repeat(128),
        ] {
            assert_eq!(parse(p).unwrap_err(), PasswordError::Guessable, "{p}");
        }
        assert!(
            strength(
                "tangerine kayak lighthouse 42",
                "alice",
                &PasswordContext::default()
            ) >= MIN_STRENGTH
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
            assert_eq!(parse(p).unwrap_err(), PasswordError::Common, "{p}");
        }
        // Issue 10: the list grew to the 100,000 most common (of which about 40,000 have 8
        // characters or more, the only ones that can match).
        assert!(COMMON.len() > 39_000, "{}", COMMON.len());
        for p in ["trustno1trustno1", "sunshine1", "michelle1", "basketball1"] {
            if COMMON.contains(p) {
                assert_eq!(parse(p).unwrap_err(), PasswordError::Common, "{p}");
            }
        }
    }

    #[test]
    fn username_is_refused() {
        assert_eq!(
            parse("alicealice").unwrap_err(),
            PasswordError::SameAsUsername
        );
        assert!(parse("alice likes long walks").is_ok());
    }

    #[test]
    fn context_words_are_refused() {
        for p in ["twofold123", "Twofold!!", "example123", "auth.example.com"] {
            assert_eq!(parse(p).unwrap_err(), PasswordError::ContextWord, "{p}");
        }
        assert!(parse("my twofold is a fine place to be").is_ok());
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
        let p = parse("correct horse battery").unwrap();
        assert_eq!(format!("{p:?}"), "Password(***)");
    }
}
