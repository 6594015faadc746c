//! Tokens the service issues: short-lived ES256 access tokens (RFC 9068 `at+jwt`, with a `kid` so
//! keys can rotate), and opaque refresh tokens that are stored only as their SHA-256.

use crate::factors::assurance::Assurance;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use aws_lc_rs::digest;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use zeroize::Zeroizing;

use super::random;
use crate::error::ApiError;
use crate::ports::{SignError, TokenSigner};

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
    #[error("the public key is not an uncompressed P-256 key in SubjectPublicKeyInfo form")]
    NotP256Public,
    #[error("the key id is empty or holds whitespace, ':' or ','")]
    EmptyKeyId,
}

/// DER of a P-256 SubjectPublicKeyInfo up to its 65-byte point (id-ecPublicKey, prime256v1).
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// The public half of a token key, with the `kid` published in its JWK: all a verifier holds.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    kid: String,
    /// Uncompressed SEC1 point: 0x04 || x || y.
    point: Vec<u8>,
}

impl PublicKey {
    pub fn from_point(kid: &str, point: &[u8]) -> Result<Self, KeyError> {
        // A kid is printable and holds no ':' or ',', which separate keys in `TOKEN_PUBLIC_KEYS`.
        if kid.trim().is_empty() || kid.chars().any(|c| c.is_whitespace() || c.is_control() || c == ':' || c == ',') {
            return Err(KeyError::EmptyKeyId);
        }
        if point.len() != 65 || point[0] != 0x04 {
            return Err(KeyError::NotP256Public);
        }
        Ok(PublicKey { kid: kid.to_owned(), point: point.to_vec() })
    }

    /// From the DER SubjectPublicKeyInfo that KMS `GetPublicKey` returns.
    pub fn from_spki_der(kid: &str, der: &[u8]) -> Result<Self, KeyError> {
        match der.strip_prefix(&P256_SPKI_PREFIX[..]) {
            Some(point) => PublicKey::from_point(kid, point),
            None => Err(KeyError::NotP256Public),
        }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// `kid:<base64url of the point>`, as the deploy hands public keys to the functions
    /// (`TokenPublicKeys`, written by `keys rotate`): public, so a parameter may carry it.
    pub fn to_parameter(&self) -> String {
        format!("{}:{}", self.kid, URL_SAFE_NO_PAD.encode(&self.point))
    }

    /// Whether `signature` (JWS `r || s`) over `message` was made by this key's private half.
    pub fn verifies(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &self.point).verify(message, signature).is_ok()
    }

    /// The inverse of `to_parameter`; anything but a P-256 point under a key id is refused.
    pub fn from_parameter(text: &str) -> Result<Self, KeyError> {
        let (kid, point) = text.trim().split_once(':').ok_or(KeyError::NotP256Public)?;
        let point = URL_SAFE_NO_PAD.decode(point).map_err(|_| KeyError::NotP256Public)?;
        PublicKey::from_point(kid, &point)
    }

    /// The public JWK (RFC 7517) that verifies tokens signed with this key.
    pub fn public_jwk(&self) -> serde_json::Value {
        let (x, y) = self.point[1..].split_at(32);
        serde_json::json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
        })
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey(kid={})", self.kid)
    }
}

/// A P-256 key held in this process: unit tests, benches, and the sealed mode, where KMS opens it
/// once at cold start (`adapters::kms::open_sealed_key`). By default deployed functions sign with KMS
/// (`adapters::kms::KmsSigner`) and never hold a private key.
pub struct SigningKey {
    pair: EcdsaKeyPair,
    public: PublicKey,
}

impl SigningKey {
    pub fn from_pkcs8_der(kid: &str, der: &[u8]) -> Result<Self, KeyError> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
            .map_err(|e| KeyError::NotP256(e.to_string()))?;
        let public = PublicKey::from_point(kid, pair.public_key().as_ref())?;
        Ok(SigningKey { pair, public })
    }

    /// A fresh P-256 key as PKCS#8 DER.
    pub fn generate_pkcs8() -> Vec<u8> {
        #[allow(clippy::expect_used)]
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &aws_lc_rs::rand::SystemRandom::new())
            .expect("the system random generator failed")
            .as_ref()
            .to_vec()
    }

    /// A fresh key, ready to sign.
    pub fn generate(kid: &str) -> Result<Self, KeyError> {
        SigningKey::from_pkcs8_der(kid, &SigningKey::generate_pkcs8())
    }

    pub fn kid(&self) -> &str {
        self.public.kid()
    }

    pub fn public_key_ref(&self) -> &PublicKey {
        &self.public
    }

    pub fn public_jwk(&self) -> serde_json::Value {
        self.public.public_jwk()
    }
}

#[async_trait]
impl TokenSigner for SigningKey {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    async fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignError> {
        let signature = self
            .pair
            .sign(&aws_lc_rs::rand::SystemRandom::new(), message)
            .map_err(|_| SignError::Failed("ECDSA signing failed".into()))?;
        signature.as_ref().try_into().map_err(|_| SignError::Failed("the signature is not 64 bytes".into()))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(kid={})", self.kid())
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
    /// The session's assurance level (RFC 9470): `aal1` or `aal2`.
    pub acr: &'static str,
    /// How the user authenticated (RFC 8176 values).
    pub amr: Vec<&'static str>,
    /// When the user last authenticated (OpenID Connect Core section 2).
    pub auth_time: i64,
}

/// Who the token is for, in the words of the caller.
pub struct Subject<'a> {
    pub user_id: &'a str,
    pub merchant_id: &'a str,
    pub session_id: &'a str,
    pub sandbox: bool,
    /// What the session's sign-in proved: every token of the session says it.
    pub assurance: &'a Assurance,
}

/// What verifies access tokens: every key that may have signed one still alive (the current key
/// first, then those rotated out), the issuer and the audience. Functions that only verify tokens,
/// and the JWKS, hold this and nothing that signs.
#[derive(Debug, Clone)]
pub struct TokenKeys {
    keys: Vec<PublicKey>,
    issuer: String,
    audience: String,
}

impl TokenKeys {
    /// `keys` must not be empty: the first is the one tokens are signed with now.
    pub fn new(keys: Vec<PublicKey>, issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        TokenKeys { keys, issuer: issuer.into(), audience: audience.into() }
    }

    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// The JWKS document (RFC 7517) partners verify access tokens with.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": self.keys.iter().map(PublicKey::public_jwk).collect::<Vec<_>>() })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }
}

/// Signs with the current key; the keys rotated out only verify, so tokens signed before a rotation
/// keep working until they expire.
pub struct TokenIssuer {
    signer: Arc<dyn TokenSigner>,
    keys: TokenKeys,
}

impl TokenIssuer {
    pub fn new(signer: Arc<dyn TokenSigner>, issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        let keys = TokenKeys::new(vec![signer.public_key().clone()], issuer, audience);
        TokenIssuer { signer, keys }
    }

    /// Adds the keys rotated out, which verify and are published but never sign.
    pub fn with_previous(mut self, previous: Vec<PublicKey>) -> Self {
        let current = self.signer.public_key().kid().to_owned();
        self.keys.keys.extend(previous.into_iter().filter(|key| key.kid() != current));
        self
    }

    /// The `kid` of the key that signs now.
    pub fn signing_kid(&self) -> &str {
        self.signer.public_key().kid()
    }

    /// The verifying half.
    pub fn keys(&self) -> &TokenKeys {
        &self.keys
    }

    pub fn jwks(&self) -> serde_json::Value {
        self.keys.jwks()
    }

    pub fn issuer(&self) -> &str {
        self.keys.issuer()
    }

    pub fn audience(&self) -> &str {
        self.keys.audience()
    }

    /// A signed access token. A signer that is throttled or unreachable is a 503 `UNAVAILABLE`.
    pub async fn access_token(&self, subject: &Subject<'_>, now: i64) -> Result<String, ApiError> {
        let header =
            serde_json::json!({ "alg": "ES256", "typ": ACCESS_TOKEN_TYPE, "kid": self.signing_kid() }).to_string();
        let claims = AccessClaims {
            iss: self.keys.issuer(),
            sub: user_ref(subject.user_id),
            aud: self.keys.audience(),
            exp: now + ACCESS_TOKEN_TTL_SECS,
            iat: now,
            nbf: now,
            jti: random::id(),
            scope: DEFAULT_SCOPE,
            mid: subject.merchant_id,
            sid: subject.session_id,
            sandbox: subject.sandbox,
            acr: subject.assurance.level().as_str(),
            amr: subject.assurance.amr(),
            auth_time: subject.assurance.auth_time(),
        };
        let claims = serde_json::to_string(&claims)
            .map_err(|e| ApiError::Internal(format!("access token claims did not serialise: {e}")))?;
        let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
        let signature = self.signer.sign(signing_input.as_bytes()).await.map_err(|e| match e {
            SignError::Unavailable(why) => {
                tracing::warn!(error = %why, "the token signer is unavailable");
                ApiError::Unavailable
            }
            SignError::Failed(why) => ApiError::Internal(format!("signing an access token failed: {why}")),
        })?;
        // Only the low-S form is issued and accepted (see `low_s`): KMS returns either.
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(super::low_s::to_low_s(&signature))))
    }
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
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(Arc::new(SigningKey::generate("k1").unwrap()), "https://issuer.test", "registration")
    }

    fn decoding_key(issuer: &TokenIssuer) -> DecodingKey {
        let jwk = &issuer.jwks()["keys"][0];
        DecodingKey::from_ec_components(jwk["x"].as_str().unwrap(), jwk["y"].as_str().unwrap()).unwrap()
    }

    #[tokio::test]
    async fn access_token_verifies_with_the_published_jwk_alone() {
        let issuer = issuer();
        let token = issuer
            .access_token(
                &Subject {
                    user_id: "u-1",
                    merchant_id: "m-1",
                    session_id: "s-1",
                    sandbox: false,
                    assurance: &crate::factors::assurance::Assurance::password(0),
                },
                1_700_000_000,
            )
            .await
            .unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), Some("k1"));
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.alg, Algorithm::ES256);

        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_audience(&["registration"]);
        validation.set_issuer(&["https://issuer.test"]);
        validation.validate_exp = false;
        let data = jsonwebtoken::decode::<serde_json::Value>(&token, &decoding_key(&issuer), &validation).unwrap();
        assert_eq!(data.claims["sub"], "usr:u-1");
        assert_eq!(data.claims["mid"], "m-1");
        assert_eq!(data.claims["exp"], 1_700_000_000 + 900);
    }

    #[tokio::test]
    async fn a_token_from_another_key_does_not_verify() {
        let token = issuer()
            .access_token(
                &Subject {
                    user_id: "u",
                    merchant_id: "m",
                    session_id: "s",
                    sandbox: false,
                    assurance: &crate::factors::assurance::Assurance::password(0),
                },
                0,
            )
            .await
            .unwrap();
        let mut validation = Validation::new(Algorithm::ES256);
        validation.validate_exp = false;
        validation.validate_aud = false;
        assert!(jsonwebtoken::decode::<serde_json::Value>(&token, &decoding_key(&issuer()), &validation).is_err());
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
        assert!(PublicKey::from_spki_der("k", b"garbage").is_err());
        assert!(PublicKey::from_point("k", &[4; 33]).is_err());
    }

    #[test]
    fn a_public_key_in_spki_form_gives_the_same_jwk_as_its_point() {
        let key = SigningKey::generate("k").unwrap();
        let mut spki = P256_SPKI_PREFIX.to_vec();
        spki.extend_from_slice(&key.public.point);
        assert_eq!(PublicKey::from_spki_der("k", &spki).unwrap().public_jwk(), key.public_jwk());
    }

    #[test]
    fn a_rotated_key_verifies_and_is_published_after_the_current_one() {
        let old = SigningKey::generate("old").unwrap();
        let rotated = TokenIssuer::new(Arc::new(SigningKey::generate("new").unwrap()), "https://i", "a")
            .with_previous(vec![old.public_key().clone()]);
        let kids: Vec<_> = rotated.jwks()["keys"].as_array().unwrap().iter().map(|k| k["kid"].clone()).collect();
        assert_eq!(kids, ["new", "old"]);
        assert_eq!(rotated.signing_kid(), "new");
    }
}
