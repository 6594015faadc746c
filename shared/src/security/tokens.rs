//! Tokens the service issues: short-lived ES256 access tokens (RFC 9068 `at+jwt`, with a `kid` so
//! keys can rotate), and opaque refresh tokens that are stored only as their SHA-256.

use std::fmt;

use aws_lc_rs::digest;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use zeroize::Zeroizing;

use super::random;
use crate::error::ApiError;

/// Access tokens live 15 minutes (docs/targets.md).
pub const ACCESS_TOKEN_TTL_SECS: i64 = 15 * 60;
/// Refresh tokens and their session family end 30 days after sign-in, whatever the rotation.
pub const REFRESH_FAMILY_TTL_SECS: i64 = 30 * 24 * 3600;
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";
/// What a phone-confirmed user may do; later features narrow or widen it per grant.
pub const DEFAULT_SCOPE: &str = "profile:read profile:write";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the signing key is not a P-256 PKCS#8 key: {0}")]
    NotP256(String),
    #[error("the signing key id is empty")]
    EmptyKeyId,
}

/// The private key that signs access tokens, with the id published in its JWK.
pub struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    /// Uncompressed SEC1 point: 0x04 || x || y.
    public_point: Vec<u8>,
}

impl SigningKey {
    pub fn from_pkcs8_der(kid: &str, der: &[u8]) -> Result<Self, KeyError> {
        if kid.trim().is_empty() {
            return Err(KeyError::EmptyKeyId);
        }
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map_err(|e| KeyError::NotP256(e.to_string()))?;
        Ok(SigningKey {
            kid: kid.to_owned(),
            encoding: EncodingKey::from_ec_der(der),
            public_point: pair.public_key().as_ref().to_vec(),
        })
    }

    /// A fresh P-256 key as PKCS#8 DER, for local stacks and tests; production keys come from config.
    pub fn generate_pkcs8() -> Vec<u8> {
        #[allow(clippy::expect_used)]
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &aws_lc_rs::rand::SystemRandom::new())
            .expect("the system random generator failed")
            .as_ref()
            .to_vec()
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK (RFC 7517) that verifies tokens signed with this key.
    pub fn public_jwk(&self) -> serde_json::Value {
        let (x, y) = self.public_point[1..].split_at(32);
        serde_json::json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
        })
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(kid={})", self.kid)
    }
}

/// Claims of an access token. `mid` names the partner (X-Merchant-ID), `sid` the session family.
#[derive(Debug, Serialize)]
pub struct AccessClaims<'a> {
    pub iss: &'a str,
    pub sub: String,
    pub aud: &'a str,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    pub jti: String,
    pub scope: &'a str,
    pub mid: &'a str,
    pub sid: &'a str,
    /// Present (and true) only on tokens of a sandbox partner's users.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sandbox: bool,
}

/// Who the token is for, in the words of the caller.
pub struct Subject<'a> {
    pub user_id: &'a str,
    pub merchant_id: &'a str,
    pub session_id: &'a str,
    pub sandbox: bool,
}

/// Signs with the current key; `previous` keys only verify, so tokens signed before a rotation keep
/// working until they expire.
pub struct TokenIssuer {
    key: SigningKey,
    previous: Vec<SigningKey>,
    issuer: String,
    audience: String,
}

impl TokenIssuer {
    pub fn new(key: SigningKey, issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        TokenIssuer { key, previous: Vec::new(), issuer: issuer.into(), audience: audience.into() }
    }

    pub fn with_previous(mut self, previous: Vec<SigningKey>) -> Self {
        self.previous = previous;
        self
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// Every key that verifies tokens: the current one first.
    pub fn verification_keys(&self) -> impl Iterator<Item = &SigningKey> {
        std::iter::once(&self.key).chain(self.previous.iter())
    }

    /// The JWKS document (RFC 7517) partners verify access tokens with.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": self.verification_keys().map(SigningKey::public_jwk).collect::<Vec<_>>() })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    pub fn access_token(&self, subject: &Subject<'_>, now: i64) -> Result<String, ApiError> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key.kid.clone());
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        let claims = AccessClaims {
            iss: &self.issuer,
            sub: user_ref(subject.user_id),
            aud: &self.audience,
            exp: now + ACCESS_TOKEN_TTL_SECS,
            iat: now,
            nbf: now,
            jti: random::id(),
            scope: DEFAULT_SCOPE,
            mid: subject.merchant_id,
            sid: subject.session_id,
            sandbox: subject.sandbox,
        };
        let token = jsonwebtoken::encode(&header, &claims, &self.key.encoding)
            .map_err(|e| ApiError::Internal(format!("signing an access token failed: {e}")))?;
        canonical_signature(token)
    }
}

/// The token with its signature in low-S form, the only form verifiers accept (see `low_s`).
fn canonical_signature(token: String) -> Result<String, ApiError> {
    let malformed = || ApiError::Internal("the signer returned a signature that is not 64 bytes".into());
    let (signed, signature) = token.rsplit_once('.').ok_or_else(malformed)?;
    let signature: [u8; 64] =
        URL_SAFE_NO_PAD.decode(signature).ok().and_then(|s| s.try_into().ok()).ok_or_else(malformed)?;
    Ok(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(super::low_s::to_low_s(&signature))))
}

/// The public form of a user id (seed 003): `usr:<uuid>`.
pub fn user_ref(user_id: &str) -> String {
    format!("usr:{user_id}")
}

/// An opaque bearer secret: 256 random bits. The holder gets the token; the table gets its hash.
pub struct OpaqueToken(Zeroizing<String>);

/// Exchanged for new access tokens; rotated on every use.
pub type RefreshToken = OpaqueToken;
/// Carried by the link in an email-confirmation message; single use, 24 hours.
pub type EmailLinkToken = OpaqueToken;

impl OpaqueToken {
    pub fn generate() -> Self {
        OpaqueToken(Zeroizing::new(URL_SAFE_NO_PAD.encode(random::bytes::<32>())))
    }

    pub fn from_client(value: String) -> Self {
        OpaqueToken(Zeroizing::new(value))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// SHA-256 in hex: what is stored and looked up.
    pub fn digest(&self) -> String {
        random::hex(digest::digest(&digest::SHA256, self.0.as_bytes()).as_ref())
    }
}

impl fmt::Debug for OpaqueToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OpaqueToken(<redacted>)")
    }
}

/// The token response of seeds 002 and 003.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub refresh_token: String,
    pub expires_in: i64,
    pub scope: &'static str,
    pub user_id: String,
    /// `true` in a sandbox partner's token responses, absent otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sandbox: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    fn issuer() -> TokenIssuer {
        let der = SigningKey::generate_pkcs8();
        TokenIssuer::new(SigningKey::from_pkcs8_der("k1", &der).unwrap(), "https://issuer.test", "registration")
    }

    #[test]
    fn access_token_verifies_with_the_published_jwk_alone() {
        let issuer = issuer();
        let token = issuer
            .access_token(
                &Subject { user_id: "u-1", merchant_id: "m-1", session_id: "s-1", sandbox: false },
                1_700_000_000,
            )
            .unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), Some("k1"));
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.alg, Algorithm::ES256);

        let jwk = issuer.signing_key().public_jwk();
        let key = DecodingKey::from_ec_components(jwk["x"].as_str().unwrap(), jwk["y"].as_str().unwrap()).unwrap();
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_audience(&["registration"]);
        validation.set_issuer(&["https://issuer.test"]);
        validation.validate_exp = false;
        let data = jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation).unwrap();
        assert_eq!(data.claims["sub"], "usr:u-1");
        assert_eq!(data.claims["mid"], "m-1");
        assert_eq!(data.claims["exp"], 1_700_000_000 + 900);
    }

    #[test]
    fn a_token_from_another_key_does_not_verify() {
        let token = issuer()
            .access_token(&Subject { user_id: "u", merchant_id: "m", session_id: "s", sandbox: false }, 0)
            .unwrap();
        let jwk = issuer().signing_key().public_jwk();
        let key = DecodingKey::from_ec_components(jwk["x"].as_str().unwrap(), jwk["y"].as_str().unwrap()).unwrap();
        let mut validation = Validation::new(Algorithm::ES256);
        validation.validate_exp = false;
        validation.validate_aud = false;
        assert!(jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation).is_err());
    }

    #[test]
    fn refresh_tokens_are_256_bit_and_stored_as_sha256() {
        let token = RefreshToken::generate();
        assert_eq!(URL_SAFE_NO_PAD.decode(token.expose()).unwrap().len(), 32);
        assert_eq!(token.digest().len(), 64);
        assert_ne!(token.digest(), RefreshToken::generate().digest());
        assert_eq!(token.digest(), RefreshToken::from_client(token.expose().to_owned()).digest());
    }

    #[test]
    fn a_key_that_is_not_p256_is_refused() {
        assert!(SigningKey::from_pkcs8_der("k", b"garbage").is_err());
    }
}
