//! Step-up (RFC 9470): what a session must have proved, and how recently, before it may do
//! something that would let a thief keep the account.
//!
//! The rules are a table over operations, not checks spread through handlers, so passkeys and
//! payment confirmation add rows (and methods to the assurance) rather than new notions of "signed
//! in well enough". An operation that needs more than the session has answers 401 with
//! `WWW-Authenticate: Bearer error="insufficient_user_authentication"` and the `acr_values` and
//! `max_age` it needs; the user steps up inside the same session and asks again.
//!
//! Two choices here answer the review of the first design:
//! - Enrolling a factor always needs `aal2`, the first one too. On an account with no factor yet,
//!   the second element is a code sent to the account's recovery contact (the confirmed phone, or
//!   the confirmed address of an account without one): whoever holds that contact could reset the
//!   password anyway, so asking for it adds no hurdle for the owner, while a thief with the password
//!   alone can no longer enrol a factor of their own and lock the owner out.
//! - On an account with a factor, the password re-entry that guards a password, phone or email
//!   change or a deletion is not enough: those need `aal2` too, so a stolen `aal1` session (a
//!   password reset's, for one) cannot be used to guess codes or to remove what protects the
//!   account.

use super::assurance::{Assurance, Level};

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

/// What the session must have: at least `level`, authenticated at most `max_age` seconds ago.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    pub level: Level,
    pub max_age: i64,
}

impl Requirement {
    const RECENT_AAL2: Requirement = Requirement { level: Level::Aal2, max_age: RECENT_SECS };

    /// The `WWW-Authenticate` value of a 401 that asks for this (RFC 9470 section 3).
    pub fn challenge(&self) -> String {
        format!(
            r#"Bearer error="insufficient_user_authentication", error_description="A more recent or stronger authentication is needed", acr_values="{}", max_age={}"#,
            self.level.as_str(),
            self.max_age
        )
    }
}

/// What `operation` needs on an account that has (`has_factor`) or has no second factor; `None`
/// when the session as it is may do it (the operation's own checks, such as re-entering the
/// password, still apply).
pub fn requirement(operation: Guarded, has_factor: bool) -> Option<Requirement> {
    match operation {
        // A factor protects the account only if a thief with the password cannot add or take one.
        Guarded::EnrolFactor | Guarded::RemoveFactor | Guarded::RegenerateRecoveryCodes => {
            Some(Requirement::RECENT_AAL2)
        }
        Guarded::ChangePassword
        | Guarded::ChangePhone
        | Guarded::ChangeEmail
        | Guarded::EndOtherSessions
        | Guarded::DeleteAccount => has_factor.then_some(Requirement::RECENT_AAL2),
    }
}

/// Whether a session with `assurance` may do `operation` at `now`; the requirement it misses if not.
pub fn check(assurance: &Assurance, operation: Guarded, has_factor: bool, now: i64) -> Result<(), Requirement> {
    match requirement(operation, has_factor) {
        Some(needed) if !assurance.satisfies(needed.level, Some(needed.max_age), now) => Err(needed),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::factors::assurance::Method;

    const T0: i64 = 1_800_000_000;
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

    #[test]
    fn a_password_session_cannot_enrol_even_the_first_factor() {
        let refused = check(&Assurance::password(T0), Guarded::EnrolFactor, false, T0);
        assert_eq!(refused, Err(Requirement { level: Level::Aal2, max_age: 300 }));
        // the code to the recovery contact is the second element of a first enrolment
        assert_eq!(check(&Assurance::password(T0).with(Method::Sms, T0), Guarded::EnrolFactor, false, T0), Ok(()));
    }

    #[test]
    fn without_a_factor_only_the_factor_operations_are_guarded() {
        for operation in EVERY {
            let guarded = requirement(operation, false).is_some();
            let factor_operation =
                matches!(operation, Guarded::EnrolFactor | Guarded::RemoveFactor | Guarded::RegenerateRecoveryCodes);
            assert_eq!(guarded, factor_operation, "{operation:?}");
        }
    }

    #[test]
    fn with_a_factor_every_operation_needs_aal2_within_five_minutes() {
        let stepped_up = Assurance::password(T0).with(Method::Otp, T0);
        for operation in EVERY {
            assert!(check(&Assurance::password(T0), operation, true, T0).is_err(), "{operation:?}");
            assert_eq!(check(&stepped_up, operation, true, T0 + 300), Ok(()), "{operation:?}");
            assert!(check(&stepped_up, operation, true, T0 + 301).is_err(), "{operation:?}");
        }
    }

    #[test]
    fn the_challenge_names_the_level_and_age_needed() {
        let challenge = Requirement::RECENT_AAL2.challenge();
        assert!(challenge.starts_with(r#"Bearer error="insufficient_user_authentication""#), "{challenge}");
        assert!(challenge.contains(r#"acr_values="aal2""#) && challenge.ends_with("max_age=300"), "{challenge}");
    }
}
