//! The code a person types at `/device` to approve a TV, a command-line tool or another
//! device without a browser (RFC 8628 §6.1): 8 characters from 20 consonants, shown as
//! `XXXX-XXXX`. About 34.6 bits: guessable by design, so the limits on wrong entries
//! (per browser and per address, in the database), its 10 minutes and its single use are
//! what keep it safe.

use std::fmt;

use zeroize::Zeroizing;

use super::random::random_bytes;

/// Consonants only: no vowels (no words), no look-alikes of digits (RFC 8628 §6.1).
const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
const LEN: usize = 8;

/// A device's user code, normalised: 8 upper-case letters of [`ALPHABET`].
#[derive(Clone, PartialEq, Eq)]
pub struct UserCode(Zeroizing<String>);

/// What is wrong with a typed user code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a device code is 8 letters, like BDFG-HJKL")]
pub struct UserCodeError;

impl UserCode {
    /// A fresh code from the OS generator, without modulo bias (256 = 12 × 20 + 16: bytes of
    /// 240 and above are drawn again).
    pub fn generate() -> Self {
        let mut out = String::with_capacity(LEN);
        while out.len() < LEN {
            for b in random_bytes::<16>() {
                if b < 240 && out.len() < LEN {
                    out.push(char::from(ALPHABET[usize::from(b % 20)]));
                }
            }
        }
        Self(Zeroizing::new(out))
    }

    /// Reads a code as a person types it: any case, with or without the dash or spaces.
    ///
    /// # Errors
    /// [`UserCodeError`] when it is not 8 letters of the alphabet.
    pub fn parse(typed: &str) -> Result<Self, UserCodeError> {
        if typed.len() > 32 {
            return Err(UserCodeError);
        }
        let code: String = typed
            .chars()
            .filter(|c| !matches!(c, '-' | ' ' | '\u{2010}'..='\u{2015}'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if code.len() != LEN || !code.bytes().all(|b| ALPHABET.contains(&b)) {
            return Err(UserCodeError);
        }
        Ok(Self(Zeroizing::new(code)))
    }

    /// The normalised letters (what is keyed and stored).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// As shown to people: `XXXX-XXXX`.
    pub fn display(&self) -> String {
        format!("{}-{}", &self.0[..4], &self.0[4..])
    }
}

impl fmt::Debug for UserCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UserCode(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_parse_back_in_any_typing() {
        for _ in 0..200 {
            let c = UserCode::generate();
            assert_eq!(c.as_str().len(), 8);
            let shown = c.display();
            assert_eq!(shown.len(), 9);
            assert_eq!(UserCode::parse(&shown).unwrap(), c);
            assert_eq!(UserCode::parse(&shown.to_lowercase()).unwrap(), c);
            assert_eq!(UserCode::parse(&shown.replace('-', " ")).unwrap(), c);
        }
        assert_ne!(UserCode::generate(), UserCode::generate());
    }

    #[test]
    fn wrong_shapes_are_refused() {
        for bad in [
            "",
            "BDFG-HJK",
            "BDFG-HJKLM",
            "ABCD-EFGH",
            "1234-5678",
            "BDFG_HJKL",
        ] {
            assert_eq!(UserCode::parse(bad), Err(UserCodeError), "{bad}");
        }
        assert_eq!(format!("{:?}", UserCode::generate()), "UserCode(***)");
    }
}
