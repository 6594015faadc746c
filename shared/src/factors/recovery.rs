//! Recovery codes: the way back in for a user who lost the device that holds their second factor.
//!
//! Ten codes, made together as one set, shown once when made and never again; each works once.
//! Making a new set replaces the whole old one. A code is 10 characters of Crockford's base32 (50
//! random bits), shown as two groups of five; what a user types back is read loosely (any case,
//! spaces or dashes anywhere, the letters Crockford reads as digits), because it is typed from
//! paper. Only keyed MACs are kept, under a random key of the set's own that is kept sealed by KMS
//! (the factor key, as a TOTP secret is), and bound to the partner, the account and the set: a copy
//! of the table alone gives nothing to guess offline, a code of one set, account or partner
//! matches nowhere else, and no rotation of any other secret can invalidate a set.
//!
//! Single use is the store's: using a code removes its MAC from the set under a condition that it
//! is still there, so of two parallel uses exactly one succeeds.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::hmac;
use zeroize::Zeroizing;

use crate::security::random;

/// Codes in a set.
pub const COUNT: usize = 10;
/// Characters in a code: 10 of base32 are 50 bits, far beyond any online guessing the back-off
/// allows, and short enough to type from paper.
const LENGTH: usize = 10;
/// Crockford's base32: no I, L, O or U, so nothing reads as another character.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// One recovery code, as typed or as made: its 10 characters, upper case.
pub struct RecoveryCode(Zeroizing<String>);

impl RecoveryCode {
    fn generate() -> RecoveryCode {
        let text = (0..LENGTH).map(|_| char::from(ALPHABET[random::below(32) as usize])).collect();
        RecoveryCode(Zeroizing::new(text))
    }

    /// What a user typed: case, spaces and dashes do not matter, and `I`/`L` read as `1`, `O` as
    /// `0` (Crockford's rule). Anything else, or the wrong length, is not a recovery code.
    pub fn parse(typed: &str) -> Option<RecoveryCode> {
        let mut text = Zeroizing::new(String::with_capacity(LENGTH));
        for c in typed.chars().filter(|c| !matches!(c, ' ' | '-')) {
            let c = match c.to_ascii_uppercase() {
                'I' | 'L' => '1',
                'O' => '0',
                other => other,
            };
            if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) || text.len() == LENGTH {
                return None;
            }
            text.push(c);
        }
        (text.len() == LENGTH).then_some(RecoveryCode(text))
    }

    /// As shown to the user: `XXXXX-XXXXX`.
    pub fn shown(&self) -> Zeroizing<String> {
        let (first, second) = self.0.split_at(LENGTH / 2);
        Zeroizing::new(format!("{first}-{second}"))
    }
}

/// What a set's codes are bound to.
#[derive(Debug, Clone, Copy)]
pub struct SetBinding<'a> {
    pub merchant: &'a str,
    pub user_id: &'a str,
    /// Changes with every new set, so a code of a replaced set matches nothing.
    pub set_id: &'a str,
}

impl SetBinding<'_> {
    fn message(&self, code: &RecoveryCode) -> Zeroizing<String> {
        Zeroizing::new(format!("v1|recovery|{}|{}|{}|{}", self.merchant, self.user_id, self.set_id, code.0.as_str()))
    }
}

/// A set's MAC key: 256 random bits, kept only sealed (`SecretSealer`).
pub struct SetKey(Zeroizing<Vec<u8>>);

impl SetKey {
    pub fn generate() -> SetKey {
        SetKey(Zeroizing::new(random::bytes::<32>().to_vec()))
    }

    /// A key as `SecretSealer::open` gave it back.
    pub fn from_bytes(bytes: &[u8]) -> SetKey {
        SetKey(Zeroizing::new(bytes.to_vec()))
    }

    /// To hand to `SecretSealer::seal`.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    fn mac(&self, message: &str) -> String {
        random::hex(hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &self.0), message.as_bytes()).as_ref())
    }
}

/// A new set: the codes to show once, the MACs to keep (in the same order) and the key they are
/// MACs under, to seal and keep beside them.
pub struct NewSet {
    pub set_id: String,
    pub shown: Vec<Zeroizing<String>>,
    pub sealed: Vec<String>,
    pub key: SetKey,
}

/// Makes a set of `COUNT` distinct codes for the account.
pub fn new_set(merchant: &str, user_id: &str) -> NewSet {
    let key = SetKey::generate();
    let set_id = random::id();
    let binding = SetBinding { merchant, user_id, set_id: &set_id };
    let mut codes: Vec<RecoveryCode> = Vec::with_capacity(COUNT);
    while codes.len() < COUNT {
        let code = RecoveryCode::generate();
        // Two equal codes in 2^50 are as good as impossible; a set still never holds one twice.
        if !codes.iter().any(|c| c.0 == code.0) {
            codes.push(code);
        }
    }
    let shown = codes.iter().map(RecoveryCode::shown).collect();
    let sealed = codes.iter().map(|code| key.mac(&binding.message(code))).collect();
    NewSet { set_id, shown, sealed, key }
}

/// The stored MAC `typed` matches among the set's `remaining` ones, to remove on use; `None` if it
/// matches none. Every stored MAC is compared, in constant time, so the time says nothing of which
/// one matched or how closely.
pub fn matching<'s>(
    key: &SetKey,
    binding: SetBinding<'_>,
    typed: &RecoveryCode,
    remaining: &'s [String],
) -> Option<&'s str> {
    let candidate = key.mac(&binding.message(typed));
    let mut found = None;
    for stored in remaining {
        if verify_slices_are_equal(stored.as_bytes(), candidate.as_bytes()).is_ok() {
            found = Some(stored.as_str());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::HashSet;

    use super::*;

    fn binding(set_id: &str) -> SetBinding<'_> {
        SetBinding { merchant: "m1", user_id: "u1", set_id }
    }

    #[test]
    fn a_set_is_ten_distinct_codes_shown_once_and_kept_only_as_macs() {
        let set = new_set("m1", "u1");
        assert_eq!((set.shown.len(), set.sealed.len()), (COUNT, COUNT));
        let distinct: HashSet<&str> = set.shown.iter().map(|c| c.as_str()).collect();
        assert_eq!(distinct.len(), COUNT);
        for (shown, sealed) in set.shown.iter().zip(&set.sealed) {
            assert_eq!(shown.len(), 11, "{}", shown.as_str());
            assert_eq!(&shown[5..6], "-");
            assert!(!sealed.contains(&shown[..5]) && !sealed.contains(&shown[6..]));
        }
    }

    #[test]
    fn each_code_matches_its_own_mac_typed_loosely_and_nothing_else_does() {
        let set = new_set("m1", "u1");
        for (shown, sealed) in set.shown.iter().zip(&set.sealed) {
            let loose = shown.to_lowercase().replace('-', " ").replace('1', "l").replace('0', "o");
            let typed = RecoveryCode::parse(&loose).unwrap();
            assert_eq!(matching(&set.key, binding(&set.set_id), &typed, &set.sealed), Some(sealed.as_str()));
        }
        let wrong = RecoveryCode::parse("ZZZZZ-ZZZZZ").unwrap();
        assert_eq!(matching(&set.key, binding(&set.set_id), &wrong, &set.sealed), None);
    }

    #[test]
    fn a_code_of_another_set_account_partner_or_key_matches_nothing() {
        let set = new_set("m1", "u1");
        let typed = RecoveryCode::parse(&set.shown[0]).unwrap();
        let elsewhere = [
            SetBinding { merchant: "m1", user_id: "u1", set_id: "another-set" },
            SetBinding { merchant: "m1", user_id: "u2", set_id: &set.set_id },
            SetBinding { merchant: "m2", user_id: "u1", set_id: &set.set_id },
        ];
        for other in elsewhere {
            assert_eq!(matching(&set.key, other, &typed, &set.sealed), None, "{other:?}");
        }
        assert_eq!(matching(&SetKey::generate(), binding(&set.set_id), &typed, &set.sealed), None);
        // the key as the sealer gives it back works like the one made
        let reopened = SetKey::from_bytes(set.key.expose());
        assert!(matching(&reopened, binding(&set.set_id), &typed, &set.sealed).is_some());
    }

    #[test]
    fn a_used_code_whose_mac_is_gone_matches_nothing() {
        let set = new_set("m1", "u1");
        let typed = RecoveryCode::parse(&set.shown[3]).unwrap();
        let remaining: Vec<String> = set.sealed.iter().filter(|s| *s != &set.sealed[3]).cloned().collect();
        assert_eq!(matching(&set.key, binding(&set.set_id), &typed, &remaining), None);
    }

    #[test]
    fn what_is_not_ten_base32_characters_is_not_a_code() {
        for typed in ["", "ABCDE", "ABCDE-FGHJK-M", "ABCDE-FGHJU", "ABCDÉ-FGHJK", "ABCDE_FGHJK", "٣٣٣٣٣٣٣٣٣٣"]
        {
            assert!(RecoveryCode::parse(typed).is_none(), "{typed:?}");
        }
        assert_eq!(RecoveryCode::parse(" abcde - fghjk ").unwrap().shown().as_str(), "ABCDE-FGHJK");
    }
}
