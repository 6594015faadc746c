//! The one source of randomness: the operating system's CSPRNG through aws-lc.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

pub fn bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // The system RNG failing is not recoverable; no request can be answered safely without it.
    #[allow(clippy::expect_used)]
    SystemRandom::new().fill(&mut buf).expect("the operating system's random generator failed");
    buf
}

/// A uniform number below `bound`, by rejection sampling so no value is more likely than another.
pub fn below(bound: u32) -> u32 {
    let limit = u32::MAX - (u32::MAX % bound);
    loop {
        let candidate = u32::from_le_bytes(bytes::<4>());
        if candidate < limit {
            return candidate % bound;
        }
    }
}

/// 128 random bits as hex: ids for codes, sessions and token families.
pub fn id() -> String {
    hex(&bytes::<16>())
}

pub fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

/// Lowercase or uppercase hex to bytes; `None` for anything else.
pub fn decode_hex(s: &str) -> Option<Vec<u8>> {
    // Hex digits only: `from_str_radix` alone would also take a sign ("+f").
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}
