//! Phone numbers, parsed with libphonenumber's metadata and kept in E.164, so that every spelling of a
//! number ("+44 7871 234567", "+447871234567", "0044 7871-234567") is one account.

use std::fmt;

use phonenumber::{Mode, PhoneNumber as Parsed, Type};

use crate::error::ApiError;

/// Longer input is refused before the parser sees it.
const MAX_INPUT_LEN: usize = 32;

/// A valid number that can receive SMS, in E.164.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber {
    e164: String,
    national: String,
    /// The ISO 3166-1 alpha-2 region the number belongs to, when libphonenumber knows it.
    country: Option<phonenumber::country::Id>,
}

impl PhoneNumber {
    pub fn parse(input: &str) -> Result<Self, ApiError> {
        let invalid = |rule, message: &str| ApiError::validation("phone", rule, message.to_owned());
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(invalid("required", "Enter a phone number."));
        }
        if trimmed.len() > MAX_INPUT_LEN || !trimmed.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c)) {
            return Err(invalid("format", "Enter the phone number in international format, e.g. +447871234567."));
        }
        let international = match trimmed.strip_prefix("00") {
            Some(rest) => format!("+{rest}"),
            None => trimmed.to_owned(),
        };
        if !international.starts_with('+') {
            return Err(invalid(
                "country_code",
                "Start the phone number with + and the country code, e.g. +447871234567.",
            ));
        }
        let parsed: Parsed = phonenumber::parse(None, &international)
            .map_err(|_| invalid("format", "Enter the phone number in international format, e.g. +447871234567."))?;
        if !phonenumber::is_valid(&parsed) {
            return Err(invalid("invalid", "This is not a valid phone number."));
        }
        // Codes go out by SMS: a fixed line would leave the user stuck at the next step.
        match parsed.number_type(&phonenumber::metadata::DATABASE) {
            Type::Mobile | Type::FixedLineOrMobile | Type::PersonalNumber => {}
            _ => {
                return Err(invalid("not_mobile", "This number cannot receive SMS. Use a mobile number."));
            }
        }
        Ok(PhoneNumber {
            e164: parsed.format().mode(Mode::E164).to_string(),
            national: parsed.national().value().to_string(),
            country: parsed.country().id(),
        })
    }

    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// The national significant number, without the country code or trunk prefix.
    pub fn national_digits(&self) -> &str {
        &self.national
    }

    pub fn country(&self) -> Option<&str> {
        self.country.as_ref().map(|id| id.as_ref())
    }

    /// Keeps logs useful without writing a subscriber's number into them.
    pub fn masked(&self) -> String {
        let tail: String = self.e164.chars().rev().take(2).collect::<Vec<_>>().into_iter().rev().collect();
        format!("{}…{tail}", &self.e164[..self.e164.len().min(4)])
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
    fn numbers_know_their_country() {
        assert_eq!(PhoneNumber::parse("+447871234567").unwrap().country(), Some("GB"));
        assert_eq!(PhoneNumber::parse("+4915112345678").unwrap().country(), Some("DE"));
    }

    #[test]
    fn spellings_of_one_number_normalise_to_one_e164() {
        for spelling in ["+447871234567", "+44 7871 234567", "0044 7871-234567", " +44 (7871) 234 567 "] {
            assert_eq!(PhoneNumber::parse(spelling).expect(spelling).e164(), "+447871234567");
        }
    }

    #[test]
    fn national_digits_drop_country_code() {
        assert_eq!(PhoneNumber::parse("+447871234567").unwrap().national_digits(), "7871234567");
    }

    fn rule_of(input: &str) -> &'static str {
        match PhoneNumber::parse(input) {
            Err(ApiError::Validation { rule, field: "phone", .. }) => rule,
            other => panic!("{input}: expected a phone validation error, got {other:?}"),
        }
    }

    #[test]
    fn refuses_what_cannot_receive_an_sms() {
        assert_eq!(rule_of(""), "required");
        assert_eq!(rule_of("07871234567"), "country_code");
        assert_eq!(rule_of("+44abc"), "format");
        assert_eq!(rule_of(&"9".repeat(40)), "format");
        assert_eq!(rule_of("+4412"), "invalid");
        // A London landline.
        assert_eq!(rule_of("+442079460000"), "not_mobile");
    }

    #[test]
    fn masked_hides_the_middle() {
        let masked = PhoneNumber::parse("+447871234567").unwrap().masked();
        assert!(!masked.contains("787123"));
        assert!(masked.ends_with("67"));
    }
}
