//! KYC levels, computed by the server only. KYC_0 (seed 001, step 5): the phone and the email are
//! confirmed and every required personal detail is present. KYC_1 (seed 003, step 3): a KYC_0
//! account whose identity Sumsub approved (a final GREEN review at the partner's level).
//!
//! The table stores KYC_0 as `kycLevel` and Sumsub's review apart (`identity_review`), so a profile
//! change that recomputes KYC_0 can never erase an approval, and a review can never stand in for a
//! missing phone, email or detail.

use super::identity_review::{IdentityReview, ReviewStatus};
use super::personal_details::PersonalDetails;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KycLevel {
    None,
    Kyc0,
    Kyc1,
}

impl KycLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            KycLevel::None => "NONE",
            KycLevel::Kyc0 => "KYC_0",
            KycLevel::Kyc1 => "KYC_1",
        }
    }

    /// The level an account shows: its stored KYC_0 rule, raised to KYC_1 by an approved review.
    pub fn shown(stored: KycLevel, review: Option<&IdentityReview>) -> KycLevel {
        let approved = review.is_some_and(|r| r.status == ReviewStatus::Approved);
        if stored >= KycLevel::Kyc0 && approved { KycLevel::Kyc1 } else { stored.min(KycLevel::Kyc0) }
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

    #[test]
    fn kyc_1_needs_kyc_0_and_an_approved_review() {
        let review =
            |status| IdentityReview { status, reject_labels: vec![], applicant_id: "a".into(), event_at_ms: 1 };
        let approved = review(ReviewStatus::Approved);
        assert_eq!(KycLevel::shown(KycLevel::Kyc0, Some(&approved)), KycLevel::Kyc1);
        assert_eq!(KycLevel::shown(KycLevel::None, Some(&approved)), KycLevel::None);
        assert_eq!(KycLevel::shown(KycLevel::Kyc0, Some(&review(ReviewStatus::Retry))), KycLevel::Kyc0);
        assert_eq!(KycLevel::shown(KycLevel::Kyc0, Some(&review(ReviewStatus::Rejected))), KycLevel::Kyc0);
        assert_eq!(KycLevel::shown(KycLevel::Kyc0, None), KycLevel::Kyc0);
    }
}
