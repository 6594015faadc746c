//! Configuration, read from the environment once per cold start. A missing or malformed value stops
//! the function at init with a message that says which variable is wrong.

use crate::adapters::https::TrustRoots;
use crate::admission::rate_limit::RateLimits;
use crate::security::code::Peppers;
use crate::security::tokens::{KeyError, PublicKey};

/// A pepper shorter than this would make code MACs guessable offline from a table dump.
pub const MIN_PEPPER_BYTES: usize = 32;
pub const DEFAULT_AUDIENCE: &str = "registration";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {why}")]
    Invalid { name: &'static str, why: String },
    #[error("the signing key is invalid: {0}")]
    Key(#[from] KeyError),
    /// A key or secret named by the configuration could not be read at init: AWS unreachable.
    #[error("{0}")]
    Unreadable(String),
    /// A key or secret named by the configuration was read and cannot serve (not a P-256 signing
    /// key, a pepper too short): the configuration is wrong, and trying again will not mend it.
    #[error("{0}")]
    Unsuitable(String),
}

impl From<crate::adapters::ReadError> for ConfigError {
    fn from(err: crate::adapters::ReadError) -> Self {
        match err {
            crate::adapters::ReadError::Unreachable(why) => ConfigError::Unreadable(why),
            crate::adapters::ReadError::Unsuitable(why) => ConfigError::Unsuitable(why),
        }
    }
}

/// What every function needs.
pub struct Config {
    pub table_name: String,
    /// Only the functions that seal or check codes have it (`CODE_PEPPER_SECRET_ARN`, read by
    /// `App::from_env`); without it, codes are sealed with a key no other process holds.
    pub code_pepper: Option<Peppers>,
    pub sms_sender_id: Option<String>,
    pub rate_limits: RateLimits,
    /// The KMS key that seals second-factor secrets (`FACTOR_KEY_ARN`): only the token function has
    /// it; a function without it can open none, and a sign-in that needs a factor answers 503.
    pub factor_key_arn: Option<String>,
}

/// Where values come from: the process environment in production, a map in tests.
pub trait Source {
    fn get(&self, name: &str) -> Option<String>;
}

pub struct Environment;

impl Source for Environment {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

impl<const N: usize> Source for [(&str, &str); N] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }
}

fn required(source: &impl Source, name: &'static str) -> Result<String, ConfigError> {
    source.get(name).ok_or(ConfigError::Missing(name))
}

impl Config {
    /// Everything but the pepper, which `App::from_env` reads from Secrets Manager.
    pub fn load(source: &impl Source) -> Result<Self, ConfigError> {
        Ok(Config {
            table_name: required(source, "TABLE_NAME")?,
            code_pepper: None,
            sms_sender_id: source.get("SMS_SENDER_ID"),
            factor_key_arn: source.get("FACTOR_KEY_ARN"),
            rate_limits: source.get("RATE_LIMITS").map(|text| rate_limits(&text)).transpose()?.unwrap_or_default(),
        })
    }
}

/// `CODE_PEPPER_SECRET_ARN`: the Secrets Manager secret holding the code pepper, for the functions
/// that seal or check codes.
pub fn code_pepper_secret(source: &impl Source) -> Result<Option<String>, ConfigError> {
    source
        .get("CODE_PEPPER_SECRET_ARN")
        .map(|arn| {
            if arn.starts_with("arn:") && arn.contains(":secretsmanager:") {
                Ok(arn)
            } else {
                Err(ConfigError::Invalid { name: "CODE_PEPPER_SECRET_ARN", why: "not a Secrets Manager ARN".into() })
            }
        })
        .transpose()
}

/// `RATE_LIMITS=send=30,verify=30,refresh=150,contact=10,phones=3,emails=3`: the per-IP limits per
/// window and the per-account daily recipients, for a local stack whose every request comes from
/// one address (the defaults of `RateLimits` when unset).
fn rate_limits(text: &str) -> Result<RateLimits, ConfigError> {
    let invalid = |why: String| ConfigError::Invalid { name: "RATE_LIMITS", why };
    let mut limits = RateLimits::default();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (class, value) = entry.split_once('=').ok_or_else(|| invalid(format!("{entry:?} is not class=number")))?;
        let value: u64 = value.trim().parse().map_err(|_| invalid(format!("{entry:?} is not class=number")))?;
        match class.trim() {
            "send" => limits.send = value,
            "verify" => limits.verify = value,
            "refresh" => limits.refresh = value,
            "contact" => limits.contact = value,
            "phones" => limits.phones_per_account = value,
            "emails" => limits.emails_per_account = value,
            other => {
                return Err(invalid(format!(
                    "unknown class {other:?}; use send, verify, refresh, contact, phones, emails"
                )));
            }
        }
    }
    Ok(limits)
}

/// `AWS_TRUST_ROOTS`: which roots the SDK's HTTPS connections trust; `amazon` (the default) or
/// `system` (adapters/https.rs says why).
pub fn trust_roots(source: &impl Source) -> Result<TrustRoots, ConfigError> {
    match source.get("AWS_TRUST_ROOTS").as_deref() {
        None | Some("amazon") => Ok(TrustRoots::AmazonTrustServices),
        Some("system") => Ok(TrustRoots::System),
        Some(_) => Err(ConfigError::Invalid { name: "AWS_TRUST_ROOTS", why: "must be amazon or system".into() }),
    }
}

/// Where access tokens come from and who they are for. Key ARNs and public keys only: the private
/// key stays in KMS, and the public keys come with the deploy, so no function reads KMS at init.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSettings {
    pub issuer: String,
    pub audience: String,
    /// `SIGNING_KEY_ARN`: the KMS key that signs, set only for the functions that mint tokens; in
    /// the sealed mode, the symmetric KMS key that sealed the signing key.
    pub signing_key_arn: Option<String>,
    /// `SEALED_SIGNING_KEY`: the sealed mode (docs/capacity.md, "Past the KMS ceiling"): a P-256
    /// key sealed by `SIGNING_KEY_ARN`, opened once at cold start, that signs in the process.
    pub sealed_signing_key: Option<SealedSigningKey>,
    /// `TOKEN_PUBLIC_KEYS`: the public halves of the keys whose tokens verify, current first, then
    /// those rotated out, as `kid:point` (comma-separated). `keys rotate` writes them into the
    /// stage's parameters; the JWKS publishes them.
    pub public_keys: Vec<PublicKey>,
}

impl TokenSettings {
    pub fn load(source: &impl Source) -> Result<Self, ConfigError> {
        let signing_key_arn =
            source.get("SIGNING_KEY_ARN").map(|arn| kms_key_arn("SIGNING_KEY_ARN", arn)).transpose()?;
        let public_keys = token_public_keys(&source.get("TOKEN_PUBLIC_KEYS").unwrap_or_default())?;
        if public_keys.is_empty() {
            return Err(ConfigError::Missing("TOKEN_PUBLIC_KEYS"));
        }
        let sealed_signing_key =
            source.get("SEALED_SIGNING_KEY").map(|text| SealedSigningKey::parse(&text)).transpose()?;
        if let Some(arn) = &signing_key_arn {
            // The key that signs must be the first one published, or its tokens would not verify.
            let key_id = match &sealed_signing_key {
                Some(sealed) => sealed.kid.as_str(),
                None => arn.rsplit('/').next().unwrap_or_default(),
            };
            if public_keys[0].kid() != key_id {
                return Err(ConfigError::Invalid {
                    name: "TOKEN_PUBLIC_KEYS",
                    why: format!(
                        "its first key is {}, not the signing key {key_id}: run `keys rotate`",
                        public_keys[0].kid()
                    ),
                });
            }
        }
        Ok(TokenSettings {
            issuer: required(source, "TOKEN_ISSUER")?,
            audience: source.get("TOKEN_AUDIENCE").unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned()),
            signing_key_arn,
            sealed_signing_key,
            public_keys,
        })
    }
}

/// A signing key sealed by KMS: its `kid`, and the ciphertext `kms:Encrypt` made of its PKCS#8 under
/// the encryption context `SealedSigningKey::context`. Not a secret: only `kms:Decrypt` on the
/// sealing key, with that context, opens it. Written `kid:<base64>` by `keys signing-rotate --sealed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSigningKey {
    pub kid: String,
    pub ciphertext: Vec<u8>,
}

impl SealedSigningKey {
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        use base64::Engine;
        let invalid = |why: &str| ConfigError::Invalid { name: "SEALED_SIGNING_KEY", why: why.to_owned() };
        let (kid, blob) = text.trim().split_once(':').ok_or_else(|| invalid("must be kid:<base64>"))?;
        if kid.is_empty() || !kid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(invalid("the kid must be letters, digits and dashes"));
        }
        let ciphertext = base64::engine::general_purpose::STANDARD.decode(blob).map_err(|_| invalid("not base64"))?;
        Ok(SealedSigningKey { kid: kid.to_owned(), ciphertext })
    }

    pub fn to_parameter(&self) -> String {
        use base64::Engine;
        format!("{}:{}", self.kid, base64::engine::general_purpose::STANDARD.encode(&self.ciphertext))
    }

    /// The encryption context the key is sealed under: KMS opens it only for this purpose and kid.
    pub fn context(kid: &str) -> [(&'static str, String); 2] {
        [("purpose", "registration-token-signing".to_owned()), ("kid", kid.to_owned())]
    }
}

/// `kid:point,kid:point`: at least one key, no kid twice.
pub fn token_public_keys(text: &str) -> Result<Vec<PublicKey>, ConfigError> {
    let mut keys: Vec<PublicKey> = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let key = PublicKey::from_parameter(entry).map_err(|e| ConfigError::Invalid {
            name: "TOKEN_PUBLIC_KEYS",
            why: format!("{}: {e}", entry.split(':').next().unwrap_or_default()),
        })?;
        if keys.iter().any(|k| k.kid() == key.kid()) {
            return Err(ConfigError::Invalid {
                name: "TOKEN_PUBLIC_KEYS",
                why: format!("{} is listed twice", key.kid()),
            });
        }
        keys.push(key);
    }
    Ok(keys)
}

/// `arn:<partition>:kms:<region>:<account>:key/<key id>`: a key, not an alias, because IAM grants
/// `kms:Sign` on key ARNs.
fn kms_key_arn(name: &'static str, arn: String) -> Result<String, ConfigError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let valid = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "kms"
        && !parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].strip_prefix("key/").is_some_and(|id| !id.is_empty() && !id.contains('/'));
    if valid { Ok(arn) } else { Err(ConfigError::Invalid { name, why: format!("{arn:?} is not a KMS key ARN") }) }
}

/// `SMS_FACTOR_ENROLMENT` (`on` or `off`, the template's `SmsFactorEnrolment`): whether this stack
/// takes new SMS-factor enrolments. Off until every function that enforces codes by SMS is live
/// (docs/factors.md, "Deploying these releases"): a canary's old token function would otherwise
/// sign such an account in on the password alone. Unset is off.
pub fn sms_factor_enrolment(source: &impl Source) -> Result<bool, ConfigError> {
    match source.get("SMS_FACTOR_ENROLMENT").as_deref() {
        None | Some("off") => Ok(false),
        Some("on") => Ok(true),
        Some(_) => Err(ConfigError::Invalid { name: "SMS_FACTOR_ENROLMENT", why: "must be on or off".into() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sms_factor_enrolment_is_off_unless_turned_on() {
        assert!(!sms_factor_enrolment(&[("TABLE_NAME", "t")]).unwrap());
        assert!(!sms_factor_enrolment(&[("SMS_FACTOR_ENROLMENT", "off")]).unwrap());
        assert!(sms_factor_enrolment(&[("SMS_FACTOR_ENROLMENT", "on")]).unwrap());
        assert!(sms_factor_enrolment(&[("SMS_FACTOR_ENROLMENT", "yes")]).is_err());
    }

    #[test]
    fn the_sdk_trusts_amazon_roots_unless_told_to_use_the_system_store() {
        assert_eq!(trust_roots(&[("TABLE_NAME", "t")]).unwrap(), TrustRoots::AmazonTrustServices);
        assert_eq!(trust_roots(&[("AWS_TRUST_ROOTS", "system")]).unwrap(), TrustRoots::System);
        assert!(trust_roots(&[("AWS_TRUST_ROOTS", "none")]).is_err());
    }

    #[test]
    fn rate_limits_default_to_the_targets_and_can_be_raised_per_class() {
        assert_eq!(rate_limits("").unwrap(), RateLimits::default());
        let raised = rate_limits("send=1000, refresh=5000").unwrap();
        assert_eq!((raised.send, raised.verify, raised.refresh), (1000, 30, 5000));
        assert!(rate_limits("send=lots").is_err());
        assert!(rate_limits("signup=5").is_err());
    }

    const KEY: &str = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

    #[test]
    fn loads_required_values() {
        let config = Config::load(&[("TABLE_NAME", "t")]).unwrap();
        assert_eq!(config.table_name, "t");
        assert!(config.code_pepper.is_none());
        assert!(config.sms_sender_id.is_none());
    }

    fn published(kid: &str) -> String {
        let point = crate::security::tokens::SigningKey::generate(kid).unwrap().public_jwk();
        let (x, y) = (point["x"].as_str().unwrap(), point["y"].as_str().unwrap());
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut raw = vec![4u8];
        raw.extend(engine.decode(x).unwrap());
        raw.extend(engine.decode(y).unwrap());
        crate::security::tokens::PublicKey::from_point(kid, &raw).unwrap().to_parameter()
    }

    #[test]
    fn token_settings_take_public_keys_current_first_and_the_signer_must_lead() {
        let (current, old) = (published(KEY_ID), published("0000abcd"));
        let keys = format!("{current}, {old}");
        let settings =
            TokenSettings::load(&[("TOKEN_PUBLIC_KEYS", keys.as_str()), ("TOKEN_ISSUER", "https://api.example")])
                .unwrap();
        assert_eq!(settings.public_keys.iter().map(|k| k.kid()).collect::<Vec<_>>(), [KEY_ID, "0000abcd"]);
        assert_eq!(settings.signing_key_arn, None);
        assert_eq!(settings.audience, DEFAULT_AUDIENCE);
        let signer = TokenSettings::load(&[
            ("SIGNING_KEY_ARN", KEY),
            ("TOKEN_PUBLIC_KEYS", keys.as_str()),
            ("TOKEN_ISSUER", "i"),
        ])
        .unwrap();
        assert_eq!(signer.signing_key_arn.as_deref(), Some(KEY));
        // The old key first: the signer's tokens would not verify anywhere.
        let swapped = format!("{old},{current}");
        let refused = TokenSettings::load(&[
            ("SIGNING_KEY_ARN", KEY),
            ("TOKEN_PUBLIC_KEYS", swapped.as_str()),
            ("TOKEN_ISSUER", "i"),
        ])
        .unwrap_err();
        assert!(refused.to_string().contains("TOKEN_PUBLIC_KEYS"), "{refused}");
        let twice = format!("{current},{current}");
        assert!(token_public_keys(&twice).is_err());
        assert!(token_public_keys("k:AAAA").is_err());
        assert!(token_public_keys("no-colon").is_err());
    }

    #[test]
    fn names_the_variable_at_fault() {
        let missing = Config::load(&[("SMS_SENDER_ID", "x")]).err().unwrap();
        assert!(missing.to_string().contains("TABLE_NAME"));
        for (name, value) in [
            ("SIGNING_KEY_ARN", "arn:aws:kms:eu-west-1:123456789012:alias/tokens"),
            ("SIGNING_KEY_ARN", "not-an-arn"),
            ("TOKEN_PUBLIC_KEYS", "k:not-a-point"),
        ] {
            let keys = published(KEY_ID);
            let refused =
                TokenSettings::load(&[(name, value), ("TOKEN_PUBLIC_KEYS", keys.as_str()), ("TOKEN_ISSUER", "i")])
                    .err()
                    .unwrap();
            assert!(refused.to_string().contains(name), "{refused}");
        }
        let none = TokenSettings::load(&[("TOKEN_ISSUER", "i")]).err().unwrap();
        assert!(none.to_string().contains("TOKEN_PUBLIC_KEYS"), "{none}");
        let pepper = code_pepper_secret(&[("CODE_PEPPER_SECRET_ARN", "c2hvcnQ=")]).err().unwrap();
        assert!(pepper.to_string().contains("CODE_PEPPER_SECRET_ARN"));
    }
}
