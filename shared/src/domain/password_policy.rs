//! One password policy type and the one place that evaluates it. The default is seed 000's; seed
//! 003's stricter policy is the other named preset a partner can choose.

use serde_json::{Map, Value, json};

use super::password::Password;
use super::phone::PhoneNumber;
use super::simple_password::is_too_simple;
use crate::error::ApiError;

/// A rule a password can break; its name is the `data.rule` clients see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordRule {
    MinLength,
    MaxLength,
    Digit,
    Letter,
    Lowercase,
    Uppercase,
    Symbol,
    PhoneNumber,
    TooSimple,
}

impl PasswordRule {
    pub fn name(self) -> &'static str {
        match self {
            PasswordRule::MinLength => "min_length",
            PasswordRule::MaxLength => "max_length",
            PasswordRule::Digit => "digit",
            PasswordRule::Letter => "letter",
            PasswordRule::Lowercase => "lowercase",
            PasswordRule::Uppercase => "uppercase",
            PasswordRule::Symbol => "symbol",
            PasswordRule::PhoneNumber => "phone_number",
            PasswordRule::TooSimple => "too_simple",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_chars: usize,
    pub max_chars: Option<usize>,
    pub require_digit: bool,
    pub require_letter: bool,
    pub require_lowercase: bool,
    pub require_uppercase: bool,
    pub require_symbol: bool,
    pub reject_too_simple: bool,
}

/// What the service knows about the user when the password is chosen.
pub struct PasswordContext<'a> {
    pub phone: &'a PhoneNumber,
}

impl Default for PasswordPolicy {
    /// Seed 000: at least 8 characters, a digit, a letter, not the phone number, not too simple.
    fn default() -> Self {
        PasswordPolicy {
            min_chars: 8,
            max_chars: None,
            require_digit: true,
            require_letter: true,
            require_lowercase: false,
            require_uppercase: false,
            require_symbol: false,
            reject_too_simple: true,
        }
    }
}

impl PasswordPolicy {
    /// Seed 003: 8 to 32 characters, lower and upper case, a digit and a symbol.
    pub fn seed_003() -> Self {
        PasswordPolicy {
            max_chars: Some(32),
            require_lowercase: true,
            require_uppercase: true,
            require_symbol: true,
            ..PasswordPolicy::default()
        }
    }

    /// Every rule the password breaks, in the order a person would fix them.
    pub fn broken_rules(&self, password: &Password, context: &PasswordContext<'_>) -> Vec<PasswordRule> {
        let text = password.expose();
        let chars = text.chars().count();
        let mut broken = Vec::new();
        let mut check = |ok: bool, rule| {
            if !ok {
                broken.push(rule);
            }
        };
        check(chars >= self.min_chars, PasswordRule::MinLength);
        check(self.max_chars.is_none_or(|max| chars <= max), PasswordRule::MaxLength);
        check(!self.require_digit || text.chars().any(|c| c.is_ascii_digit()), PasswordRule::Digit);
        check(!self.require_letter || text.chars().any(char::is_alphabetic), PasswordRule::Letter);
        check(!self.require_lowercase || text.chars().any(char::is_lowercase), PasswordRule::Lowercase);
        check(!self.require_uppercase || text.chars().any(char::is_uppercase), PasswordRule::Uppercase);
        check(
            !self.require_symbol || text.chars().any(|c| !c.is_alphanumeric() && !c.is_whitespace()),
            PasswordRule::Symbol,
        );
        check(!contains_phone(text, context.phone), PasswordRule::PhoneNumber);
        check(!self.reject_too_simple || !is_too_simple(text), PasswordRule::TooSimple);
        broken
    }

    /// `Ok` or the envelope for the first broken rule, with every broken rule in `data.rules`.
    pub fn check(&self, password: &Password, context: &PasswordContext<'_>) -> Result<(), ApiError> {
        let broken = self.broken_rules(password, context);
        let Some(first) = broken.first() else {
            return Ok(());
        };
        let mut data = Map::new();
        data.insert("rules".into(), Value::Array(broken.iter().map(|r| json!(r.name())).collect()));
        Err(ApiError::Validation { field: "password", rule: first.name(), message: self.message(*first), data })
    }

    fn message(&self, rule: PasswordRule) -> String {
        match rule {
            PasswordRule::MinLength => format!("The password must be at least {} characters long.", self.min_chars),
            PasswordRule::MaxLength => {
                format!("The password must be at most {} characters long.", self.max_chars.unwrap_or(0))
            }
            PasswordRule::Digit => "The password must contain at least one digit.".into(),
            PasswordRule::Letter => "The password must contain at least one letter.".into(),
            PasswordRule::Lowercase => "The password must contain a lowercase letter.".into(),
            PasswordRule::Uppercase => "The password must contain an uppercase letter.".into(),
            PasswordRule::Symbol => "The password must contain a symbol, such as ! @ # $.".into(),
            PasswordRule::PhoneNumber => "The password must not be or contain the phone number.".into(),
            PasswordRule::TooSimple => "The password is too simple. Choose one that is harder to guess.".into(),
        }
    }
}

/// True when the password is the phone number in any spelling or contains its national digits.
fn contains_phone(password: &str, phone: &PhoneNumber) -> bool {
    let digits: String = password.chars().filter(char::is_ascii_digit).collect();
    let e164_digits = &phone.e164()[1..];
    let national = phone.national_digits();
    digits == e164_digits || digits == format!("0{national}") || password.contains(national)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone() -> PhoneNumber {
        PhoneNumber::parse("+447871234567").unwrap()
    }

    fn broken(policy: &PasswordPolicy, password: &str) -> Vec<&'static str> {
        let phone = phone();
        let password = Password::new(password.to_owned()).unwrap();
        policy.broken_rules(&password, &PasswordContext { phone: &phone }).into_iter().map(PasswordRule::name).collect()
    }

    #[test]
    fn seed_000_example_password_is_accepted() {
        assert!(broken(&PasswordPolicy::default(), "1234Qwerty").is_empty());
    }

    #[test]
    fn every_seed_000_rule_is_enforced() {
        let policy = PasswordPolicy::default();
        assert_eq!(broken(&policy, "Ab1x"), ["min_length"]);
        assert_eq!(broken(&policy, "Correct-Horse-Battery"), ["digit"]);
        assert_eq!(broken(&policy, "8302-9917-4410"), ["letter"]);
        assert_eq!(broken(&policy, "+447871234567"), ["letter", "phone_number"]);
        assert_eq!(broken(&policy, "me7871234567x"), ["phone_number"]);
        assert_eq!(broken(&policy, "12345678"), ["letter", "too_simple"]);
        assert_eq!(broken(&policy, "aaaa1111"), ["too_simple"]);
        assert_eq!(broken(&policy, "qwerty123"), ["too_simple"]);
        assert_eq!(broken(&policy, "password1"), ["too_simple"]);
    }

    #[test]
    fn long_passphrases_and_unicode_letters_are_accepted() {
        let policy = PasswordPolicy::default();
        assert!(broken(&policy, &format!("{}7", "ünïcødé lëttërs ".repeat(4))).is_empty());
    }

    #[test]
    fn seed_003_policy_needs_cases_symbol_and_bounded_length() {
        let policy = PasswordPolicy::seed_003();
        assert!(broken(&policy, "A9#bL8@z").is_empty());
        assert_eq!(broken(&policy, "a9#bl8@z"), ["uppercase"]);
        assert_eq!(broken(&policy, "A9bL8zzQ"), ["symbol"]);
        assert_eq!(broken(&policy, &format!("A9#b{}", "x".repeat(40))), ["max_length"]);
    }

    #[test]
    fn check_reports_first_rule_and_all_rules() {
        let phone = phone();
        let password = Password::new("short".into()).unwrap();
        let err = PasswordPolicy::default().check(&password, &PasswordContext { phone: &phone }).unwrap_err();
        let body = err.envelope();
        assert_eq!(body["field"], "password");
        assert_eq!(body["data"]["rule"], "min_length");
        assert_eq!(body["data"]["rules"], json!(["min_length", "digit"]));
    }

    #[test]
    fn oversized_password_is_refused_before_hashing() {
        assert!(Password::new("a1".repeat(600)).is_err());
        assert!(Password::new("a1".repeat(500)).is_ok());
    }
}
