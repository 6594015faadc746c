//! Configuration, read from the environment once per cold start. A missing or malformed value stops
//! the function at init with a message that says which variable is wrong.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

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
        self.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }
}

fn required(source: &impl Source, name: &'static str) -> Result<String, ConfigError> {
    source.get(name).ok_or(ConfigError::Missing(name))
}

fn base64_secret(
    source: &impl Source,
    name: &'static str,
) -> Result<Zeroizing<Vec<u8>>, ConfigError> {
    let text = Zeroizing::new(required(source, name)?);
    STANDARD
        .decode(text.trim())
        .map(Zeroizing::new)
        .map_err(|_| ConfigError::Invalid {
            name,
            why: "not base64".into(),
        })
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
        })
    }
}

/// The token issuer, for the functions that sign access tokens: `SIGNING_KEY` is a base64 P-256
/// PKCS#8 DER key, `SIGNING_KEY_ID` its `kid`.
pub fn token_issuer(source: &impl Source) -> Result<TokenIssuer, ConfigError> {
    let der = base64_secret(source, "SIGNING_KEY")?;
    let key = SigningKey::from_pkcs8_der(&required(source, "SIGNING_KEY_ID")?, &der)?;
    let issuer = required(source, "TOKEN_ISSUER")?;
    let audience = source
        .get("TOKEN_AUDIENCE")
        .unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned());
    Ok(TokenIssuer::new(key, issuer, audience))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEPPER: &str = "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=";

    #[test]
    fn loads_required_values() {
        let config = Config::load(&[("TABLE_NAME", "t"), ("CODE_PEPPER", PEPPER)]).unwrap();
        assert_eq!(config.table_name, "t");
        assert_eq!(config.code_pepper.len(), 32);
        assert!(config.sms_sender_id.is_none());
    }

    /// A throwaway key made as the README tells operators to:
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
    fn names_the_variable_at_fault() {
        let missing = Config::load(&[("CODE_PEPPER", PEPPER)]).err().unwrap();
        assert!(missing.to_string().contains("TABLE_NAME"));
        let short = Config::load(&[("TABLE_NAME", "t"), ("CODE_PEPPER", "c2hvcnQ=")])
            .err()
            .unwrap();
        assert!(short.to_string().contains("CODE_PEPPER"));
        let key = token_issuer(&[
            ("SIGNING_KEY", "bm90IGEga2V5"),
            ("SIGNING_KEY_ID", "k1"),
            ("TOKEN_ISSUER", "i"),
        ])
        .err()
        .unwrap();
        assert!(matches!(key, ConfigError::Key(_)), "{key}");
    }
}
