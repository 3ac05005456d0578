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
    /// A number that is not a mobile phone: premium-rate, shared-cost, toll-free, satellite,
    /// VoIP, pager or a landline. Texting some of them costs money (SMS pumping); none of
    /// them is tied to a device in your hand.
    #[error(
        "text-message codes need a mobile phone number; this one is a landline, premium-rate, toll-free, satellite or internet number — use your mobile number, or the authentication app"
    )]
    NotMobile,
}

/// Country calling codes of satellite and international networks, where a text costs far
/// more than usual and no person is bound to a number (+870 Inmarsat, +881 global mobile
/// satellite, +882/+883 international networks, +800/+808/+979 international freephone,
/// shared-cost and premium-rate).
const REFUSED_COUNTRY_CODES: [u16; 7] = [800, 808, 870, 881, 882, 883, 979];

impl PhoneNumber {
    /// Parses what a person typed. A number without `+` is read in `default_region`
    /// (an ISO 3166 code like `US`), when one is configured.
    ///
    /// # Errors
    /// [`PhoneError`] when it is empty, lacks a country code, or is not a valid number.
    pub fn parse(input: &str, default_region: Option<&str>) -> Result<Self, PhoneError> {
        let (number, parsed) = Self::parse_any(input, default_region)?;
        // Only numbers that belong to a phone in someone's hand receive codes: refusing the
        // types that cost money to text defeats SMS pumping (toll fraud), and NIST SP
        // 800-63B §5.1.3.1 asks that the number be tied to a device, not a VoIP service.
        use phonenumber::Type;
        let kind = parsed.number_type(&phonenumber::metadata::DATABASE);
        if !matches!(kind, Type::Mobile | Type::FixedLineOrMobile)
            || REFUSED_COUNTRY_CODES.contains(&number.country_code)
        {
            return Err(PhoneError::NotMobile);
        }
        Ok(number)
    }

    fn parse_any(
        input: &str,
        default_region: Option<&str>,
    ) -> Result<(Self, phonenumber::PhoneNumber), PhoneError> {
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
        let number = Self {
            e164,
            country_code,
            national,
        };
        Ok((number, parsed))
    }

    /// Reads back a number stored in E.164 form (accepted when it was added).
    ///
    /// # Errors
    /// [`PhoneError::Invalid`] when the stored text is not a valid number.
    pub fn from_e164(stored: &str) -> Result<Self, PhoneError> {
        Self::parse_any(stored, None).map(|(n, _)| n)
    }

    /// The country calling code (`1`, `44`).
    pub fn country_code(&self) -> u16 {
        self.country_code
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

    /// Issue 10 (SMS pumping): numbers that cost money to text, or belong to no handset.
    #[test]
    fn numbers_that_are_not_mobiles_are_refused() {
        for n in [
            "+44 909 879 0000",  // UK premium rate
            "+44 844 990 0000",  // UK shared cost
            "+1 900 555 1234",   // US premium rate
            "+1 800 555 1234",   // US toll-free
            "+33 8 12 34 56 78", // France premium rate
            "+881 631 234 567",  // global mobile satellite
            "+870 773 111 111",  // Inmarsat
            "+883 510 012 345",  // international network (VoIP)
            "+1 500 555 0006",   // US personal number
        ] {
            assert_eq!(
                PhoneNumber::parse(n, None),
                Err(PhoneError::NotMobile),
                "{n}"
            );
        }
        for n in [
            "+1 415 555 2671",
            "+44 7911 123456",
            "+33 6 12 34 56 78",
            "+61 412 345 678",
        ] {
            assert!(PhoneNumber::parse(n, None).is_ok(), "{n}");
        }
    }
}
