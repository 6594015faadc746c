//! Sealing the secrets a second factor keeps (a TOTP secret): KMS in production, under a key of its
//! own and an encryption context naming the purpose and the account, so a sealed secret copied to
//! another account's item does not open.

use async_trait::async_trait;
use zeroize::Zeroizing;

use super::StoreError;

#[async_trait]
pub trait SecretSealer: Send + Sync {
    /// `secret`, sealed for `user_id`, as text to keep on the account item.
    async fn seal(&self, user_id: &str, secret: &[u8]) -> Result<String, StoreError>;

    /// The secret `sealed` holds, if it was sealed for `user_id`.
    async fn open(&self, user_id: &str, sealed: &str) -> Result<Zeroizing<Vec<u8>>, StoreError>;
}

/// A function given no factor key: it can neither seal nor open, so a sign-in that needs a factor
/// answers 503 rather than passing without it.
pub struct NoSealer;

#[async_trait]
impl SecretSealer for NoSealer {
    async fn seal(&self, _user_id: &str, _secret: &[u8]) -> Result<String, StoreError> {
        Err(StoreError::Unavailable("this function has no factor key (FACTOR_KEY_ARN)".into()))
    }

    async fn open(&self, _user_id: &str, _sealed: &str) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        Err(StoreError::Unavailable("this function has no factor key (FACTOR_KEY_ARN)".into()))
    }
}
