//! KYC levels, computed by the server only (seed 001, step 5): KYC_0 once the phone and the email are
//! confirmed and every required personal detail is present.

use super::personal_details::PersonalDetails;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KycLevel {
    None,
    Kyc0,
}

impl KycLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            KycLevel::None => "NONE",
            KycLevel::Kyc0 => "KYC_0",
        }
    }

    pub fn of(phone_confirmed: bool, email_confirmed: bool, details: &PersonalDetails) -> KycLevel {
        if phone_confirmed && email_confirmed && details.is_complete() { KycLevel::Kyc0 } else { KycLevel::None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete() -> PersonalDetails {
        PersonalDetails {
            first_name: Some("Ana".into()),
            last_name: Some("Lima".into()),
            birth_date: Some("1990-04-23".into()),
            country: Some("PT".into()),
            city: Some("Porto".into()),
            address: Some("Rua 1".into()),
            postal_code: Some("4000-001".into()),
        }
    }

    #[test]
    fn kyc_0_needs_phone_email_and_every_detail() {
        assert_eq!(KycLevel::of(true, true, &complete()), KycLevel::Kyc0);
        assert_eq!(KycLevel::of(true, false, &complete()), KycLevel::None);
        assert_eq!(KycLevel::of(false, true, &complete()), KycLevel::None);
        let missing_postcode = PersonalDetails { postal_code: None, ..complete() };
        assert_eq!(KycLevel::of(true, true, &missing_postcode), KycLevel::None);
    }
}
