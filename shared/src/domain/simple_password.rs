//! "Too simple" (seed 000): one of the 10,000 most used passwords, or nothing but a pattern a
//! guesser tries first: one run of a keyboard or alphabet sequence, one repeated unit, or two runs
//! of repeated characters.
//!
//! The list is the top 10,000 of Django's common-passwords list (BSD licence), frequency ordered and
//! lowercased; see `data/README.md`.

use std::collections::HashSet;
use std::sync::LazyLock;

static COMMON: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| include_str!("../../data/common-passwords-10k.txt").lines().collect());

/// Rows a guesser walks, forwards or backwards.
const SEQUENCES: &[&str] = &[
    "abcdefghijklmnopqrstuvwxyz",
    "01234567890",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm",
    "qazwsxedcrfvtgbyhnujmikolp",
];

pub fn is_too_simple(password: &str) -> bool {
    let lower = password.to_lowercase();
    COMMON.contains(lower.as_str()) || is_one_sequence(&lower) || is_repeated_unit(&lower) || is_two_repeats(&lower)
}

fn is_one_sequence(s: &str) -> bool {
    let reversed: String = s.chars().rev().collect();
    SEQUENCES.iter().any(|row| row.contains(s) || row.contains(&reversed))
}

/// "aaaaaaaa", "abababab", "12341234".
fn is_repeated_unit(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    (1..=4).any(|unit| chars.len() >= unit * 2 && chars.chunks(unit).all(|c| c == &chars[..c.len()]))
}

/// "aaaa1111", "zzzzz999".
fn is_two_repeats(s: &str) -> bool {
    let mut runs = 0;
    let mut previous = None;
    for c in s.chars() {
        if previous != Some(c) {
            runs += 1;
            previous = Some(c);
        }
    }
    runs <= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_bundled_and_complete() {
        assert_eq!(COMMON.len(), 10_000);
    }

    #[test]
    fn patterns_are_too_simple() {
        for p in [
            "12345678",
            "87654321",
            "abcdefgh",
            "qwertyui",
            "aaaa1111",
            "abababab",
            "qwerty123",
            "Password1",
            "1qaz2wsx3edc",
        ] {
            assert!(is_too_simple(p), "{p}");
        }
    }

    #[test]
    fn ordinary_passwords_are_not() {
        for p in ["1234Qwerty", "tram-lamp-58-violet", "Zk29fj#plq", "9moonlight-Otter"] {
            assert!(!is_too_simple(p), "{p}");
        }
    }
}
