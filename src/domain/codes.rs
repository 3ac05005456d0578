//! Security codes as users type them: 6-digit SMS and authenticator codes, 8-digit backup
//! codes. Spaces and dashes are folded away (`123 456`, `1234-5678`); anything else is refused
//! before a code is ever compared, so malformed input costs no attempt.

use std::fmt;

use rand::RngExt;
use zeroize::Zeroizing;

/// Why a typed code was refused before checking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// Nothing typed.
    #[error("enter the code")]
    Empty,
    /// Something other than digits, spaces and dashes.
    #[error("a code is made of digits only")]
    NotDigits,
    /// The wrong number of digits.
    #[error("this code has {expected} digits; check it and try again")]
    WrongLength {
        /// How many digits it should have.
        expected: usize,
    },
}

fn fold(input: &str, len: usize) -> Result<Zeroizing<String>, CodeError> {
    let digits: Zeroizing<String> = Zeroizing::new(
        input
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '\u{a0}'))
            .collect(),
    );
    if digits.is_empty() {
        return Err(CodeError::Empty);
    }
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(CodeError::NotDigits);
    }
    if digits.len() != len {
        return Err(CodeError::WrongLength { expected: len });
    }
    Ok(digits)
}

/// Uniformly random decimal digits from the OS generator, without modulo bias
/// (`random_range` rejects out-of-range samples).
fn random_digits(len: usize) -> Zeroizing<String> {
    let mut rng = crate::domain::os_rng();
    Zeroizing::new(
        (0..len)
            .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
            .collect(),
    )
}

/// A 6-digit code from an SMS or an authenticator app.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpCode(Zeroizing<String>);

impl OtpCode {
    /// Parses a typed code.
    ///
    /// # Errors
    /// [`CodeError`] for anything but 6 digits (spaces and dashes allowed).
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        fold(input, 6).map(Self)
    }

    /// A fresh random code (for SMS).
    pub fn generate() -> Self {
        Self(random_digits(6))
    }

    /// The six digits.
    pub fn digits(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpCode(***)")
    }
}

/// An 8-digit single-use backup code.
#[derive(Clone, PartialEq, Eq)]
pub struct BackupCode(Zeroizing<String>);

impl BackupCode {
    /// Parses a typed code.
    ///
    /// # Errors
    /// [`CodeError`] for anything but 8 digits (spaces and dashes allowed).
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        fold(input, 8).map(Self)
    }

    /// A fresh random code.
    pub fn generate() -> Self {
        Self(random_digits(8))
    }

    /// A batch of `n` codes, all different.
    pub fn generate_batch(n: usize) -> Vec<Self> {
        let mut batch: Vec<Self> = Vec::with_capacity(n);
        while batch.len() < n {
            let c = Self::generate();
            if !batch.contains(&c) {
                batch.push(c);
            }
        }
        batch
    }

    /// The eight digits.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// As shown to people: `1234 5678`.
    pub fn display(&self) -> String {
        format!("{} {}", &self.0[..4], &self.0[4..])
    }
}

impl fmt::Debug for BackupCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BackupCode(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_fold_spaces_and_dashes() {
        assert_eq!(OtpCode::parse("123 456").unwrap().digits(), "123456");
        assert_eq!(OtpCode::parse(" 123-456 ").unwrap().digits(), "123456");
        assert_eq!(BackupCode::parse("1234 5678").unwrap().digits(), "12345678");
        assert_eq!(BackupCode::parse("1234-5678").unwrap().digits(), "12345678");
        assert_eq!(
            BackupCode::parse("12345678").unwrap().display(),
            "1234 5678"
        );
    }

    #[test]
    fn malformed_codes_are_refused() {
        assert_eq!(OtpCode::parse(""), Err(CodeError::Empty));
        assert_eq!(OtpCode::parse(" - "), Err(CodeError::Empty));
        assert_eq!(OtpCode::parse("12345a"), Err(CodeError::NotDigits));
        assert_eq!(
            OtpCode::parse("١٢٣٤٥٦"),
            Err(CodeError::NotDigits),
            "only ASCII digits"
        );
        assert_eq!(
            OtpCode::parse("12345"),
            Err(CodeError::WrongLength { expected: 6 })
        );
        assert_eq!(
            OtpCode::parse("1234567"),
            Err(CodeError::WrongLength { expected: 6 })
        );
        assert_eq!(
            BackupCode::parse("1234567"),
            Err(CodeError::WrongLength { expected: 8 })
        );
        assert_eq!(
            BackupCode::parse("1234 56789"),
            Err(CodeError::WrongLength { expected: 8 })
        );
    }

    #[test]
    fn generated_codes_are_well_formed_and_spread_out() {
        let mut counts = [0u32; 10];
        for _ in 0..2000 {
            let c = OtpCode::generate();
            assert_eq!(OtpCode::parse(c.digits()).unwrap(), c);
            for d in c.digits().bytes() {
                counts[(d - b'0') as usize] += 1;
            }
        }
        // 12,000 digits: each should appear about 1,200 times; a biased generator would not.
        assert!(
            counts.iter().all(|n| (1000..1400).contains(n)),
            "{counts:?}"
        );
        let batch = BackupCode::generate_batch(20);
        assert_eq!(batch.len(), 20);
        for (i, a) in batch.iter().enumerate() {
            assert_eq!(a.digits().len(), 8);
            assert!(batch[i + 1..].iter().all(|b| b != a), "all different");
        }
    }

    #[test]
    fn debug_hides_codes() {
        assert_eq!(
            format!("{:?}", BackupCode::parse("12345678").unwrap()),
            "BackupCode(***)"
        );
        assert_eq!(
            format!("{:?}", OtpCode::parse("123456").unwrap()),
            "OtpCode(***)"
        );
    }
}
