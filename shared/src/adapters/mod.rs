//! AWS (and Sumsub) implementations of the ports, and the HTTPS poster of webhooks. Nothing outside
//! this module talks to an AWS SDK, to Sumsub or to a partner's endpoint.

/// Why a cold-start read (a public key, the pepper) gave nothing: AWS could not be reached, which
/// may pass, or what it holds cannot serve, which will not.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Unreachable(String),
    #[error("{0}")]
    Unsuitable(String),
}

pub mod call_limits;
pub mod dynamodb;
pub mod factor_sealer;
pub mod https;
pub mod kms;
pub mod partner_secrets;
pub mod secrets;
pub mod ses;
pub mod sns;
pub mod sqs;
pub mod sumsub;
pub mod webhook_https;
