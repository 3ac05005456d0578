//! The second-factor methods, with the fixed names the API uses.

use std::fmt;

/// A way to pass the second step of a login.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// A code sent by text message.
    Sms,
    /// A code from an authenticator app (TOTP).
    Totp,
    /// A single-use backup code.
    BackupCode,
    /// A passkey or security key at the second step (WebAuthn, after the password).
    Webauthn,
    /// A passkey with user verification and no password (a PIN or biometric on the device
    /// is the second factor): a login that counts as two factors.
    Passkey,
}

/// An unknown method name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the method must be one of sms, totp, backup_code or webauthn")]
pub struct UnknownMethod;

impl Method {
    /// Parses the API name.
    ///
    /// # Errors
    /// [`UnknownMethod`] for anything else.
    pub fn parse(s: &str) -> Result<Self, UnknownMethod> {
        match s {
            "sms" => Ok(Self::Sms),
            "totp" => Ok(Self::Totp),
            "backup_code" => Ok(Self::BackupCode),
            "webauthn" => Ok(Self::Webauthn),
            "passkey" => Ok(Self::Passkey),
            _ => Err(UnknownMethod),
        }
    }

    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Totp => "totp",
            Self::BackupCode => "backup_code",
            Self::Webauthn => "webauthn",
            Self::Passkey => "passkey",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in [
            Method::Sms,
            Method::Totp,
            Method::BackupCode,
            Method::Webauthn,
            Method::Passkey,
        ] {
            assert_eq!(Method::parse(m.as_str()), Ok(m));
        }
        assert!(Method::parse("email").is_err());
        assert!(Method::parse("SMS").is_err());
    }
}
