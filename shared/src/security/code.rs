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
}

impl CodePurpose {
    /// Every purpose: the code keys an identifier can have, which deleting an account clears.
    pub const ALL: [CodePurpose; 6] = [
        CodePurpose::PhoneSignup,
        CodePurpose::PasswordReset,
        CodePurpose::EmailSignup,
        CodePurpose::PhoneAdd,
        CodePurpose::PhoneChange,
        CodePurpose::AccountDelete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CodePurpose::PhoneSignup => "PHONE_SIGNUP",
            CodePurpose::PasswordReset => "PASSWORD_RESET",
            CodePurpose::EmailSignup => "EMAIL_SIGNUP",
            CodePurpose::PhoneAdd => "PHONE_ADD",
            CodePurpose::PhoneChange => "PHONE_CHANGE",
            CodePurpose::AccountDelete => "ACCOUNT_DELETE",
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

/// Computes and checks code MACs with the server pepper.
#[derive(Clone)]
pub struct CodeMac {
    key: hmac::Key,
}

impl CodeMac {
    pub fn new(pepper: &[u8]) -> Self {
        CodeMac { key: hmac::Key::new(hmac::HMAC_SHA256, pepper) }
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
        hmac::verify(&self.key, Self::message(binding, code).as_bytes(), &stored).is_ok()
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
    fn malformed_codes_are_validation_errors() {
        for bad in ["", "12346", "1234567", "12a456", "١٢٣٤٥٦"] {
            assert!(ConfirmationCode::parse(bad).is_err(), "{bad}");
        }
        // Only the sandbox code has five digits; it is checked against its MAC like any other.
        assert_eq!(ConfirmationCode::parse("12345").unwrap().expose(), "12345");
        assert_eq!(ConfirmationCode::parse(" 012345 ").unwrap().expose(), "012345");
    }
}
