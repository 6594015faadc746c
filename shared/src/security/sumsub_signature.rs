//! The two HMACs of Sumsub's API, as its documentation gives them.
//!
//! - Requests to Sumsub: `X-App-Access-Sig` is the lowercase hex HMAC-SHA256, under the app secret,
//!   of the timestamp (`X-App-Access-Ts`, Unix seconds, as a string), the method in upper case, the
//!   path with its query, and the body bytes, concatenated.
//! - Webhooks from Sumsub: `X-Payload-Digest` is the hex HMAC of the raw body under the webhook's
//!   secret key, with the algorithm `X-Payload-Digest-Alg` names. SHA-256 (Sumsub's default) and
//!   SHA-512 are accepted; `HMAC_SHA1_HEX`, which older webhooks used, is refused: choose SHA-256
//!   in Sumsub's webhook settings.

use aws_lc_rs::hmac;

use super::random;

pub fn request_signature(app_secret: &str, timestamp: i64, method: &str, path_and_query: &str, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, app_secret.as_bytes());
    let mut context = hmac::Context::with_key(&key);
    context.update(timestamp.to_string().as_bytes());
    context.update(method.to_ascii_uppercase().as_bytes());
    context.update(path_and_query.as_bytes());
    context.update(body);
    random::hex(context.sign().as_ref())
}

/// The algorithms a webhook digest may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlgorithm {
    HmacSha256Hex,
    HmacSha512Hex,
}

impl DigestAlgorithm {
    /// `None` for a missing, unknown or refused (SHA-1) algorithm.
    pub fn parse(header: Option<&str>) -> Option<Self> {
        match header?.trim() {
            "HMAC_SHA256_HEX" => Some(DigestAlgorithm::HmacSha256Hex),
            "HMAC_SHA512_HEX" => Some(DigestAlgorithm::HmacSha512Hex),
            _ => None,
        }
    }

    pub fn header_value(self) -> &'static str {
        match self {
            DigestAlgorithm::HmacSha256Hex => "HMAC_SHA256_HEX",
            DigestAlgorithm::HmacSha512Hex => "HMAC_SHA512_HEX",
        }
    }

    fn hmac(self) -> hmac::Algorithm {
        match self {
            DigestAlgorithm::HmacSha256Hex => hmac::HMAC_SHA256,
            DigestAlgorithm::HmacSha512Hex => hmac::HMAC_SHA512,
        }
    }
}

/// The digest Sumsub would send for `body` (what a sandbox partner's tests send in its place).
pub fn payload_digest(webhook_secret: &str, algorithm: DigestAlgorithm, body: &[u8]) -> String {
    random::hex(hmac::sign(&hmac::Key::new(algorithm.hmac(), webhook_secret.as_bytes()), body).as_ref())
}

/// Whether `digest_hex` is `body`'s digest, compared in constant time (aws-lc's `hmac::verify`).
pub fn digest_matches(webhook_secret: &str, algorithm: DigestAlgorithm, body: &[u8], digest_hex: &str) -> bool {
    let digest_hex = digest_hex.trim();
    if digest_hex.len() > 256 {
        return false;
    }
    let Some(tag) = random::decode_hex(&digest_hex.to_ascii_lowercase()) else { return false };
    hmac::verify(&hmac::Key::new(algorithm.hmac(), webhook_secret.as_bytes()), body, &tag).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_signature_covers_time_method_path_and_body() {
        // Sumsub's docs give no fixed vector; this one is Python's hmac over the documented
        // concatenation: hmac.new(b"secret", b'1607551635POST/resources/accessTokens/sdk{"userId":"u"}',
        // hashlib.sha256).hexdigest()
        let sig =
            request_signature("secret", 1_607_551_635, "post", "/resources/accessTokens/sdk", br#"{"userId":"u"}"#);
        assert_eq!(sig, "8ce9fc49cd7f10b79c878b447732642a95843c58b106a078d3ee1364fc6795f1");
        let same =
            request_signature("secret", 1_607_551_635, "POST", "/resources/accessTokens/sdk", br#"{"userId":"u"}"#);
        assert_eq!(sig, same, "the method is upper-cased");
        for other in [
            request_signature("secret", 1_607_551_636, "POST", "/resources/accessTokens/sdk", br#"{"userId":"u"}"#),
            request_signature("secret", 1_607_551_635, "GET", "/resources/accessTokens/sdk", br#"{"userId":"u"}"#),
            request_signature("secret", 1_607_551_635, "POST", "/resources/accessTokens/sdk?x=1", br#"{"userId":"u"}"#),
            request_signature("secret", 1_607_551_635, "POST", "/resources/accessTokens/sdk", br#"{"userId":"v"}"#),
            request_signature("other", 1_607_551_635, "POST", "/resources/accessTokens/sdk", br#"{"userId":"u"}"#),
        ] {
            assert_ne!(sig, other);
        }
    }

    #[test]
    fn a_webhook_digest_is_checked_over_the_raw_bytes_with_the_named_algorithm() {
        let body = br#"{"type":"applicantReviewed"}"#;
        for algorithm in [DigestAlgorithm::HmacSha256Hex, DigestAlgorithm::HmacSha512Hex] {
            let digest = payload_digest("key", algorithm, body);
            assert!(digest_matches("key", algorithm, body, &digest));
            assert!(digest_matches("key", algorithm, body, &digest.to_uppercase()), "hex case does not matter");
            assert!(!digest_matches("other", algorithm, body, &digest));
            assert!(!digest_matches("key", algorithm, br#"{"type":"applicantReviewed" }"#, &digest));
            assert!(!digest_matches("key", algorithm, body, &digest[..digest.len() - 2]));
            assert!(!digest_matches("key", algorithm, body, "zz"));
        }
        let sha256 = payload_digest("key", DigestAlgorithm::HmacSha256Hex, body);
        assert!(!digest_matches("key", DigestAlgorithm::HmacSha512Hex, body, &sha256));
        assert_eq!(DigestAlgorithm::parse(Some("HMAC_SHA1_HEX")), None);
        assert_eq!(DigestAlgorithm::parse(None), None);
    }
}
