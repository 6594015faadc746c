//! One password policy type and the one place that evaluates it. The default is seed 000's; seed
//! 003's stricter policy is the other named preset a partner can choose.

use serde_json::{Map, Value, json};

use super::password::Password;
use super::personal_details::PersonalDetails;
use super::phone::PhoneNumber;
use super::simple_password::is_too_simple;
use crate::error::ApiError;
use crate::security::password_hash::PasswordHasher;

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
    PersonalInfo,
    TooSimple,
    Reused,
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
            PasswordRule::PersonalInfo => "personal_info",
            PasswordRule::TooSimple => "too_simple",
            PasswordRule::Reused => "reused",
        }
    }
}

/// How many passwords (the current one included) may not be chosen again (seed 000).
pub const HISTORY_LEN: usize = 5;

/// The history after `new_hash` becomes the password: newest first, at most five.
pub fn next_history(new_hash: String, history: &[String]) -> Vec<String> {
    std::iter::once(new_hash).chain(history.iter().cloned()).take(HISTORY_LEN).collect()
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
    /// `None` for an email-first account that has not added a phone.
    pub phone: Option<&'a PhoneNumber>,
    pub details: Option<&'a PersonalDetails>,
    pub email: Option<&'a str>,
}

impl<'a> PasswordContext<'a> {
    /// At signup only the phone is known.
    pub fn for_phone(phone: &'a PhoneNumber) -> Self {
        PasswordContext { phone: Some(phone), details: None, email: None }
    }

    /// At email-first signup only the address is known.
    pub fn for_email(email: &'a str) -> Self {
        PasswordContext { phone: None, details: None, email: Some(email) }
    }
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
        check(!context.phone.is_some_and(|phone| contains_phone(text, phone)), PasswordRule::PhoneNumber);
        check(!contains_personal_info(text, context), PasswordRule::PersonalInfo);
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

    /// The password is none of the last five (Argon2 verifies against each stored hash).
    pub async fn check_not_reused(
        &self,
        hasher: &PasswordHasher,
        password: &Password,
        history: &[String],
    ) -> Result<(), ApiError> {
        for hash in history.iter().take(HISTORY_LEN) {
            if hasher.verify(password, hash).await? {
                let rule = PasswordRule::Reused;
                let data = Map::from_iter([("rules".to_owned(), json!([rule.name()]))]);
                return Err(ApiError::Validation {
                    field: "password",
                    rule: rule.name(),
                    message: self.message(rule),
                    data,
                });
            }
        }
        Ok(())
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
            PasswordRule::PersonalInfo => {
                "The password must not contain your name, birth date or email address.".into()
            }
            PasswordRule::Reused => "The password must not be one of your last five passwords.".into(),
            PasswordRule::TooSimple => "The password is too simple. Choose one that is harder to guess.".into(),
        }
    }
}

/// A password as a guesser sees it: lowercase, with the usual look-alike substitutions undone.
fn fold(text: &str, one_as: char) -> String {
    text.to_lowercase()
        .chars()
        .map(|c| match c {
            '0' => 'o',
            '1' | '!' | '|' => one_as,
            '3' => 'e',
            '4' | '@' => 'a',
            '5' | '$' => 's',
            '7' => 't',
            other => other,
        })
        .collect()
}

/// Names (each part of three letters or more), the email's local part (and its parts), and the
/// birth date as 8- or 6-digit spellings, anywhere in the password.
fn contains_personal_info(password: &str, context: &PasswordContext<'_>) -> bool {
    let mut words: Vec<String> = Vec::new();
    if let Some(details) = context.details {
        for name in [&details.first_name, &details.last_name].into_iter().flatten() {
            words.extend(name.split([' ', '-', '\'', '.']).map(str::to_lowercase));
        }
    }
    if let Some(email) = context.email {
        let local = email.split('@').next().unwrap_or_default().to_lowercase();
        words.extend(local.split(['.', '_', '-', '+']).map(str::to_owned));
        words.push(local);
    }
    let folded = [fold(password, 'i'), fold(password, 'l')];
    if words.iter().filter(|w| w.chars().count() >= 3).any(|w| folded.iter().any(|f| f.contains(w.as_str()))) {
        return true;
    }
    let digits: String = password.chars().filter(char::is_ascii_digit).collect();
    let birth = context.details.and_then(|d| d.birth_date.as_deref()).unwrap_or_default();
    let [year, month, day] = match birth.split('-').collect::<Vec<_>>()[..] {
        [y, m, d] if y.len() == 4 => [y, m, d],
        _ => return false,
    };
    // `year` is four bytes but not necessarily four ASCII digits: slice only where it is safe.
    let Some(yy) = year.get(2..) else { return false };
    [
        format!("{year}{month}{day}"),
        format!("{day}{month}{year}"),
        format!("{month}{day}{year}"),
        format!("{day}{month}{yy}"),
        format!("{month}{day}{yy}"),
        format!("{yy}{month}{day}"),
    ]
    .iter()
    .any(|spelling| digits.contains(spelling.as_str()))
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
        policy
            .broken_rules(&password, &PasswordContext::for_phone(&phone))
            .into_iter()
            .map(PasswordRule::name)
            .collect()
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
        let err = PasswordPolicy::default().check(&password, &PasswordContext::for_phone(&phone)).unwrap_err();
        let body = err.envelope();
        assert_eq!(body["field"], "password");
        assert_eq!(body["data"]["rule"], "min_length");
        assert_eq!(body["data"]["rules"], json!(["min_length", "digit"]));
    }

    fn details() -> PersonalDetails {
        PersonalDetails {
            first_name: Some("Anabela".into()),
            last_name: Some("Rocha-Lima".into()),
            birth_date: Some("1990-04-23".into()),
            ..Default::default()
        }
    }

    #[test]
    fn personal_information_is_refused_in_common_disguises() {
        let phone = phone();
        let details = details();
        let context =
            PasswordContext { phone: Some(&phone), details: Some(&details), email: Some("ana.rocha@example.com") };
        let policy = PasswordPolicy::default();
        let broken = |p: &str| {
            policy
                .broken_rules(&Password::new(p.to_owned()).unwrap(), &context)
                .into_iter()
                .map(PasswordRule::name)
                .collect::<Vec<_>>()
        };
        for password in [
            "Anabela-2024",
            "x4n4b3l4x9",
            "myrocha99!",
            "LIMA-lima-77",
            "k23041990k",
            "pw19900423",
            "zz230490zz",
            "ana.rocha1",
        ] {
            assert!(broken(password).contains(&"personal_info"), "{password}");
        }
        assert!(broken("tram-lamp-58-violet").is_empty());
    }

    #[test]
    fn history_keeps_the_newest_five() {
        let history: Vec<String> = (1..=5).map(|i| format!("h{i}")).collect();
        assert_eq!(next_history("h0".into(), &history), ["h0", "h1", "h2", "h3", "h4"]);
    }

    #[test]
    fn oversized_password_is_refused_before_hashing() {
        assert!(Password::new("a1".repeat(600)).is_err());
        assert!(Password::new("a1".repeat(500)).is_ok());
    }
}
