//! A password as received: never logged, wiped from memory when dropped.

use std::fmt;

use zeroize::Zeroizing;

use crate::error::ApiError;

/// Longer input is refused before hashing (docs/targets.md: more than 1024 bytes).
pub const MAX_PASSWORD_BYTES: usize = 1024;

pub struct Password(Zeroizing<String>);

impl Password {
    pub fn new(raw: String) -> Result<Self, ApiError> {
        let raw = Zeroizing::new(raw);
        if raw.len() > MAX_PASSWORD_BYTES {
            return Err(ApiError::validation(
                "password",
                "max_length",
                format!("The password must be at most {MAX_PASSWORD_BYTES} bytes long."),
            ));
        }
        Ok(Password(raw))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}
