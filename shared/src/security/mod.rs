//! Secrets: randomness, confirmation codes, password hashing and tokens.

pub mod access_token;
pub mod code;
pub mod low_s;
pub mod password_hash;
pub mod random;
pub mod sumsub_signature;
pub mod tokens;
