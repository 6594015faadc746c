//! A partner (merchant) as the registry holds it: who may call, in which mode, and with which
//! limits. Every request names one in `X-Merchant-ID`; nothing is served for a partner that is not
//! registered and active.

use std::fmt;

use zeroize::Zeroizing;

use super::password_policy::PasswordPolicy;
use super::phone::PhoneNumber;
use super::sumsub::{SumsubMode, SumsubSettings};
use crate::error::ApiError;
use crate::factors::policy::SecondFactorPolicy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartnerStatus {
    Active,
    Disabled,
}

impl PartnerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PartnerStatus::Active => "active",
            PartnerStatus::Disabled => "disabled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "active" => Some(PartnerStatus::Active),
            "disabled" => Some(PartnerStatus::Disabled),
            _ => None,
        }
    }
}

/// The named password policies a partner can choose (seed 000's is the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PolicyName {
    #[default]
    Seed000,
    Seed003,
}

impl PolicyName {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyName::Seed000 => "seed000",
            PolicyName::Seed003 => "seed003",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "seed000" | "default" => Some(PolicyName::Seed000),
            "seed003" => Some(PolicyName::Seed003),
            _ => None,
        }
    }

    pub fn policy(self) -> PasswordPolicy {
        match self {
            PolicyName::Seed000 => PasswordPolicy::default(),
            PolicyName::Seed003 => PasswordPolicy::seed_003(),
        }
    }
}

/// The HMAC key a partner signs its requests with. Never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(Zeroizing<String>);

impl SigningSecret {
    /// 32 random bytes, hex: easy to paste into `openssl dgst -hmac`.
    pub fn generate() -> Self {
        SigningSecret(Zeroizing::new(crate::security::random::hex(&crate::security::random::bytes::<32>())))
    }

    pub fn from_stored(text: String) -> Self {
        SigningSecret(Zeroizing::new(text))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret(<redacted>)")
    }
}

/// An ISO 3166-1 alpha-2 code, upper case: the countries whose numbers a partner may send SMS to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CountryCode(String);

impl CountryCode {
    pub fn parse(text: &str) -> Result<Self, String> {
        let code = text.trim().to_ascii_uppercase();
        if code.parse::<phonenumber::country::Id>().is_err() {
            return Err(format!("{text:?} is not an ISO 3166-1 alpha-2 country code with phone numbers"));
        }
        Ok(CountryCode(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partner {
    /// Lowercase hyphenated UUID, as `X-Merchant-ID` is normalised.
    pub id: String,
    pub name: String,
    pub status: PartnerStatus,
    /// Fixed at creation: a sandbox partner's users and tokens can never become live ones.
    pub sandbox: bool,
    pub password_policy: PolicyName,
    /// Numbers outside these countries are refused before any SMS is sent. Never empty for a
    /// partner that sends SMS: there is no "everywhere" (SMS pumping targets expensive routes).
    pub sms_countries: Vec<CountryCode>,
    /// SMS per UTC day across all of the partner's users; 0 sends none.
    pub daily_sms_budget: u32,
    pub signing_secret: Option<SigningSecret>,
    /// Overrides the deployment's `EMAIL_SENDER` for this partner's emails.
    pub email_sender: Option<String>,
    /// Overrides the deployment's `PUBLIC_BASE_URL` for this partner's links.
    pub public_base_url: Option<String>,
    /// Tell users when their account is signed in to from a device (`X-Fingerprint`) it had not
    /// used before. Off unless the partner turns it on: apps that send no fingerprint, or a new one
    /// per install, would tell users too often.
    pub new_device_notices: bool,
    /// Second factors: `off` (no enrolment), `optional` (the default), or `required` (a user
    /// without a factor may only enrol one, and sign out, until they do). An enrolled factor is
    /// asked for under every policy (`factors::policy`).
    pub second_factor: SecondFactorPolicy,
    /// The partner calls from its own backend and passes each end user's address in
    /// `X-End-User-Address`, covered by its request signature (admission/signature.rs): the per-IP
    /// limits then count that address, not the backend's. Needs a signing secret; off by default.
    pub forwards_end_user_address: bool,
    /// Identity verification with Sumsub after KYC_0; `None` is mode "off".
    pub sumsub: Option<SumsubSettings>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a sandbox partner's users type instead of a real code (seed 003).
pub const SANDBOX_CODE: &str = "12345";

pub const MAX_NAME_LEN: usize = 100;

impl Partner {
    pub fn is_active(&self) -> bool {
        self.status == PartnerStatus::Active
    }

    pub fn password_policy(&self) -> PasswordPolicy {
        self.password_policy.policy()
    }

    /// Refuses a number this partner may not send SMS to, before anything is stored or sent.
    pub fn check_sms_country(&self, phone: &PhoneNumber) -> Result<(), ApiError> {
        let allowed = phone.country().is_some_and(|c| self.sms_countries.iter().any(|a| a.as_str() == c));
        if allowed {
            return Ok(());
        }
        Err(ApiError::SmsCountryNotAllowed {
            allowed: self.sms_countries.iter().map(|c| c.as_str().to_owned()).collect(),
        })
    }

    /// Every rule a stored partner must satisfy; the admin program runs it before each write.
    pub fn validate(&self) -> Result<(), String> {
        if uuid::Uuid::try_parse(&self.id).map(|u| u.hyphenated().to_string()) != Ok(self.id.clone()) {
            return Err(format!("id {:?} must be a lowercase hyphenated UUID", self.id));
        }
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_LEN || name.chars().any(char::is_control) {
            return Err(format!("name must be 1 to {MAX_NAME_LEN} printable characters"));
        }
        if self.sms_countries.is_empty() {
            return Err("sms countries must list at least one country (for example GB,DE)".into());
        }
        if let Some(sender) = &self.email_sender
            && crate::domain::email::EmailAddress::parse(sender).is_err()
        {
            return Err(format!("email sender {sender:?} is not an email address"));
        }
        if let Some(url) = &self.public_base_url {
            validate_base_url(url)?;
        }
        if let Some(sumsub) = &self.sumsub {
            sumsub.validate()?;
            // A sandbox partner's users are never real, and a live partner's always are.
            if self.sandbox != (sumsub.mode == SumsubMode::Sandbox) {
                return Err(
                    "a sandbox partner's Sumsub mode is sandbox (or off), a live partner's live (or off)".into()
                );
            }
        }
        Ok(())
    }
}

pub fn validate_base_url(url: &str) -> Result<(), String> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !url.contains(char::is_whitespace) => Ok(()),
        _ => Err(format!("public base URL {url:?} must be an http(s) URL")),
    }
}

/// A live partner for unit tests: GB only, 10 SMS a day.
#[cfg(test)]
pub(crate) fn test_partner() -> Partner {
    Partner {
        id: "6f1c2d3e-4b5a-4978-8a9b-0c1d2e3f4a5b".into(),
        name: "Shop".into(),
        status: PartnerStatus::Active,
        sandbox: false,
        password_policy: PolicyName::Seed000,
        sms_countries: vec![CountryCode::parse("gb").unwrap()],
        daily_sms_budget: 10,
        signing_secret: None,
        email_sender: None,
        public_base_url: None,
        new_device_notices: false,
        second_factor: SecondFactorPolicy::Optional,
        forwards_end_user_address: false,
        sumsub: None,
        created_at: 0,
        updated_at: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_allow_list_decides_by_the_numbers_country() {
        let p = test_partner();
        assert!(p.check_sms_country(&PhoneNumber::parse("+447871234567").unwrap()).is_ok());
        let err = p.check_sms_country(&PhoneNumber::parse("+4915112345678").unwrap()).unwrap_err();
        assert_eq!(err.envelope()["data"]["allowedCountries"], serde_json::json!(["GB"]));
    }

    #[test]
    fn country_codes_are_checked() {
        assert_eq!(CountryCode::parse(" de ").unwrap().as_str(), "DE");
        assert!(CountryCode::parse("XX").is_err());
        assert!(CountryCode::parse("GBR").is_err());
    }

    #[test]
    fn validation_names_what_is_wrong() {
        assert!(test_partner().validate().is_ok());
        let mut p = test_partner();
        p.id = p.id.to_uppercase();
        assert!(p.validate().unwrap_err().contains("UUID"));
        let mut p = test_partner();
        p.sms_countries.clear();
        assert!(p.validate().unwrap_err().contains("country"));
        let mut p = test_partner();
        p.public_base_url = Some("ftp://x".into());
        assert!(p.validate().is_err());
        let mut p = test_partner();
        p.email_sender = Some("nobody".into());
        assert!(p.validate().is_err());
    }

    #[test]
    fn secrets_do_not_print() {
        let secret = SigningSecret::generate();
        assert_eq!(secret.expose().len(), 64);
        assert!(!format!("{secret:?}").contains(secret.expose()));
    }
}
