use async_trait::async_trait;

use crate::security::tokens::PublicKey;

/// Why a signature could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// Throttled, timed out or unreachable: worth a retry by the caller.
    #[error("the signer is unavailable: {0}")]
    Unavailable(String),
    #[error("the signer failed: {0}")]
    Failed(String),
}

/// Signs access tokens. In production the private key never leaves KMS; this process holds only
/// the right to ask for a signature and the public key.
#[async_trait]
pub trait TokenSigner: Send + Sync {
    /// The public half and the `kid` tokens signed here carry.
    fn public_key(&self) -> &PublicKey;
    /// An ES256 signature of `message` in JWS form: fixed-size `r || s`, any S.
    async fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignError>;
}
