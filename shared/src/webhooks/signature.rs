//! Signing webhook deliveries per the Standard Webhooks specification
//! (<https://www.standardwebhooks.com>), so a partner can verify them with any of its libraries.
//!
//! A delivery carries `webhook-id` (the event's id: the same on every retry, which is how a
//! receiver drops duplicates), `webhook-timestamp` (seconds, of this attempt) and
//! `webhook-signature`: `v1,` and the base64 HMAC-SHA256, under the endpoint's secret, of
//! `id.timestamp.body`. While a secret is being rotated the header holds one signature per secret,
//! separated by spaces, and a receiver that knows either accepts the delivery.
//!
//! Secrets are `whsec_` and the base64 of 24 to 64 random bytes (the specification's range); this
//! service makes 32. A secret is shown once, when made, and is never logged (`Debug` hides it).

use std::fmt;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::{Zeroize, Zeroizing};

use crate::security::random;

const PREFIX: &str = "whsec_";
const MIN_BYTES: usize = 24;
const MAX_BYTES: usize = 64;
/// How far a delivery's timestamp may be from the receiver's clock, either way, before the
/// receiver refuses it as a replay (the specification's recommendation).
pub const TOLERANCE_SECS: i64 = 300;

/// An endpoint's signing secret.
pub struct WebhookSecret(Zeroizing<Vec<u8>>);

impl WebhookSecret {
    /// A new secret of 32 random bytes.
    pub fn generate() -> WebhookSecret {
        let mut bytes = random::bytes::<32>();
        let secret = WebhookSecret(Zeroizing::new(bytes.to_vec()));
        bytes.zeroize();
        secret
    }

    /// `whsec_<base64>` (the prefix may be left out), 24 to 64 bytes.
    pub fn parse(text: &str) -> Result<WebhookSecret, String> {
        let encoded = text.strip_prefix(PREFIX).unwrap_or(text);
        let bytes =
            Zeroizing::new(STANDARD.decode(encoded).map_err(|_| "a webhook secret is whsec_ and base64".to_owned())?);
        if !(MIN_BYTES..=MAX_BYTES).contains(&bytes.len()) {
            return Err(format!("a webhook secret holds {MIN_BYTES} to {MAX_BYTES} bytes"));
        }
        Ok(WebhookSecret(bytes))
    }

    /// As shown to the partner once, and as it is sealed: `whsec_<base64>`.
    pub fn expose(&self) -> Zeroizing<String> {
        let mut shown = Zeroizing::new(String::with_capacity(PREFIX.len() + 4 * MAX_BYTES / 3 + 4));
        shown.push_str(PREFIX);
        STANDARD.encode_string(self.0.as_slice(), &mut shown);
        shown
    }

    /// `v1,<base64 HMAC-SHA256 of id.timestamp.body>`.
    fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let mut context = hmac::Context::with_key(&key);
        context.update(format!("{id}.{timestamp}.").as_bytes());
        context.update(body);
        format!("v1,{}", STANDARD.encode(context.sign().as_ref()))
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

/// The three headers of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub id: String,
    pub timestamp: i64,
    pub signature: String,
}

impl SignedHeaders {
    /// Signs `body` as event `id` at `timestamp` under the endpoint's `current` secret, and under
    /// its `previous` one too while a rotation overlaps.
    pub fn new(
        current: &WebhookSecret,
        previous: Option<&WebhookSecret>,
        id: &str,
        timestamp: i64,
        body: &[u8],
    ) -> SignedHeaders {
        let mut signature = current.sign(id, timestamp, body);
        if let Some(previous) = previous {
            signature.push(' ');
            signature.push_str(&previous.sign(id, timestamp, body));
        }
        SignedHeaders { id: id.to_owned(), timestamp, signature }
    }

    /// `(name, value)` pairs, as sent.
    pub fn pairs(&self) -> [(&'static str, String); 3] {
        [
            ("webhook-id", self.id.clone()),
            ("webhook-timestamp", self.timestamp.to_string()),
            ("webhook-signature", self.signature.clone()),
        ]
    }
}

/// Why a receiver refuses a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No `webhook-id`: nothing to tell a retry from a new event by.
    MissingId,
    /// Further than `TOLERANCE_SECS` from the receiver's clock.
    Timestamp,
    /// No `v1` signature in the header is the body's under the secret.
    Signature,
}

/// What a receiver does (the local receiver of the tests, and docs/webhooks.md's example): the
/// timestamp within the tolerance of `now`, and one of the header's `v1` signatures the body's
/// under `secret`, compared in constant time.
pub fn verify(secret: &WebhookSecret, headers: &SignedHeaders, body: &[u8], now: i64) -> Result<(), Refused> {
    if headers.id.is_empty() {
        return Err(Refused::MissingId);
    }
    // `abs_diff`: no timestamp, however far off, can overflow into looking recent.
    if now.abs_diff(headers.timestamp) > TOLERANCE_SECS.unsigned_abs() {
        return Err(Refused::Timestamp);
    }
    let expected = secret.sign(&headers.id, headers.timestamp, body);
    let mut matched = false;
    for candidate in headers.signature.split(' ') {
        matched |= verify_slices_are_equal(candidate.as_bytes(), expected.as_bytes()).is_ok();
    }
    if matched { Ok(()) } else { Err(Refused::Signature) }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    // The specification's own test vector (the reference libraries' `test_sign_function`).
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn the_specifications_test_vector_signs_and_verifies() {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        let headers = SignedHeaders::new(&secret, None, ID, TIMESTAMP, BODY);
        assert_eq!(headers.signature, SIGNATURE);
        assert_eq!(verify(&secret, &headers, BODY, TIMESTAMP), Ok(()));
        // the prefix is optional on input
        assert_eq!(WebhookSecret::parse(&SECRET[6..]).unwrap().expose().as_str(), SECRET);
    }

    #[test]
    fn a_changed_body_id_or_timestamp_or_another_secret_is_refused() {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        let headers = SignedHeaders::new(&secret, None, ID, TIMESTAMP, BODY);
        assert_eq!(verify(&secret, &headers, br#"{"test": 2432232315}"#, TIMESTAMP), Err(Refused::Signature));
        let other_id = SignedHeaders { id: "msg_other".into(), ..headers.clone() };
        assert_eq!(verify(&secret, &other_id, BODY, TIMESTAMP), Err(Refused::Signature));
        let other_time = SignedHeaders { timestamp: TIMESTAMP + 1, ..headers.clone() };
        assert_eq!(verify(&secret, &other_time, BODY, TIMESTAMP), Err(Refused::Signature));
        assert_eq!(verify(&WebhookSecret::generate(), &headers, BODY, TIMESTAMP), Err(Refused::Signature));
    }

    #[test]
    fn a_delivery_outside_five_minutes_of_the_receivers_clock_is_refused() {
        let secret = WebhookSecret::generate();
        let headers = SignedHeaders::new(&secret, None, ID, TIMESTAMP, BODY);
        assert_eq!(verify(&secret, &headers, BODY, TIMESTAMP + 300), Ok(()));
        assert_eq!(verify(&secret, &headers, BODY, TIMESTAMP - 300), Ok(()));
        assert_eq!(verify(&secret, &headers, BODY, TIMESTAMP + 301), Err(Refused::Timestamp));
        assert_eq!(verify(&secret, &headers, BODY, TIMESTAMP - 301), Err(Refused::Timestamp));
        // however far off: no overflow makes it look recent
        for far in [i64::MIN, i64::MAX, TIMESTAMP.wrapping_add(i64::MIN)] {
            let off = SignedHeaders { timestamp: far, ..headers.clone() };
            assert_eq!(verify(&secret, &off, BODY, TIMESTAMP), Err(Refused::Timestamp), "{far}");
        }
        let no_id = SignedHeaders { id: String::new(), ..headers.clone() };
        assert_eq!(verify(&secret, &no_id, BODY, TIMESTAMP), Err(Refused::MissingId));
    }

    #[test]
    fn during_a_rotation_a_receiver_with_either_secret_accepts() {
        let (old, new) = (WebhookSecret::generate(), WebhookSecret::generate());
        let headers = SignedHeaders::new(&new, Some(&old), ID, TIMESTAMP, BODY);
        assert_eq!(headers.signature.split(' ').count(), 2);
        assert_eq!(verify(&old, &headers, BODY, TIMESTAMP), Ok(()));
        assert_eq!(verify(&new, &headers, BODY, TIMESTAMP), Ok(()));
    }

    #[test]
    fn secrets_are_24_to_64_bytes_of_base64_and_never_shown_by_debug() {
        for bad in
            ["", "whsec_", "whsec_not base64!", "whsec_c2hvcnQ=", &format!("whsec_{}", STANDARD.encode([7u8; 65]))]
        {
            assert!(WebhookSecret::parse(bad).is_err(), "{bad:?}");
        }
        let secret = WebhookSecret::generate();
        let shown = secret.expose();
        assert_eq!(WebhookSecret::parse(&shown).unwrap().expose(), shown);
        assert_eq!(format!("{secret:?}"), "WebhookSecret(..)");
    }
}
