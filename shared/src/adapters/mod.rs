//! AWS (and Sumsub) implementations of the ports. Nothing outside this module talks to an AWS SDK
//! or to Sumsub.

pub mod call_limits;
pub mod dynamodb;
pub mod https;
pub mod kms;
pub mod partner_secrets;
pub mod secrets;
pub mod ses;
pub mod sns;
pub mod sumsub;
