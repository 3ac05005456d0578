//! An email address, parsed at the boundary with the `email_address` crate (RFC 5321/5322
//! syntax, not a home-made regex). Stored as given; compared with its domain folded to
//! lower case (the local part may be case-sensitive, RFC 5321 §2.4, though few servers
//! treat it so).

use std::fmt;

/// A syntactically valid email address with a dotted domain.
#[derive(Clone, PartialEq, Eq)]
pub struct Email(String);

/// Why an address was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Not an address at all.
    #[error("that is not an email address; write it like name@example.com")]
    Invalid,
    /// Longer than an address can be (RFC 5321 §4.5.3.1.3: 254 octets in a path).
    #[error("that email address is too long")]
    TooLong,
}

impl Email {
    /// Parses what a person typed (surrounding spaces are dropped).
    ///
    /// # Errors
    /// [`EmailError`] for anything but a plain `local@domain.tld` address.
    pub fn parse(typed: &str) -> Result<Self, EmailError> {
        let s = typed.trim();
        if s.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let parsed: email_address::EmailAddress = s.parse().map_err(|_| EmailError::Invalid)?;
        let domain = parsed.domain();
        // A display name (`Ann <a@b.c>`), an address literal (`a@[1.2.3.4]`) or a bare host
        // (`a@localhost`) is not an address anyone's inbox is known by.
        if parsed.as_str() != s
            || s.contains('<')
            || domain.starts_with('[')
            || !domain.contains('.')
            || s.chars().any(char::is_whitespace)
        {
            return Err(EmailError::Invalid);
        }
        Ok(Self(s.to_owned()))
    }

    /// Reads an address the database holds (it was parsed before it was stored).
    pub fn from_stored(s: &str) -> Self {
        Self(s.to_owned())
    }

    /// The address as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address with its domain in lower case: what two addresses are compared by.
    pub fn normalized(&self) -> String {
        match self.0.rsplit_once('@') {
            Some((local, domain)) => format!("{local}@{}", domain.to_ascii_lowercase()),
            None => self.0.clone(),
        }
    }

    /// `a•••@example.com`, for pages and logs.
    pub fn masked(&self) -> String {
        match self.0.rsplit_once('@') {
            Some((local, domain)) => {
                let first: String = local.chars().take(1).collect();
                format!("{first}•••@{domain}")
            }
            None => "•••".to_owned(),
        }
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_addresses_parse_and_compare_by_domain_case() {
        let e = Email::parse("  Ann.Lee+tf@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "Ann.Lee+tf@Example.COM");
        assert_eq!(e.normalized(), "Ann.Lee+tf@example.com");
        assert_eq!(e.masked(), "A•••@Example.COM");
        assert!(!format!("{e:?}").contains("Lee"));
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@localhost",
            "ann@[192.0.2.1]",
            "Ann <ann@example.com>",
            "ann lee@example.com",
            "ann@exa mple.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Email::parse(&format!("{}@example.com", "a".repeat(250))),
            Err(EmailError::TooLong)
        );
    }
}
