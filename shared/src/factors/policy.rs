//! A partner's second-factor policy, and what a right password leads to under it.
//!
//! `off` offers no enrolment, `optional` lets users enrol, `required` makes every user enrol
//! before the account can be used. Whatever the policy, a factor a user enrolled is always asked
//! for: a partner that turns the policy down (or a deploy that rolls back) never silently stops
//! checking a factor a user relies on.

/// Second factor off, optional, or required, per partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecondFactorPolicy {
    Off,
    /// The default: users may enrol; those who did are asked at every sign-in.
    #[default]
    Optional,
    Required,
}

impl SecondFactorPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            SecondFactorPolicy::Off => "off",
            SecondFactorPolicy::Optional => "optional",
            SecondFactorPolicy::Required => "required",
        }
    }

    pub fn parse(text: &str) -> Option<SecondFactorPolicy> {
        match text {
            "off" => Some(SecondFactorPolicy::Off),
            "optional" => Some(SecondFactorPolicy::Optional),
            "required" => Some(SecondFactorPolicy::Required),
            _ => None,
        }
    }

    /// Whether a user of this partner may enrol a factor.
    pub fn allows_enrolment(self) -> bool {
        self != SecondFactorPolicy::Off
    }

    /// What a sign-in whose password was right gets, for an account that has (`has_factor`) or
    /// has no second factor.
    pub fn after_password(self, has_factor: bool) -> AfterPassword {
        match (has_factor, self) {
            (true, _) => AfterPassword::SecondFactor,
            (false, SecondFactorPolicy::Required) => AfterPassword::EnrolFirst,
            (false, SecondFactorPolicy::Off | SecondFactorPolicy::Optional) => AfterPassword::Session,
        }
    }
}

/// What a right password leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterPassword {
    /// A session at `aal1`.
    Session,
    /// `mfa_required`: a single-use token bound to this sign-in, redeemed with a second factor.
    SecondFactor,
    /// A session whose tokens let the user enrol a factor and nothing else.
    EnrolFirst,
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVERY: [SecondFactorPolicy; 3] =
        [SecondFactorPolicy::Off, SecondFactorPolicy::Optional, SecondFactorPolicy::Required];

    #[test]
    fn an_enrolled_factor_is_asked_for_under_every_policy() {
        for policy in EVERY {
            assert_eq!(policy.after_password(true), AfterPassword::SecondFactor, "{policy:?}");
        }
    }

    #[test]
    fn without_a_factor_only_a_required_policy_holds_the_session_back() {
        assert_eq!(SecondFactorPolicy::Off.after_password(false), AfterPassword::Session);
        assert_eq!(SecondFactorPolicy::Optional.after_password(false), AfterPassword::Session);
        assert_eq!(SecondFactorPolicy::Required.after_password(false), AfterPassword::EnrolFirst);
        assert!(!SecondFactorPolicy::Off.allows_enrolment());
        assert!(SecondFactorPolicy::Required.allows_enrolment());
    }

    #[test]
    fn names_read_back() {
        for policy in EVERY {
            assert_eq!(SecondFactorPolicy::parse(policy.as_str()), Some(policy));
        }
        assert_eq!(SecondFactorPolicy::parse("Required"), None);
        assert_eq!(SecondFactorPolicy::default(), SecondFactorPolicy::Optional);
    }
}
