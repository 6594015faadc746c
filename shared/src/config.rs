//! Configuration, read from the environment once per cold start. A missing or malformed value stops
//! the function at init with a message that says which variable is wrong.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::adapters::https::TrustRoots;
use crate::admission::rate_limit::RateLimits;
use crate::security::tokens::{KeyError, SigningKey, TokenIssuer};

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
}

/// What every function needs.
pub struct Config {
    pub table_name: String,
    pub code_pepper: Zeroizing<Vec<u8>>,
    pub sms_sender_id: Option<String>,
    pub rate_limits: RateLimits,
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

fn base64_secret(source: &impl Source, name: &'static str) -> Result<Zeroizing<Vec<u8>>, ConfigError> {
    let text = Zeroizing::new(required(source, name)?);
    STANDARD
        .decode(text.trim())
        .map(Zeroizing::new)
        .map_err(|_| ConfigError::Invalid { name, why: "not base64".into() })
}

impl Config {
    pub fn load(source: &impl Source) -> Result<Self, ConfigError> {
        let code_pepper = base64_secret(source, "CODE_PEPPER")?;
        if code_pepper.len() < MIN_PEPPER_BYTES {
            return Err(ConfigError::Invalid {
                name: "CODE_PEPPER",
                why: format!("must decode to at least {MIN_PEPPER_BYTES} bytes"),
            });
        }
        Ok(Config {
            table_name: required(source, "TABLE_NAME")?,
            code_pepper,
            sms_sender_id: source.get("SMS_SENDER_ID"),
            rate_limits: source.get("RATE_LIMITS").map(|text| rate_limits(&text)).transpose()?.unwrap_or_default(),
        })
    }
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

/// The token keys: `SIGNING_KEY` is a base64 P-256 PKCS#8 DER key and `SIGNING_KEY_ID` its `kid`;
/// `PREVIOUS_SIGNING_KEYS` (optional) lists retired keys as `kid:base64,kid:base64`, which still
/// verify (and appear in the JWKS) but never sign, so a key rotation logs nobody out.
pub fn token_issuer(source: &impl Source) -> Result<TokenIssuer, ConfigError> {
    let der = base64_secret(source, "SIGNING_KEY")?;
    let key = SigningKey::from_pkcs8_der(&required(source, "SIGNING_KEY_ID")?, &der)?;
    let issuer = required(source, "TOKEN_ISSUER")?;
    let audience = source.get("TOKEN_AUDIENCE").unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned());
    let previous =
        source.get("PREVIOUS_SIGNING_KEYS").map(|list| previous_keys(&list)).transpose()?.unwrap_or_default();
    Ok(TokenIssuer::new(key, issuer, audience).with_previous(previous))
}

fn previous_keys(list: &str) -> Result<Vec<SigningKey>, ConfigError> {
    let invalid = |why: &str| ConfigError::Invalid { name: "PREVIOUS_SIGNING_KEYS", why: why.to_owned() };
    list.split(',')
        .filter(|entry| !entry.trim().is_empty())
        .map(|entry| {
            let (kid, key) = entry.trim().split_once(':').ok_or_else(|| invalid("each entry is kid:base64"))?;
            let der = Zeroizing::new(STANDARD.decode(key).map_err(|_| invalid("a key is not base64"))?);
            Ok(SigningKey::from_pkcs8_der(kid, &der)?)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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

    const PEPPER: &str = "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=";

    #[test]
    fn loads_required_values() {
        let config = Config::load(&[("TABLE_NAME", "t"), ("CODE_PEPPER", PEPPER)]).unwrap();
        assert_eq!(config.table_name, "t");
        assert_eq!(config.code_pepper.len(), 32);
        assert!(config.sms_sender_id.is_none());
    }

    /// A throwaway key made as docs/deploy.md tells operators to:
    /// `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 | openssl pkcs8 -topk8 -nocrypt -outform DER | base64 -w0`
    const OPENSSL_KEY: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgrOJwxnbuJo6/osdL/APUXvkoGPUiVO+s+a3M2ja3P9yhRANCAAQ5fgwKv5vGN62UZ2YfvT/lk//rrXsvvFrUI03kUeB3nTwwIyU4eXrYMoQ5kQzEwjGuQCvP8BTAqCWiqQyQX4YX";

    #[test]
    fn accepts_a_signing_key_made_with_openssl() {
        let issuer = token_issuer(&[
            ("SIGNING_KEY", OPENSSL_KEY),
            ("SIGNING_KEY_ID", "k1"),
            ("TOKEN_ISSUER", "https://api.example"),
        ])
        .unwrap();
        assert_eq!(issuer.signing_key().kid(), "k1");
        assert_eq!(issuer.audience(), DEFAULT_AUDIENCE);
    }

    #[test]
    fn previous_keys_verify_and_are_published() {
        let previous = format!("old-1:{OPENSSL_KEY}");
        let issuer = token_issuer(&[
            ("SIGNING_KEY", OPENSSL_KEY),
            ("SIGNING_KEY_ID", "new-2"),
            ("TOKEN_ISSUER", "https://api.example"),
            ("PREVIOUS_SIGNING_KEYS", previous.as_str()),
        ])
        .unwrap();
        let kids: Vec<_> = issuer.jwks()["keys"].as_array().unwrap().iter().map(|k| k["kid"].clone()).collect();
        assert_eq!(kids, ["new-2", "old-1"]);
        let bad = token_issuer(&[
            ("SIGNING_KEY", OPENSSL_KEY),
            ("SIGNING_KEY_ID", "new-2"),
            ("TOKEN_ISSUER", "https://api.example"),
            ("PREVIOUS_SIGNING_KEYS", "no-colon"),
        ]);
        assert!(bad.err().unwrap().to_string().contains("PREVIOUS_SIGNING_KEYS"));
    }

    #[test]
    fn names_the_variable_at_fault() {
        let missing = Config::load(&[("CODE_PEPPER", PEPPER)]).err().unwrap();
        assert!(missing.to_string().contains("TABLE_NAME"));
        let short = Config::load(&[("TABLE_NAME", "t"), ("CODE_PEPPER", "c2hvcnQ=")]).err().unwrap();
        assert!(short.to_string().contains("CODE_PEPPER"));
        let key = token_issuer(&[("SIGNING_KEY", "bm90IGEga2V5"), ("SIGNING_KEY_ID", "k1"), ("TOKEN_ISSUER", "i")])
            .err()
            .unwrap();
        assert!(matches!(key, ConfigError::Key(_)), "{key}");
    }
}
