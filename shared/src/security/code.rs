//! One-time confirmation codes: six digits from the CSPRNG, stored only as an HMAC-SHA256 under a
//! server pepper. The MAC binds the code to its purpose, partner, recipient (phone or email) and issue, so a stored value
//! moved to another record, or a code sent for one purpose, never matches anywhere else.

use std::fmt;

use aws_lc_rs::hmac;
use zeroize::Zeroizing;

use super::random;
use crate::domain::partner::SANDBOX_CODE;
use crate::error::ApiError;

pub const CODE_DIGITS: usize = 6;

/// What a code is for; a code issued for one purpose cannot be spent on another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePurpose {
    PhoneSignup,
    PasswordReset,
    EmailSignup,
    PhoneAdd,
    /// A new number for an account that has one: the code goes to the new number.
    PhoneChange,
    /// Deleting an account from the web page, by a code to its phone.
    AccountDelete,
    /// A step-up of a session by a code to the account's confirmed phone (the second element of an
    /// account with no factor yet, for its first enrolment).
    StepUp,
}

impl CodePurpose {
    /// Every purpose: the code keys an identifier can have, which deleting an account clears.
    pub const ALL: [CodePurpose; 7] = [
        CodePurpose::PhoneSignup,
        CodePurpose::PasswordReset,
        CodePurpose::EmailSignup,
        CodePurpose::PhoneAdd,
        CodePurpose::PhoneChange,
        CodePurpose::AccountDelete,
        CodePurpose::StepUp,
    ];

    /// The purposes whose codes go to a contact the account already holds, for the account: they
    /// die when that contact leaves the account.
    pub const TO_ACCOUNT_CONTACT: [CodePurpose; 3] =
        [CodePurpose::PasswordReset, CodePurpose::AccountDelete, CodePurpose::StepUp];

    pub fn as_str(self) -> &'static str {
        match self {
            CodePurpose::PhoneSignup => "PHONE_SIGNUP",
            CodePurpose::PasswordReset => "PASSWORD_RESET",
            CodePurpose::EmailSignup => "EMAIL_SIGNUP",
            CodePurpose::PhoneAdd => "PHONE_ADD",
            CodePurpose::PhoneChange => "PHONE_CHANGE",
            CodePurpose::AccountDelete => "ACCOUNT_DELETE",
            CodePurpose::StepUp => "STEP_UP",
        }
    }
}

/// A code as a person types it. Redacted in `Debug`, wiped on drop.
pub struct ConfirmationCode(Zeroizing<String>);

impl ConfirmationCode {
    pub fn generate() -> Self {
        ConfirmationCode(Zeroizing::new(format!("{:0width$}", random::below(1_000_000), width = CODE_DIGITS)))
    }

    /// The fixed code of sandbox partners (seed 003). It is sealed and checked like any other, so
    /// it only ever works where a sandbox partner issued it.
    pub fn sandbox() -> Self {
        ConfirmationCode(Zeroizing::new(SANDBOX_CODE.to_owned()))
    }

    pub fn parse(input: &str) -> Result<Self, ApiError> {
        let trimmed = input.trim();
        if trimmed == SANDBOX_CODE {
            return Ok(ConfirmationCode::sandbox());
        }
        if trimmed.len() != CODE_DIGITS || !trimmed.chars().all(|c| c.is_ascii_digit()) {
            return Err(ApiError::validation("code", "format", "The code is the 6 digits from the message."));
        }
        Ok(ConfirmationCode(Zeroizing::new(trimmed.to_owned())))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ConfirmationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConfirmationCode(<redacted>)")
    }
}

/// Where a code may be used: everything the MAC binds it to besides its own digits.
pub struct CodeBinding<'a> {
    pub purpose: CodePurpose,
    pub merchant: &'a str,
    /// The phone in E.164 or the normalised email address the code was sent to.
    pub recipient: &'a str,
    pub code_id: &'a str,
}

/// The code peppers a function holds: the one it seals new codes with, and those it also accepts
/// while a rotation is under way, so no environment, old or new, burns a user's attempt on a code
/// another sealed (docs/deploy.md, "Rotating the code pepper").
///
/// The secret holds either one pepper (as the template generates it) or, during a rotation, the
/// JSON `{"seal": "<pepper>", "check": ["<pepper>", ...]}` that `keys pepper` writes.
pub struct Peppers {
    pub seal: Zeroizing<Vec<u8>>,
    pub also_check: Vec<Zeroizing<Vec<u8>>>,
}

impl Peppers {
    /// Reads the secret's string; a pepper shorter than `min_bytes` or malformed JSON is refused.
    pub fn from_secret(text: &str, min_bytes: usize) -> Result<Self, String> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Rotating {
            seal: String,
            #[serde(default)]
            check: Vec<String>,
            /// Where the rotation stands, for `keys`; the functions need only the peppers.
            #[serde(default, rename = "step")]
            _step: Option<String>,
        }
        let (seal, check) = if text.trim_start().starts_with('{') {
            let rotating: Rotating = serde_json::from_str(text)
                .map_err(|e| format!("a rotating pepper must be {{\"seal\": ..., \"check\": [...]}}: {e}"))?;
            (rotating.seal, rotating.check)
        } else {
            (text.to_owned(), Vec::new())
        };
        let pepper = |value: String| {
            if value.len() < min_bytes {
                Err(format!("each pepper must hold at least {min_bytes} characters"))
            } else {
                Ok(Zeroizing::new(value.into_bytes()))
            }
        };
        let seal = pepper(seal)?;
        let also_check = check.into_iter().map(pepper).collect::<Result<Vec<_>, _>>()?;
        Ok(Peppers { seal, also_check })
    }
}

/// Computes and checks code MACs with the server pepper (and, during a rotation, checks under the
/// others too).
#[derive(Clone)]
pub struct CodeMac {
    key: hmac::Key,
    also: Vec<hmac::Key>,
}

impl CodeMac {
    pub fn new(pepper: &[u8]) -> Self {
        CodeMac { key: hmac::Key::new(hmac::HMAC_SHA256, pepper), also: Vec::new() }
    }

    /// Seals with `peppers.seal`; accepts a code sealed under any of them.
    pub fn rotating(peppers: &Peppers) -> Self {
        let also = peppers.also_check.iter().map(|p| hmac::Key::new(hmac::HMAC_SHA256, p)).collect();
        CodeMac { also, ..CodeMac::new(&peppers.seal) }
    }

    fn message(binding: &CodeBinding<'_>, code: &ConfirmationCode) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "v1|{}|{}|{}|{}|{}",
            binding.purpose.as_str(),
            binding.merchant,
            binding.recipient,
            binding.code_id,
            code.expose()
        ))
    }

    /// Hex of the MAC: the only form in which a code is stored.
    pub fn seal(&self, binding: &CodeBinding<'_>, code: &ConfirmationCode) -> String {
        random::hex(hmac::sign(&self.key, Self::message(binding, code).as_bytes()).as_ref())
    }

    /// Constant-time comparison against a stored MAC.
    pub fn matches(&self, binding: &CodeBinding<'_>, code: &ConfirmationCode, stored_hex: &str) -> bool {
        let Some(stored) = random::decode_hex(stored_hex) else {
            return false;
        };
        let message = Self::message(binding, code);
        // Every key is tried, whichever matches, so the time does not say which pepper sealed it.
        let mut matched = hmac::verify(&self.key, message.as_bytes(), &stored).is_ok();
        for key in &self.also {
            matched |= hmac::verify(key, message.as_bytes(), &stored).is_ok();
        }
        matched
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding<'a>(recipient: &'a str, code_id: &'a str) -> CodeBinding<'a> {
        CodeBinding { purpose: CodePurpose::PhoneSignup, merchant: "m1", recipient, code_id }
    }

    #[test]
    fn generated_codes_are_six_digits_and_vary() {
        let codes: std::collections::HashSet<String> =
            (0..200).map(|_| ConfirmationCode::generate().expose().to_owned()).collect();
        assert!(codes.iter().all(|c| c.len() == 6 && c.chars().all(|d| d.is_ascii_digit())));
        assert!(codes.len() > 190, "only {} distinct codes in 200", codes.len());
    }

    #[test]
    fn a_code_matches_only_its_own_binding() {
        let mac = CodeMac::new(b"pepper-pepper-pepper-pepper-32by");
        let code = ConfirmationCode::parse("123456").unwrap();
        let sealed = mac.seal(&binding("+447871234567", "c1"), &code);
        assert!(!sealed.contains("123456"));
        assert!(mac.matches(&binding("+447871234567", "c1"), &code, &sealed));
        assert!(!mac.matches(&binding("+447871234568", "c1"), &code, &sealed));
        assert!(!mac.matches(&binding("+447871234567", "c2"), &code, &sealed));
        assert!(!mac.matches(&binding("+447871234567", "c1"), &ConfirmationCode::parse("123457").unwrap(), &sealed));
        assert!(!CodeMac::new(b"another-pepper-another-pepper-32").matches(
            &binding("+447871234567", "c1"),
            &code,
            &sealed
        ));
    }

    #[test]
    fn a_code_for_one_purpose_does_not_serve_another() {
        let mac = CodeMac::new(b"pepper-pepper-pepper-pepper-32by");
        let code = ConfirmationCode::parse("123456").unwrap();
        let signup = CodeBinding { purpose: CodePurpose::EmailSignup, ..binding("ana@example.com", "c1") };
        let sealed = mac.seal(&signup, &code);
        assert!(mac.matches(&signup, &code, &sealed));
        for purpose in [CodePurpose::PhoneSignup, CodePurpose::PasswordReset, CodePurpose::PhoneAdd] {
            assert!(!mac.matches(&CodeBinding { purpose, ..binding("ana@example.com", "c1") }, &code, &sealed));
        }
        assert!(!mac.matches(
            &CodeBinding { purpose: CodePurpose::EmailSignup, ..binding("bob@example.com", "c1") },
            &code,
            &sealed
        ));
    }

    #[test]
    fn during_a_pepper_rotation_codes_sealed_under_either_pepper_check_on_both_sides() {
        // GIVEN the old pepper, then each step `keys pepper` writes
        let (old, new) = ("o".repeat(32), "n".repeat(32));
        let before = CodeMac::rotating(&Peppers::from_secret(&old, 32).unwrap());
        let begun = format!(r#"{{"seal": "{old}", "check": ["{new}"]}}"#);
        let promoted = format!(r#"{{"seal": "{new}", "check": ["{old}"]}}"#);
        let step1 = CodeMac::rotating(&Peppers::from_secret(&begun, 32).unwrap());
        let step2 = CodeMac::rotating(&Peppers::from_secret(&promoted, 32).unwrap());
        let after = CodeMac::rotating(&Peppers::from_secret(&new, 32).unwrap());
        let code = ConfirmationCode::parse("654321").unwrap();
        let b = binding("+447871234567", "c1");
        // THEN each pair of neighbouring steps (old and new environments during one deploy) agree
        for (older, newer) in [(&before, &step1), (&step1, &step2), (&step2, &after)] {
            assert!(newer.matches(&b, &code, &older.seal(&b, &code)));
            assert!(older.matches(&b, &code, &newer.seal(&b, &code)));
        }
        // AND once finished, a code sealed under the old pepper no longer checks
        assert!(!after.matches(&b, &code, &before.seal(&b, &code)));
    }

    #[test]
    fn a_pepper_secret_that_is_short_or_malformed_is_refused() {
        assert!(Peppers::from_secret("short", 32).is_err());
        assert!(Peppers::from_secret(r#"{"seal": "x"}"#, 32).is_err());
        assert!(Peppers::from_secret(r#"{"seal": "#, 32).is_err());
        let long = "p".repeat(32);
        assert!(Peppers::from_secret(&format!(r#"{{"seal": "{long}", "check": ["short"]}}"#), 32).is_err());
        assert!(Peppers::from_secret(&format!(r#"{{"seal": "{long}", "other": 1}}"#), 32).is_err());
        assert_eq!(Peppers::from_secret(&long, 32).unwrap().also_check.len(), 0);
    }

    #[test]
    fn malformed_codes_are_validation_errors() {
        for bad in ["", "12346", "1234567", "12a456", "١٢٣٤٥٦"] {
            assert!(ConfirmationCode::parse(bad).is_err(), "{bad}");
        }
        // Only the sandbox code has five digits; it is checked against its MAC like any other.
        assert_eq!(ConfirmationCode::parse("12345").unwrap().expose(), "12345");
        assert_eq!(ConfirmationCode::parse(" 012345 ").unwrap().expose(), "012345");
    }
}
