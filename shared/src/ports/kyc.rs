//! Identity verification with Sumsub: its API (SDK access tokens) and the partner's credentials
//! for it, each behind a small trait so tests can point them at a local stand-in or make them fail.

use async_trait::async_trait;
use zeroize::Zeroizing;

use crate::domain::sumsub::SumsubCredentials;

/// What the SDK needs to open for one user: `POST /resources/accessTokens/sdk`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkTokenRequest {
    /// Our user reference (`usr:...`): Sumsub's `userId`, which its webhooks return as `externalUserId`.
    pub user_id: String,
    pub level_name: String,
    pub ttl_secs: u32,
}

/// An SDK access token. Never printed by `Debug`.
pub struct SdkToken {
    pub token: Zeroizing<String>,
    pub user_id: String,
}

impl std::fmt::Debug for SdkToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SdkToken(<redacted>, {})", self.user_id)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KycProviderError {
    /// Not reached, timed out, throttled (429) or failed (5xx): worth trying again later.
    #[error("Sumsub is unavailable: {0}")]
    Unavailable(String),
    /// Sumsub answered with a client error: the partner's app token, secret or level is wrong.
    #[error("Sumsub refused the request: HTTP {status} {detail}")]
    Refused { status: u16, detail: String },
    /// The partner's credentials could not be read (Secrets Manager down, or the secret is gone).
    #[error("the partner's Sumsub credentials could not be read: {0}")]
    Credentials(String),
}

#[async_trait]
pub trait SumsubApi: Send + Sync {
    async fn sdk_access_token(
        &self,
        app_token: &str,
        app_secret: &str,
        request: &SdkTokenRequest,
    ) -> Result<SdkToken, KycProviderError>;
}

/// The partner's app secret and webhook secret, wherever they are kept (Secrets Manager).
#[async_trait]
pub trait PartnerSecrets: Send + Sync {
    async fn sumsub_credentials(&self, arn: &str) -> Result<SumsubCredentials, KycProviderError>;
}
