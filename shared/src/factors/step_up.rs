//! Step-up (RFC 9470): what a session must have proved, and how recently, before it may do
//! something that would let a thief keep the account.
//!
//! The rules are a table over operations, not checks spread through handlers, so passkeys and
//! payment confirmation add rows (and methods to the assurance) rather than new notions of "signed
//! in well enough". An operation that needs more than the session has answers 401 with
//! `WWW-Authenticate: Bearer error="insufficient_user_authentication"` and the `acr_values` and
//! `max_age` it needs; the user steps up inside the same session and asks again.
//!
//! Choices here that answer the reviews of the design:
//! - Enrolling a factor always needs `aal2`, the first one too. On an account with no factor yet,
//!   the second element is a code sent by SMS to the account's confirmed phone, its recovery
//!   contact: whoever holds it could reset the password anyway, so asking for it adds no hurdle for
//!   the owner, while a thief with the password alone can no longer enrol a factor of their own and
//!   lock the owner out. An account with no confirmed phone has no such element yet (an emailed
//!   code is not an authenticator at AAL2, NIST SP 800-63B 5.1.3.1): it cannot enrol until it
//!   confirms a phone. That is a stated limit, not an oversight.
//! - On an account with a factor, `aal2` must include that factor (or a recovery code): a code to
//!   the phone is not enough to remove or replace a TOTP, or a SIM swap and the password would be.
//! - On an account with a factor, the password re-entry that guards a password, phone or email
//!   change or a deletion is not enough: those need `aal2` too.
//! - Recency is of the whole ceremony: an assurance is what one ceremony proved at one time
//!   (`Assurance::proved`), never an old one with a method added, so typing the password again
//!   cannot make a day-old code count as recent.

use super::assurance::{Assurance, Level, Method};

/// How recent the authentication behind a guarded operation must be: five minutes.
pub const RECENT_SECS: i64 = 300;

/// An operation that the rules guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guarded {
    EnrolFactor,
    RemoveFactor,
    RegenerateRecoveryCodes,
    ChangePassword,
    ChangePhone,
    ChangeEmail,
    EndOtherSessions,
    DeleteAccount,
}

/// Which second element the `aal2` must have been reached with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondElement {
    /// One of the account's enrolled factors, or one of its recovery codes.
    EnrolledFactor,
    /// A code sent by SMS to the account's confirmed phone (an account with no factor yet).
    ConfirmedPhone,
}

/// What the session must have: at least `level`, reached with `element`, authenticated at most
/// `max_age` seconds ago.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    pub level: Level,
    pub max_age: i64,
    pub element: SecondElement,
}

impl Requirement {
    pub(crate) const fn recent_aal2(element: SecondElement) -> Requirement {
        Requirement { level: Level::Aal2, max_age: RECENT_SECS, element }
    }

    /// The `WWW-Authenticate` value of a 401 that asks for this (RFC 9470 section 3, whose
    /// example quotes `max_age`).
    pub fn challenge(&self) -> String {
        format!(
            r#"Bearer error="insufficient_user_authentication", error_description="A more recent or stronger authentication is needed", acr_values="{}", max_age="{}""#,
            self.level.as_str(),
            self.max_age
        )
    }

    /// Whether `assurance` meets this at `now`, for an account whose enrolled factors prove
    /// `enrolled` (a recovery code always stands in for them).
    fn met_by(&self, assurance: &Assurance, enrolled: &[Method], now: i64) -> bool {
        let element = match self.element {
            SecondElement::EnrolledFactor => {
                assurance.includes_any(enrolled) || assurance.includes_any(&[Method::Recovery])
            }
            SecondElement::ConfirmedPhone => assurance.includes_any(&[Method::Sms]),
        };
        element && assurance.satisfies(self.level, Some(self.max_age), now)
    }
}

/// What `operation` needs on an account whose enrolled factors prove `enrolled` (empty: no
/// factor); `None` when the session as it is may do it (the operation's own checks, such as
/// re-entering the password, still apply).
pub fn requirement(operation: Guarded, enrolled: &[Method]) -> Option<Requirement> {
    let has_factor = !enrolled.is_empty();
    let element = if has_factor { SecondElement::EnrolledFactor } else { SecondElement::ConfirmedPhone };
    match operation {
        // A factor protects the account only if a thief with the password cannot add or take one.
        Guarded::EnrolFactor | Guarded::RemoveFactor | Guarded::RegenerateRecoveryCodes => {
            Some(Requirement::recent_aal2(element))
        }
        Guarded::ChangePassword
        | Guarded::ChangePhone
        | Guarded::ChangeEmail
        | Guarded::EndOtherSessions
        | Guarded::DeleteAccount => has_factor.then_some(Requirement::recent_aal2(element)),
    }
}

/// Whether a session with `assurance` may do `operation` at `now` on an account whose enrolled
/// factors prove `enrolled`; the requirement it misses if not.
pub fn check(assurance: &Assurance, operation: Guarded, enrolled: &[Method], now: i64) -> Result<(), Requirement> {
    match requirement(operation, enrolled) {
        Some(needed) if !needed.met_by(assurance, enrolled, now) => Err(needed),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000;
    const TOTP: &[Method] = &[Method::Otp];
    const EVERY: [Guarded; 8] = [
        Guarded::EnrolFactor,
        Guarded::RemoveFactor,
        Guarded::RegenerateRecoveryCodes,
        Guarded::ChangePassword,
        Guarded::ChangePhone,
        Guarded::ChangeEmail,
        Guarded::EndOtherSessions,
        Guarded::DeleteAccount,
    ];

    fn proved(methods: &[Method], at: i64) -> Assurance {
        Assurance::proved(methods, at)
    }

    #[test]
    fn a_password_session_cannot_enrol_even_the_first_factor() {
        let refused = check(&Assurance::password(T0), Guarded::EnrolFactor, &[], T0);
        assert_eq!(refused, Err(Requirement::recent_aal2(SecondElement::ConfirmedPhone)));
        // a code to the confirmed phone is the second element of a first enrolment
        assert_eq!(check(&proved(&[Method::Pwd, Method::Sms], T0), Guarded::EnrolFactor, &[], T0), Ok(()));
    }

    #[test]
    fn without_a_factor_only_the_factor_operations_are_guarded() {
        for operation in EVERY {
            let guarded = requirement(operation, &[]).is_some();
            let factor_operation =
                matches!(operation, Guarded::EnrolFactor | Guarded::RemoveFactor | Guarded::RegenerateRecoveryCodes);
            assert_eq!(guarded, factor_operation, "{operation:?}");
        }
    }

    #[test]
    fn with_a_factor_every_operation_needs_that_factor_at_aal2_within_five_minutes() {
        for operation in EVERY {
            assert!(check(&Assurance::password(T0), operation, TOTP, T0).is_err(), "{operation:?}");
            for second in [Method::Otp, Method::Recovery] {
                let stepped_up = proved(&[Method::Pwd, second], T0);
                assert_eq!(check(&stepped_up, operation, TOTP, T0 + 300), Ok(()), "{operation:?} {second:?}");
                assert!(check(&stepped_up, operation, TOTP, T0 + 301).is_err(), "{operation:?} {second:?}");
            }
        }
    }

    #[test]
    fn a_code_to_the_phone_cannot_remove_or_replace_an_enrolled_factor() {
        // a thief with the password and a swapped SIM
        let phone_and_password = proved(&[Method::Pwd, Method::Sms], T0);
        for operation in EVERY {
            assert!(check(&phone_and_password, operation, TOTP, T0).is_err(), "{operation:?}");
        }
    }

    #[test]
    fn typing_the_password_again_does_not_make_an_old_second_factor_recent() {
        // signed in with both a day ago; the password again now is a ceremony of its own
        let again = proved(&[Method::Pwd], T0 + 86_400);
        assert!(check(&again, Guarded::RemoveFactor, TOTP, T0 + 86_400).is_err());
        assert!(check(&proved(&[Method::Pwd, Method::Otp], T0), Guarded::RemoveFactor, TOTP, T0 + 86_400).is_err());
    }

    #[test]
    fn the_challenge_names_the_level_and_age_needed() {
        let challenge = Requirement::recent_aal2(SecondElement::EnrolledFactor).challenge();
        assert!(challenge.starts_with(r#"Bearer error="insufficient_user_authentication""#), "{challenge}");
        assert!(challenge.contains(r#"acr_values="aal2""#) && challenge.ends_with(r#"max_age="300""#), "{challenge}");
    }
}
