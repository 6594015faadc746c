//! Verifying access tokens: the checks every protected endpoint relies on. Only ES256 is accepted
//! (never `none`, never a symmetric algorithm keyed with a public key), `typ` must be `at+jwt`, the
//! `kid` must be one of ours, and `iss`, `aud`, `exp` and `nbf` must hold, with a small leeway.
//! Time comes from the caller, so the service's clock (and the tests') decides, not the library's.

use crate::factors::assurance::{Assurance, Method};
use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::low_s::is_low_s;
use super::tokens::{ACCESS_TOKEN_TYPE, PublicKey, TokenKeys};

/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: i64 = 30;

/// The claims of a verified access token.
#[derive(Debug, Clone, Deserialize)]
pub struct VerifiedClaims {
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    pub jti: String,
    pub scope: String,
    pub mid: String,
    pub sid: String,
    #[serde(default)]
    pub sandbox: bool,
    /// `aal1` or `aal2`; a token minted before assurance was carried has none (read as `aal1`).
    #[serde(default)]
    pub acr: Option<String>,
    #[serde(default)]
    pub amr: Vec<String>,
    #[serde(default)]
    pub auth_time: Option<i64>,
}

impl VerifiedClaims {
    /// What the token says its session's sign-in proved: the methods it names (ones this service
    /// does not know are not counted) and `auth_time` (its `iat` where it has none).
    pub fn assurance(&self) -> Assurance {
        let methods = self.amr.iter().filter_map(|name| Method::parse(name));
        Assurance::stored(methods, self.auth_time.unwrap_or(self.iat))
    }
}

/// Why a token was refused; for logs only, clients get one 401.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Rejected {
    #[error("not a JWT")]
    Malformed,
    #[error("algorithm not allowed")]
    Algorithm,
    #[error("wrong typ")]
    Type,
    #[error("unknown kid")]
    UnknownKey,
    #[error("signature or claims invalid")]
    Invalid,
    #[error("expired")]
    Expired,
    #[error("not yet valid")]
    NotYetValid,
}

pub struct AccessTokenVerifier {
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
}

fn decoding_key(key: &PublicKey) -> Option<(String, DecodingKey)> {
    let jwk = key.public_jwk();
    let decoding = DecodingKey::from_ec_components(jwk["x"].as_str()?, jwk["y"].as_str()?).ok()?;
    Some((key.kid().to_owned(), decoding))
}

impl AccessTokenVerifier {
    /// Parsed once per cold start and kept for the life of the process.
    pub fn new(issuer: &TokenKeys) -> Self {
        let mut validation = Validation::new(Algorithm::ES256);
        validation.algorithms = vec![Algorithm::ES256];
        validation.set_issuer(&[issuer.issuer()]);
        validation.set_audience(&[issuer.audience()]);
        validation.set_required_spec_claims(&["exp", "iat", "nbf", "iss", "aud", "sub"]);
        // Checked below against the caller's clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        AccessTokenVerifier { keys: issuer.keys().iter().filter_map(decoding_key).collect(), validation }
    }

    pub fn verify(&self, token: &str, now: i64) -> Result<VerifiedClaims, Rejected> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| Rejected::Malformed)?;
        if header.alg != Algorithm::ES256 {
            return Err(Rejected::Algorithm);
        }
        if header.typ.as_deref() != Some(ACCESS_TOKEN_TYPE) {
            return Err(Rejected::Type);
        }
        let key = header.kid.as_deref().and_then(|kid| self.keys.get(kid)).ok_or(Rejected::UnknownKey)?;
        // Only the low-S form: otherwise one token would have a second valid spelling.
        let signature = token.rsplit_once('.').and_then(|(_, sig)| URL_SAFE_NO_PAD.decode(sig).ok());
        if !signature.is_some_and(|sig| is_low_s(&sig)) {
            return Err(Rejected::Invalid);
        }
        let claims =
            jsonwebtoken::decode::<VerifiedClaims>(token, key, &self.validation).map_err(|_| Rejected::Invalid)?.claims;
        if claims.exp + LEEWAY_SECS <= now {
            return Err(Rejected::Expired);
        }
        if claims.nbf - LEEWAY_SECS > now {
            return Err(Rejected::NotYetValid);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use crate::ports::TokenSigner;
    use crate::security::tokens::{SigningKey, Subject, TokenIssuer};

    const NOW: i64 = 1_800_000_000;

    fn issuer(kid: &str) -> TokenIssuer {
        TokenIssuer::new(Arc::new(SigningKey::generate(kid).unwrap()), "https://iss", "registration")
    }

    fn token(issuer: &TokenIssuer, at: i64) -> String {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime
            .block_on(issuer.access_token(
                &Subject {
                    user_id: "u1",
                    merchant_id: "m1",
                    session_id: "s1",
                    sandbox: false,
                    assurance: &crate::factors::assurance::Assurance::password(0),
                },
                at,
            ))
            .unwrap()
    }

    fn b64(value: serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    #[test]
    fn a_fresh_token_verifies_with_its_claims() {
        let issuer = issuer("k1");
        let claims = AccessTokenVerifier::new(issuer.keys()).verify(&token(&issuer, NOW), NOW + 10).unwrap();
        assert_eq!((claims.sub.as_str(), claims.mid.as_str(), claims.sid.as_str()), ("usr:u1", "m1", "s1"));
    }

    #[test]
    fn expiry_and_not_before_hold_with_leeway() {
        let issuer = issuer("k1");
        let verifier = AccessTokenVerifier::new(issuer.keys());
        let t = token(&issuer, NOW);
        assert!(verifier.verify(&t, NOW + 900 + LEEWAY_SECS - 1).is_ok());
        assert_eq!(verifier.verify(&t, NOW + 900 + LEEWAY_SECS).unwrap_err(), Rejected::Expired);
        assert_eq!(verifier.verify(&t, NOW - LEEWAY_SECS - 1).unwrap_err(), Rejected::NotYetValid);
    }

    #[test]
    fn tampered_foreign_none_and_symmetric_tokens_are_refused() {
        let issuer = issuer("k1");
        let verifier = AccessTokenVerifier::new(issuer.keys());
        let good = token(&issuer, NOW);
        let parts: Vec<&str> = good.split('.').collect();

        let mut claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["sub"] = "usr:someone-else".into();
        let tampered = format!("{}.{}.{}", parts[0], b64(claims.clone()), parts[2]);
        assert_eq!(verifier.verify(&tampered, NOW).unwrap_err(), Rejected::Invalid);

        let none = format!("{}.{}.", b64(serde_json::json!({"alg": "none", "typ": "at+jwt", "kid": "k1"})), parts[1]);
        assert!(verifier.verify(&none, NOW).is_err());

        // HS256 keyed with the public key's bytes: the classic algorithm-confusion forgery.
        let public_pem = issuer.jwks()["keys"][0].to_string();
        let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
        header.kid = Some("k1".into());
        header.typ = Some("at+jwt".into());
        let forged =
            jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_secret(public_pem.as_bytes()))
                .unwrap();
        assert_eq!(verifier.verify(&forged, NOW).unwrap_err(), Rejected::Algorithm);

        let foreign = token(&self::issuer("k1"), NOW);
        assert_eq!(verifier.verify(&foreign, NOW).unwrap_err(), Rejected::Invalid);
        let unknown_kid = token(&self::issuer("k9"), NOW);
        assert_eq!(verifier.verify(&unknown_kid, NOW).unwrap_err(), Rejected::UnknownKey);
        assert_eq!(verifier.verify("opaque-refresh-token", NOW).unwrap_err(), Rejected::Malformed);
    }

    #[test]
    fn tokens_signed_with_a_previous_key_still_verify() {
        let old_key = Arc::new(SigningKey::generate("old").unwrap());
        let old = TokenIssuer::new(old_key.clone(), "https://iss", "registration");
        let old_token = token(&old, NOW);
        let rotated = issuer("new").with_previous(vec![old_key.public_key().clone()]);
        let verifier = AccessTokenVerifier::new(rotated.keys());
        assert!(verifier.verify(&old_token, NOW).is_ok());
        assert!(verifier.verify(&token(&rotated, NOW), NOW).is_ok());
        assert_eq!(rotated.jwks()["keys"].as_array().unwrap().len(), 2);
    }

    fn signature_of(token: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(token.rsplit('.').next().unwrap()).unwrap()
    }

    #[test]
    fn of_a_token_and_its_signature_twin_only_one_verifies() {
        // Finding 10: (r, n - s) verifies under plain ECDSA; one token must not have two spellings.
        let issuer = issuer("k1");
        let verifier = AccessTokenVerifier::new(issuer.keys());
        for i in 0..8 {
            let token = token(&issuer, NOW + i);
            let signature: [u8; 64] = signature_of(&token).try_into().unwrap();
            let (signed, _) = token.rsplit_once('.').unwrap();
            let twin = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(crate::security::low_s::twin(&signature)));
            assert!(verifier.verify(&token, NOW).is_ok());
            assert_eq!(verifier.verify(&twin, NOW).unwrap_err(), Rejected::Invalid);
        }
    }

    #[test]
    fn every_issued_token_has_a_low_s_signature() {
        let issuer = issuer("k1");
        for i in 0..64 {
            let signature = signature_of(&token(&issuer, NOW + i));
            assert!(crate::security::low_s::is_low_s(&signature), "token {i} has a high S");
        }
    }
}
