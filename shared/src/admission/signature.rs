//! `X-Signature` (api.md): `t=<unix seconds>,v1=<hex HMAC-SHA256>` over
//! `<t>\n<METHOD>\n<path[?query]>\n<body>`, keyed with the partner's signing secret, accepted within
//! five minutes of the server's clock either way and compared in constant time.
//!
//! A partner that calls from its own backend passes each end user's address in
//! `X-End-User-Address`; the MAC then covers it: `end-user-address\n<address>\n` before the bytes
//! above. That prefix cannot begin a request signed without the header (those begin with the
//! time's digits), so no signature made for one form verifies the other.

use aws_lc_rs::hmac;

use crate::domain::partner::SigningSecret;
use crate::error::ApiError;

pub const HEADER: &str = "X-Signature";
pub const END_USER_HEADER: &str = "X-End-User-Address";

/// What a signature covers.
pub struct Signed<'a> {
    pub method: &'a str,
    pub path_and_query: &'a str,
    pub body: &'a [u8],
    /// `X-End-User-Address`, as sent, when the request carries it.
    pub end_user: Option<&'a str>,
}

impl Signed<'_> {
    fn payload(&self, timestamp: i64) -> Vec<u8> {
        let mut payload = match self.end_user {
            Some(address) => format!("end-user-address\n{address}\n").into_bytes(),
            None => Vec::new(),
        };
        payload.extend(signed_payload(timestamp, self.method, self.path_and_query, self.body));
        payload
    }
}
/// How far the signed time may be from the server's clock, either way.
pub const WINDOW_SECS: i64 = 5 * 60;

/// The exact bytes a partner signs.
pub fn signed_payload(timestamp: i64, method: &str, path_and_query: &str, body: &[u8]) -> Vec<u8> {
    let mut payload = format!("{timestamp}\n{method}\n{path_and_query}\n").into_bytes();
    payload.extend_from_slice(body);
    payload
}

/// What a partner sends: `t=...,v1=...` for `payload` signed at `timestamp`.
pub fn sign(secret: &SigningSecret, timestamp: i64, method: &str, path_and_query: &str, body: &[u8]) -> String {
    sign_request(secret, timestamp, &Signed { method, path_and_query, body, end_user: None })
}

/// `sign`, for a request that may carry `X-End-User-Address`.
pub fn sign_request(secret: &SigningSecret, timestamp: i64, request: &Signed<'_>) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose().as_bytes());
    let tag = hmac::sign(&key, &request.payload(timestamp));
    format!("t={timestamp},v1={}", crate::security::random::hex(tag.as_ref()))
}

struct Parsed {
    timestamp: i64,
    macs: Vec<Vec<u8>>,
}

fn parse(header: &str) -> Option<Parsed> {
    let mut timestamp = None;
    let mut macs = Vec::new();
    for part in header.split(',') {
        let (name, value) = part.trim().split_once('=')?;
        match name {
            "t" => timestamp = Some(value.parse().ok()?),
            "v1" => macs.push(crate::security::random::decode_hex(value)?),
            // Unknown schemes are skipped, so a later scheme can be sent alongside v1.
            _ => {}
        }
    }
    Some(Parsed { timestamp: timestamp?, macs }).filter(|p| !p.macs.is_empty())
}

pub fn verify(secret: &SigningSecret, header: Option<&str>, request: &Signed<'_>, now: i64) -> Result<(), ApiError> {
    let header = header.ok_or(ApiError::Signature("this partner signs its requests and X-Signature is missing"))?;
    let parsed =
        parse(header).ok_or(ApiError::Signature("X-Signature must look like t=<unix seconds>,v1=<hex HMAC-SHA256>"))?;
    // abs_diff cannot overflow, whatever number the client sent.
    if now.abs_diff(parsed.timestamp) > WINDOW_SECS.unsigned_abs() {
        return Err(ApiError::Signature("the signed time is more than 5 minutes from the server's clock"));
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.expose().as_bytes());
    let payload = request.payload(parsed.timestamp);
    if parsed.macs.iter().any(|mac| hmac::verify(&key, &payload, mac).is_ok()) {
        Ok(())
    } else {
        Err(ApiError::Signature("the signature does not match the request"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_000_000;

    fn secret() -> SigningSecret {
        SigningSecret::from_stored("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".into())
    }

    #[test]
    fn matches_the_worked_example_in_the_readme() {
        // printf '%s\n%s\n%s\n%s' 1764000000 POST /v2/mobile/signup '{"phone":"+447871234567","password":"1234Qwerty"}' \
        //   | openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
        let body = br#"{"phone":"+447871234567","password":"1234Qwerty"}"#;
        let header = sign(&secret(), NOW, "POST", "/v2/mobile/signup", body);
        assert_eq!(header, format!("t={NOW},v1={}", README_EXAMPLE_MAC));
    }

    /// Computed with openssl as docs/partners.md shows; a change here breaks every partner's client.
    const README_EXAMPLE_MAC: &str = "7e9d68d5c8e7c6d285b9dffe6da4778bf1fd0097b5a225bc3154effa1e9fb2b0";

    fn request<'a>(method: &'a str, path: &'a str, body: &'a [u8]) -> Signed<'a> {
        Signed { method, path_and_query: path, body, end_user: None }
    }

    #[test]
    fn a_valid_signature_passes_within_the_window() {
        let header = sign(&secret(), NOW - 299, "GET", "/v2/mobile/profile", b"");
        assert!(verify(&secret(), Some(&header), &request("GET", "/v2/mobile/profile", b""), NOW).is_ok());
    }

    #[test]
    fn an_end_user_address_verifies_only_under_the_signature_that_covers_it() {
        // GIVEN a backend's request signed with its end user's address
        let body = br#"{"grant_type":"password"}"#;
        let with = |address| Signed { end_user: Some(address), ..request("POST", "/oauth/token", body) };
        let header = sign_request(&secret(), NOW, &with("198.51.100.7"));
        // THEN it verifies with that address only, and not as a request without one
        assert!(verify(&secret(), Some(&header), &with("198.51.100.7"), NOW).is_ok());
        assert!(verify(&secret(), Some(&header), &with("198.51.100.8"), NOW).is_err());
        assert!(verify(&secret(), Some(&header), &request("POST", "/oauth/token", body), NOW).is_err());
        // AND a signature made without the address does not vouch for one added to the request
        let plain = sign(&secret(), NOW, "POST", "/oauth/token", body);
        assert!(verify(&secret(), Some(&plain), &with("198.51.100.7"), NOW).is_err());
    }

    #[test]
    fn missing_stale_future_malformed_and_wrong_signatures_fail() {
        let body = b"{}";
        let fails = |header: Option<&str>| verify(&secret(), header, &request("POST", "/p", body), NOW).is_err();
        assert!(fails(None));
        assert!(fails(Some(&sign(&secret(), NOW - 301, "POST", "/p", body))));
        assert!(fails(Some(&sign(&secret(), NOW + 301, "POST", "/p", body))));
        assert!(fails(Some("v1=00")));
        assert!(fails(Some(&format!("t={NOW}"))));
        assert!(fails(Some(&sign(&secret(), NOW, "POST", "/p", b"{ }"))));
        assert!(fails(Some(&sign(&secret(), NOW, "PUT", "/p", body))));
        assert!(fails(Some(&sign(&secret(), NOW, "POST", "/q", body))));
        assert!(fails(Some(&sign(&SigningSecret::generate(), NOW, "POST", "/p", body))));
    }

    #[test]
    fn timestamps_at_the_ends_of_i64_are_refused_not_overflowed() {
        // Finding 9: `t=-9223372036854775808` panicked with "attempt to subtract with overflow".
        for t in [i64::MIN, i64::MIN + 1, i64::MAX, -1] {
            let header = format!("t={t},v1=00");
            assert!(verify(&secret(), Some(&header), &request("POST", "/p", b""), NOW).is_err(), "{t}");
            assert!(verify(&secret(), Some(&header), &request("POST", "/p", b""), i64::MIN).is_err(), "{t}");
        }
    }
}
