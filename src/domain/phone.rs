//! Phone numbers, parsed to E.164 with the `phonenumber` crate.

use std::fmt;

/// A valid phone number in E.164 form (`+14155552671`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber {
    e164: String,
    country_code: u16,
    national: String,
}

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Nothing typed.
    #[error("enter a phone number")]
    Empty,
    /// No `+` and no default region is configured.
    #[error("include the country code, starting with +, like +1 415 555 2671")]
    NeedsCountryCode,
    /// Not a phone number that can exist.
    #[error(
        "that doesn't look like a valid phone number; check it and include the country code, like +1 415 555 2671"
    )]
    Invalid,
}

impl PhoneNumber {
    /// Parses what a person typed. A number without `+` is read in `default_region`
    /// (an ISO 3166 code like `US`), when one is configured.
    ///
    /// # Errors
    /// [`PhoneError`] when it is empty, lacks a country code, or is not a valid number.
    pub fn parse(input: &str, default_region: Option<&str>) -> Result<Self, PhoneError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(PhoneError::Empty);
        }
        if s.len() > 40
            || !s
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c))
        {
            return Err(PhoneError::Invalid);
        }
        let region = if s.starts_with('+') {
            None
        } else {
            let Some(r) = default_region else {
                return Err(PhoneError::NeedsCountryCode);
            };
            Some(
                r.parse::<phonenumber::country::Id>()
                    .map_err(|_| PhoneError::NeedsCountryCode)?,
            )
        };
        let parsed = phonenumber::parse(region, s).map_err(|_| PhoneError::Invalid)?;
        if !parsed.is_valid() {
            return Err(PhoneError::Invalid);
        }
        let e164 = parsed.format().mode(phonenumber::Mode::E164).to_string();
        let country_code = parsed.code().value();
        let national = e164.trim_start_matches('+')[country_code.to_string().len()..].to_owned();
        Ok(Self {
            e164,
            country_code,
            national,
        })
    }

    /// Reads back a number stored in E.164 form.
    ///
    /// # Errors
    /// [`PhoneError::Invalid`] when the stored text is not a valid number.
    pub fn from_e164(stored: &str) -> Result<Self, PhoneError> {
        Self::parse(stored, None)
    }

    /// `+14155552671`.
    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// For pages, logs and the API: `+1 *** *** **71`, the country code and the last two
    /// digits only.
    pub fn masked(&self) -> String {
        let n = self.national.len();
        let stars: String = "*".repeat(n.saturating_sub(2));
        let shown = &self.national[n.saturating_sub(2)..];
        let hidden = format!("{stars}{shown}");
        let groups = if hidden.len() > 6 {
            format!("{} {} {}", &hidden[..3], &hidden[3..6], &hidden[6..])
        } else {
            hidden
        };
        format!("+{} {groups}", self.country_code)
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn international_numbers_parse_to_e164() {
        let p = PhoneNumber::parse("+1 415 555 2671", None).unwrap();
        assert_eq!(p.e164(), "+14155552671");
        assert_eq!(p.masked(), "+1 *** *** **71");
        assert_eq!(PhoneNumber::parse("+1-415-555-2671", None).unwrap(), p);
        assert_eq!(PhoneNumber::parse("+1 (415) 555-2671", None).unwrap(), p);
        let uk = PhoneNumber::parse("+44 7911 123456", None).unwrap();
        assert_eq!(uk.e164(), "+447911123456");
        assert_eq!(uk.masked(), "+44 *** *** **56");
        assert_eq!(PhoneNumber::from_e164("+447911123456").unwrap(), uk);
    }

    #[test]
    fn national_numbers_need_a_region() {
        assert_eq!(
            PhoneNumber::parse("415 555 2671", None),
            Err(PhoneError::NeedsCountryCode)
        );
        assert_eq!(
            PhoneNumber::parse("415 555 2671", Some("US"))
                .unwrap()
                .e164(),
            "+14155552671"
        );
        assert_eq!(
            PhoneNumber::parse("07911 123456", Some("GB"))
                .unwrap()
                .e164(),
            "+447911123456"
        );
    }

    #[test]
    fn junk_is_refused() {
        assert_eq!(PhoneNumber::parse("", None), Err(PhoneError::Empty));
        assert_eq!(PhoneNumber::parse("+1 555", None), Err(PhoneError::Invalid));
        assert_eq!(
            PhoneNumber::parse("+1 abc def ghij", None),
            Err(PhoneError::Invalid)
        );
        assert_eq!(
            PhoneNumber::parse("+999 1234567", None),
            Err(PhoneError::Invalid)
        );
        assert_eq!(
            PhoneNumber::parse(&"+1".repeat(50), None),
            Err(PhoneError::Invalid)
        );
    }
}
