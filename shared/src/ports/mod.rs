//! The capabilities the handlers need, as small traits. AWS code implements them in `adapters`;
//! tests wrap those real adapters to inject faults, and `memory` (with the `memory-store` feature)
//! implements the store in memory for unit tests of handler logic.
//!
//! - `keys`: what names an account, a recipient, a streak.
//! - `records`: what the store keeps and returns.
//! - `store`: the store's capabilities (`Directory`, `Signups`, `Profiles`, `Codes`, `SendLogs`,
//!   `SigninStreaks`, `Sessions`, `Passwords`), joined as `AccountStore`; the partner registry and
//!   counters.
//! - `factors`: second factors and the sign-in challenge they open (`Factors`).
//! - `delivery`: sending SMS and email.
//! - `signing`: signing access tokens (KMS in production).
//! - `sealing`: sealing second-factor secrets (KMS in production).
//! - `kyc`: Sumsub's API and the partners' Sumsub credentials.
//! - `webhooks`: posting an event to a partner's endpoint.

mod delivery;
mod factors;
mod keys;
mod kyc;
mod records;
mod sealing;
mod signing;
mod store;
mod webhooks;

pub use delivery::*;
pub use factors::*;
pub use keys::*;
pub use kyc::*;
pub use records::*;
pub use sealing::*;
pub use signing::*;
pub use store::*;
pub use webhooks::*;

/// Whether a store call failed because a condition did not hold (a race or a stale read, safe to
/// answer) or because the store itself failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a conditional write found the data changed")]
    Conflict,
    #[error("the store is throttling or unavailable: {0}")]
    Unavailable(String),
    #[error("the store failed: {0}")]
    Backend(String),
}

/// The time, as Unix seconds. A port so tests can move past a code's lifetime.
pub trait Clock: Send + Sync {
    fn now(&self) -> i64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default()
    }
}
