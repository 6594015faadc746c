//! AWS implementations of the ports. Nothing outside this module talks to an AWS SDK.

pub mod call_limits;
pub mod dynamodb;
pub mod https;
pub mod kms;
pub mod secrets;
pub mod ses;
pub mod sns;
