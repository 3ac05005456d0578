//! Session tokens: 256 random bits given to the client once; only their SHA-256 is stored.
//!
//! A slow hash is pointless for a 256-bit random secret; SHA-256 keeps a copy of the
//! database from yielding a usable token. 256 bits: OWASP ASVS 4.0.3 V3.2.2 asks at least 64.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// A bearer or cookie token as the client holds it.
#[derive(Clone)]
pub struct Token(SecretString);

/// The stored form of a token: hex SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenHash(String);

impl Token {
    /// A fresh token from the OS random generator.
    pub fn generate() -> Self {
        let bytes: [u8; 32] = crate::domain::random_bytes();
        Self(SecretString::from(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Wraps a token sent by a client. Returns `None` for text that cannot be a token,
    /// so that no lookup is made for it.
    pub fn from_client(s: &str) -> Option<Self> {
        let s = s.trim();
        (s.len() == 43
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| Self(SecretString::from(s.to_owned())))
    }

    /// The text to hand to the client, once.
    pub fn reveal(&self) -> &str {
        self.0.expose_secret()
    }

    /// The stored form.
    pub fn hash(&self) -> TokenHash {
        TokenHash(hex::encode(Sha256::digest(
            self.0.expose_secret().as_bytes(),
        )))
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

impl TokenHash {
    /// The hex text stored in the database.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_hash() {
        let t = Token::generate();
        assert_eq!(t.reveal().len(), 43);
        let back = Token::from_client(t.reveal()).unwrap();
        assert_eq!(back.hash(), t.hash());
        assert_eq!(t.hash().as_str().len(), 64);
        assert_ne!(Token::generate().hash(), t.hash());
        assert!(Token::from_client("nope").is_none());
        assert!(Token::from_client(&"!".repeat(43)).is_none());
        assert_eq!(format!("{t:?}"), "Token(***)");
    }
}
