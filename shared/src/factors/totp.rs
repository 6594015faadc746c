//! TOTP (RFC 6238) as authenticator apps run it: HMAC-SHA-1, 6 digits, 30-second steps, a 160-bit
//! secret; a code is accepted for its own step and one step either way, and each step at most once
//! (a code seen once cannot be replayed, nor an earlier one after it: RFC 6238 section 5.2). The
//! arithmetic is totp-rs's; what this module adds is the acceptance rule and the enrolment's
//! `otpauth://` URI and QR code (the qrcode crate, drawn as SVG text the app can show).

use aws_lc_rs::constant_time::verify_slices_are_equal;
use qrcode::QrCode;
use qrcode::render::svg;
use totp_rs::{Algorithm, TOTP};
use zeroize::Zeroizing;

use crate::security::random;

pub const DIGITS: usize = 6;
pub const STEP_SECS: i64 = 30;
/// Steps accepted either side of the current one (clock drift, a code typed at a step's end).
const SKEW_STEPS: i64 = 1;
/// RFC 4226 section 4 recommends 160 bits.
pub const SECRET_BYTES: usize = 20;

/// An authenticator's shared secret: made here, shown once (in the enrolment's URI), then kept
/// only sealed.
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl TotpSecret {
    pub fn generate() -> TotpSecret {
        TotpSecret(Zeroizing::new(random::bytes::<SECRET_BYTES>().to_vec()))
    }

    pub fn from_bytes(bytes: &[u8]) -> TotpSecret {
        TotpSecret(Zeroizing::new(bytes.to_vec()))
    }

    /// The secret an app was given in base32 (the enrolment's `secret`), as an app that cannot scan
    /// types it; `None` if it is not base32.
    pub fn from_base32(text: &str) -> Option<TotpSecret> {
        totp_rs::Secret::Encoded(text.to_owned()).to_bytes().ok().map(|bytes| TotpSecret(Zeroizing::new(bytes)))
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

/// One account's authenticator.
pub struct Authenticator {
    totp: TOTP,
}

impl Authenticator {
    /// The authenticator for `secret`, labelled `issuer:account` in the app.
    pub fn new(secret: &TotpSecret, issuer: &str, account: &str) -> Result<Authenticator, String> {
        Authenticator::with_digits(secret, DIGITS, issuer, account)
    }

    fn with_digits(secret: &TotpSecret, digits: usize, issuer: &str, account: &str) -> Result<Authenticator, String> {
        // A ':' separates issuer and account in the label: neither may hold one.
        let clean = |text: &str| text.replace(':', " ");
        let step = u64::try_from(STEP_SECS).unwrap_or(30);
        let skew = u8::try_from(SKEW_STEPS).unwrap_or(1);
        TOTP::new(Algorithm::SHA1, digits, skew, step, secret.expose().to_vec(), Some(clean(issuer)), clean(account))
            .map(|totp| Authenticator { totp })
            .map_err(|e| format!("not a usable TOTP: {e:?}"))
    }

    /// The `otpauth://totp/...` URI an authenticator app reads (it holds the secret).
    pub fn uri(&self) -> Zeroizing<String> {
        Zeroizing::new(self.totp.get_url())
    }

    /// The secret in base32 (RFC 4648, no padding), for typing into an app that cannot scan.
    pub fn secret_base32(&self) -> Zeroizing<String> {
        Zeroizing::new(self.totp.get_secret_base32())
    }

    /// The code for the step holding `time`.
    pub fn code_at(&self, time: i64) -> String {
        self.totp.generate(u64::try_from(time).unwrap_or(0))
    }

    /// The step `code` was made for, if it is one step either way of `now` and later than
    /// `last_used_step` (the step last accepted, which is never accepted again). `None` for
    /// anything else, a malformed code included.
    pub fn accept(&self, code: &str, now: i64, last_used_step: Option<i64>) -> Option<i64> {
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let current = now.div_euclid(STEP_SECS);
        let mut matched = None;
        // Every candidate is computed and compared, so the time taken does not say which matched.
        for step in current - SKEW_STEPS..=current + SKEW_STEPS {
            let expected = self.code_at(step * STEP_SECS);
            if verify_slices_are_equal(expected.as_bytes(), code.as_bytes()).is_ok() {
                matched = Some(step);
            }
        }
        matched.filter(|step| last_used_step.is_none_or(|last| *step > last))
    }
}

/// `uri` as a QR code, an SVG document the app can draw.
pub fn qr_svg(uri: &str) -> Result<String, String> {
    let code = QrCode::new(uri.as_bytes()).map_err(|e| format!("no QR code for the URI: {e}"))?;
    Ok(code.render::<svg::Color<'_>>().min_dimensions(200, 200).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, the SHA-1 rows: its 20-byte ASCII seed, 8 digits.
    const RFC_SEED: &[u8] = b"12345678901234567890";
    const RFC_VECTORS: [(i64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    fn rfc(digits: usize) -> Authenticator {
        Authenticator::with_digits(&TotpSecret::from_bytes(RFC_SEED), digits, "Example", "alice@example.com").unwrap()
    }

    #[test]
    fn rfc_6238_appendix_b_vectors_pass() {
        let eight = rfc(8);
        for (time, code) in RFC_VECTORS {
            assert_eq!(eight.code_at(time), code, "T = {time}");
        }
        // Six digits are the same number's last six (RFC 4226 section 5.3).
        let six = rfc(6);
        for (time, code) in RFC_VECTORS {
            assert_eq!(six.code_at(time), &code[2..], "T = {time}");
        }
    }

    #[test]
    fn a_code_is_accepted_one_step_either_way_and_not_two() {
        let app = rfc(6);
        let now = 1_800_000_015;
        for (offset, accepted) in [(-60, false), (-30, true), (0, true), (30, true), (60, false)] {
            let code = app.code_at(now + offset);
            assert_eq!(app.accept(&code, now, None).is_some(), accepted, "offset {offset}");
        }
    }

    #[test]
    fn a_step_is_accepted_once_and_no_earlier_one_after_it() {
        let app = rfc(6);
        let now = 1_800_000_015;
        let used = app.accept(&app.code_at(now), now, None).unwrap();
        assert_eq!(app.accept(&app.code_at(now), now, Some(used)), None, "the same code again");
        assert_eq!(app.accept(&app.code_at(now - 30), now, Some(used)), None, "the step before it");
        assert_eq!(app.accept(&app.code_at(now + 30), now, Some(used)), Some(used + 1), "the next step");
    }

    #[test]
    fn malformed_codes_are_refused_without_computing_anything_else() {
        let app = rfc(6);
        for code in ["", "12345", "1234567", "12a456", " 123456", "１２３４５６"] {
            assert_eq!(app.accept(code, 1_800_000_000, None), None, "{code:?}");
        }
    }

    #[test]
    fn the_uri_and_qr_code_carry_the_secret_in_base32_under_the_issuer() {
        let secret = TotpSecret::from_bytes(RFC_SEED);
        let app = Authenticator::new(&secret, "Acme: Wallet", "+447700900123").unwrap();
        let uri = app.uri();
        assert!(uri.starts_with("otpauth://totp/Acme%20%20Wallet:%2B447700900123?"), "{}", *uri);
        assert!(uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"), "{}", *uri);
        assert!(qr_svg(&uri).unwrap().starts_with("<?xml"));
        assert_eq!(TotpSecret::generate().expose().len(), SECRET_BYTES);
        // The base32 an enrolment shows reads back as the same secret.
        let app = Authenticator::new(&TotpSecret::from_bytes(RFC_SEED), "Example", "a").unwrap();
        let typed = TotpSecret::from_base32(&app.secret_base32()).unwrap();
        assert_eq!(typed.expose(), RFC_SEED);
        assert!(TotpSecret::from_base32("not base32!").is_none());
    }
}
