//! Authenticator-app codes (TOTP, RFC 6238): 160-bit secrets, HMAC-SHA-1, 6 digits, 30-second
//! steps — what Google Authenticator, Authy, 1Password, Microsoft Authenticator and `oathtool`
//! accept. Codes for the current step and one either side are accepted (RFC 6238 §5.2); the
//! caller stores the accepted step so it is never accepted again (NIST SP 800-63B §5.1.4.2,
//! OWASP ASVS 4.0.3 V2.8.4).

use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Builder, Secret, Totp};
use zeroize::Zeroizing;

use crate::domain::{OtpCode, UnixTime};

/// Seconds per step.
pub const STEP_SECS: i64 = 30;

/// A TOTP secret (20 bytes). Never printed.
#[derive(Clone)]
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl TotpSecret {
    /// A fresh 160-bit secret from the OS generator.
    pub fn generate() -> Self {
        let bytes: [u8; 20] = crate::domain::random_bytes();
        Self(Zeroizing::new(bytes.to_vec()))
    }

    /// Wraps stored bytes.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self(Zeroizing::new(bytes.to_vec()))
    }

    /// The raw bytes (to seal them).
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// Base32 without padding, as authenticator apps take it.
    pub fn base32(&self) -> String {
        Secret::from(self.0.to_vec())
            .to_base32()
            .trim_end_matches('=')
            .to_owned()
    }

    /// The base32 secret in groups of four, for typing by hand.
    pub fn base32_grouped(&self) -> String {
        let b = self.base32();
        b.as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `otpauth://totp/Issuer:account?secret=…&issuer=Issuer&algorithm=SHA1&digits=6&period=30`.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let label = format!("{}:{}", encode(issuer), encode(account));
        format!(
            "otpauth://totp/{label}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30",
            self.base32(),
            encode(issuer)
        )
    }

    fn totp(&self, digits: u8) -> Totp {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(digits)
            .with_step_duration(STEP_SECS as u64)
            .with_secret(self.0.to_vec())
            .build_noncompliant()
    }

    /// The code for time step `step` (RFC 6238 T), with `digits` digits.
    pub fn code_at_step(&self, step: i64, digits: u8) -> String {
        self.totp(digits)
            .generate((step.max(0) * STEP_SECS) as u64)
            .to_string()
    }

    /// The step `code` belongs to, if it is the code of the current step or one either
    /// side. Every candidate is compared in constant time.
    pub fn matching_step(&self, code: &OtpCode, now: UnixTime) -> Option<i64> {
        let current = step_of(now);
        let mut found = None;
        for step in [current - 1, current, current + 1] {
            let expected = Zeroizing::new(self.code_at_step(step, 6));
            if bool::from(expected.as_bytes().ct_eq(code.digits().as_bytes())) {
                found = Some(step);
            }
        }
        found
    }
}

/// The RFC 6238 time step of `t`.
pub fn step_of(t: UnixTime) -> i64 {
    t.0.div_euclid(STEP_SECS)
}

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(***)")
    }
}

/// Percent-encodes a URI label part.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1, secret "12345678901234567890", 8 digits.
    #[test]
    fn rfc6238_test_vectors() {
        let s = TotpSecret::from_bytes(b"12345678901234567890");
        for (t, code) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(s.code_at_step(step_of(UnixTime(t)), 8), code, "T = {t}");
        }
    }

    /// RFC 4226 Appendix D (HOTP = TOTP at step = counter), 6 digits.
    #[test]
    fn rfc4226_test_vectors() {
        let s = TotpSecret::from_bytes(b"12345678901234567890");
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(
                s.code_at_step(counter as i64, 6),
                *code,
                "counter {counter}"
            );
        }
    }

    #[test]
    fn one_step_either_side_is_accepted() {
        let s = TotpSecret::generate();
        let now = UnixTime(1_800_000_015);
        let step = step_of(now);
        for (offset, ok) in [(-2, false), (-1, true), (0, true), (1, true), (2, false)] {
            let code = OtpCode::parse(&s.code_at_step(step + offset, 6)).unwrap();
            assert_eq!(
                s.matching_step(&code, now),
                ok.then_some(step + offset),
                "offset {offset}"
            );
        }
    }

    #[test]
    fn uri_and_base32() {
        let s = TotpSecret::from_bytes(b"12345678901234567890");
        assert_eq!(s.base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            s.base32_grouped(),
            "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"
        );
        assert_eq!(
            s.otpauth_uri("Twofold", "alice"),
            "otpauth://totp/Twofold:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Twofold&algorithm=SHA1&digits=6&period=30"
        );
        assert!(
            s.otpauth_uri("My Co", "a.b")
                .starts_with("otpauth://totp/My%20Co:a.b?")
        );
        assert_eq!(TotpSecret::generate().bytes().len(), 20);
        assert_eq!(format!("{:?}", s), "TotpSecret(***)");
    }
}
