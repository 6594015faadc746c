//! Canonical ECDSA P-256 signatures. For every valid signature `(r, s)` the pair `(r, n - s)` is
//! valid too, so one token would have two valid strings (a second spelling that escapes any list
//! keyed on the token text). Only the low form, `s <= n / 2`, is issued and accepted.

/// The order of the P-256 group, big-endian.
const ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa,
    0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// `floor(n / 2)`, big-endian.
const HALF_ORDER: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xde, 0x73, 0x7d,
    0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
];

/// Whether a fixed-size `r || s` signature is in low-S form. Anything not 64 bytes is not.
pub fn is_low_s(signature: &[u8]) -> bool {
    signature.len() == 64 && signature[32..] <= HALF_ORDER[..]
}

/// The low-S form of a fixed-size `r || s` signature (itself if it already is low-S).
pub fn to_low_s(signature: &[u8; 64]) -> [u8; 64] {
    if is_low_s(signature) { *signature } else { twin(signature) }
}

/// `(r, n - s)`: the other valid signature of the same message.
pub fn twin(signature: &[u8; 64]) -> [u8; 64] {
    let mut out = *signature;
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let diff = i16::from(ORDER[i]) - i16::from(signature[32 + i]) - borrow;
        borrow = i16::from(diff < 0);
        out[32 + i] = diff.rem_euclid(256) as u8;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_twin_of_a_high_s_is_n_minus_s_and_low() {
        let mut high = [0u8; 64];
        high[32..].copy_from_slice(&ORDER);
        high[63] -= 1; // s = n - 1
        assert!(!is_low_s(&high));
        let low = to_low_s(&high);
        assert_eq!(low[32..63], [0u8; 31]);
        assert_eq!(low[63], 1);
        assert!(is_low_s(&low));
        assert_eq!(to_low_s(&low), low);
        assert_eq!(twin(&low), high);
    }

    #[test]
    fn half_the_order_is_the_largest_low_s() {
        let mut sig = [0u8; 64];
        sig[32..].copy_from_slice(&HALF_ORDER);
        assert!(is_low_s(&sig));
        sig[63] += 1;
        assert!(!is_low_s(&sig));
        assert!(!is_low_s(&sig[..63]));
    }
}
