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

/// The first factor of a login: a password, or a passkey and no password (issue 24).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FirstFactor {
    /// The password.
    #[default]
    Password,
    /// A passkey, with no password.
    Passkey,
}

impl FirstFactor {
    /// The stored name: the RFC 8176 `amr` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "pwd",
            Self::Passkey => "hwk",
        }
    }

    /// Reads a stored name; anything unknown is a password (what every login was before).
    pub fn from_stored(s: &str) -> Self {
        if s == "hwk" {
            Self::Passkey
        } else {
            Self::Password
        }
    }
}

/// The `amr` values (RFC 8176) of a login, from its first factor and its second: a passkey
/// as the second factor `["pwd","mfa","hwk"]`; a passkey and no password, with user
/// verification `["hwk","user","mfa"]`, without it `["hwk"]`.
pub fn amr(first: FirstFactor, second: Option<Method>) -> Vec<&'static str> {
    match (first, second) {
        (_, Some(Method::Passkey)) => vec!["hwk", "user", "mfa"],
        (FirstFactor::Passkey, None) => vec!["hwk"],
        (FirstFactor::Password, None) => vec!["pwd"],
        (_, Some(Method::Totp)) => vec!["pwd", "mfa", "otp"],
        (_, Some(Method::Sms)) => vec!["pwd", "mfa", "sms"],
        (_, Some(Method::BackupCode)) => vec!["pwd", "mfa", "backup_code"],
        // RFC 8176 `hwk`: proof of possession of a hardware-bound key.
        (_, Some(Method::Webauthn)) => vec!["pwd", "mfa", "hwk"],
    }
}

/// The authentication context classes Twofold names (`acr`, OIDC Core §2), weakest first:
/// `1fa` one factor; `mfa` two factors; `phr` phishing-resistant — a passkey or security key
/// was one of the factors (OpenID Connect EAP ACR Values 1.0 §2).
pub const ACR_VALUES: [&str; 3] = ["1fa", "mfa", "phr"];

/// The `acr` to answer an app that asked for `requested` (space-separated, in its order of
/// preference) after a login with these `amr` values: the first value asked for that the login
/// met, else the strongest it met. `acr_values` is voluntary (OIDC Core §3.1.2.1, contract v3):
/// it never forces a step-up.
pub fn acr(amr: &[&str], requested: &str) -> &'static str {
    let met = |v: &str| match v {
        "1fa" => true,
        "mfa" => amr.contains(&"mfa"),
        "phr" => amr.contains(&"hwk"),
        _ => false,
    };
    requested
        .split_ascii_whitespace()
        .find_map(|r| ACR_VALUES.iter().find(|v| **v == r && met(v)))
        .or_else(|| ACR_VALUES.iter().rev().find(|v| met(v)))
        .copied()
        .unwrap_or("1fa")
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
    fn acr_answers_what_the_login_met() {
        let pwd = amr(FirstFactor::Password, None);
        let totp = amr(FirstFactor::Password, Some(Method::Totp));
        let key = amr(FirstFactor::Password, Some(Method::Webauthn));
        assert_eq!(acr(&pwd, "mfa"), "1fa");
        assert_eq!(acr(&totp, "mfa"), "mfa");
        assert_eq!(acr(&totp, "phr mfa"), "mfa");
        assert_eq!(acr(&totp, "phr"), "mfa");
        assert_eq!(acr(&key, "phr"), "phr");
        assert_eq!(acr(&key, "1fa"), "1fa");
        assert_eq!(acr(&key, "urn:other"), "phr");
        assert_eq!(acr(&amr(FirstFactor::Passkey, None), "mfa"), "phr");
    }

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
        for f in [FirstFactor::Password, FirstFactor::Passkey] {
            assert_eq!(FirstFactor::from_stored(f.as_str()), f);
        }
        assert!(Method::parse("SMS").is_err());
    }

    #[test]
    fn amr_values() {
        use FirstFactor::{Passkey, Password};
        assert_eq!(amr(Password, None), ["pwd"]);
        assert_eq!(amr(Password, Some(Method::Totp)), ["pwd", "mfa", "otp"]);
        assert_eq!(amr(Password, Some(Method::Sms)), ["pwd", "mfa", "sms"]);
        assert_eq!(
            amr(Password, Some(Method::BackupCode)),
            ["pwd", "mfa", "backup_code"]
        );
        assert_eq!(amr(Password, Some(Method::Webauthn)), ["pwd", "mfa", "hwk"]);
        assert_eq!(amr(Passkey, Some(Method::Passkey)), ["hwk", "user", "mfa"]);
        assert_eq!(amr(Passkey, None), ["hwk"]);
    }
}
