//! One handler per endpoint. Each reads and validates the request, runs the use case against the
//! ports, and always answers: a success or an envelope, never a panic.

pub mod account_delete;
pub mod account_export;
mod codes;
pub mod deletion_page;
mod delivery;
pub mod email_add;
pub mod email_confirm;
mod email_delivery;
pub mod email_resend;
mod erasure;
mod factors;
use factors::factors_shown;
pub use factors::{
    factor_remove, factors_list, recovery_codes_regenerate, sign_in_code, sms_factor_enrol, step_up_code, support,
    totp_enrol, totp_verify,
};
pub mod jwks;
pub mod kyc_sumsub_token;
mod new_password;
mod notices;
pub mod password_change;
mod password_check;
pub mod password_forgot;
pub mod password_reset;
pub mod phone_add;
pub mod phone_change;
pub mod phone_confirm;
pub mod phone_resend;
pub mod profile_get;
pub mod profile_update;
mod recovery_identifier;
pub mod revoke;
pub mod session_end;
pub mod sessions_end_others;
pub mod sessions_list;
mod signed_in;
pub mod signup;
pub mod signup_email;
pub mod sumsub_webhook;
pub mod token;
pub mod webhook_deliver;
pub mod webhook_dispatch;

pub use email_delivery::EMAIL_LINK_TTL_SECS;
pub use notices::NOTICES_PER_RECIPIENT_PER_DAY;
pub use token::REFRESH_GRACE_SECS;

use crate::error::ApiError;
use crate::ports::StoreError;

/// Codes for a phone live 5 minutes and allow 5 attempts (docs/targets.md).
pub const SMS_CODE_TTL_SECS: i64 = 5 * 60;
pub const CODE_ATTEMPTS: u32 = 5;
/// Codes by email live 10 minutes (docs/targets.md; ASVS 6.5.5 allows at most 10).
pub const EMAIL_CODE_TTL_SECS: i64 = 10 * 60;
/// A signup never confirmed stops holding its phone number after 7 days.
pub const PENDING_ACCOUNT_TTL_SECS: i64 = 7 * 24 * 3600;
/// The account looked up when there is none, so every path reads the same items.
const NO_USER: &str = "00000000-0000-0000-0000-000000000000";
/// How often a handler re-reads and retries after losing a race to a parallel request.
const RACE_RETRIES: u32 = 5;

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            // A conflict that reached here was retried already; the client may try again.
            StoreError::Conflict | StoreError::Unavailable(_) => {
                tracing::warn!(error = %err, "store unavailable or contended");
                ApiError::Unavailable
            }
            StoreError::Backend(detail) => ApiError::Internal(detail),
        }
    }
}

/// What one try of a use case came to: done, or beaten by a parallel request and worth re-reading.
enum Attempt<T> {
    Done(T),
    Raced,
}

/// A write for a signed-in account lost to a parallel request: worth trying again, unless the
/// account is gone (deleted meanwhile), which is a 401, as its tokens now are.
async fn raced_unless_gone<T>(app: &crate::App, user_id: &str) -> Result<Attempt<T>, ApiError> {
    match app.store.account(user_id).await? {
        Some(account) if account.status == crate::ports::AccountStatus::Active => Ok(Attempt::Raced),
        _ => Err(ApiError::Unauthorized("account gone".into())),
    }
}

/// The account's webhook event count to number a change's events from: as read on a first try;
/// read again on a retry, since another change that reported an event may have moved it on (and
/// the change's own conditions decide whether the retry may still go ahead).
async fn events_so_far(
    app: &crate::App,
    account: &crate::ports::AccountRecord,
    read_again: bool,
) -> Result<u64, crate::ports::StoreError> {
    if !read_again {
        return Ok(account.event_sequence);
    }
    let current = app.store.account(&account.user_id).await?;
    Ok(current.map_or(account.event_sequence, |current| current.event_sequence))
}

/// A short, random wait that grows with each lost round, so parallel losers do not collide again.
async fn race_backoff(round: u64) {
    let jitter_ms = u64::from(crate::security::random::below(20)) + 5;
    tokio::time::sleep(std::time::Duration::from_millis(jitter_ms * round)).await;
}

/// Runs `attempt` until it is not beaten by a parallel request, a few times at most. A transaction
/// cancelled because another one was still in flight would lose again if retried at once (the
/// winner has not committed yet), so each retry waits a short, random, growing time first.
async fn retry_races<T, F, Fut>(mut attempt: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Attempt<T>, ApiError>>,
{
    for round in 0..RACE_RETRIES {
        if round > 0 {
            race_backoff(round.into()).await;
        }
        if let Attempt::Done(value) = attempt().await? {
            return Ok(value);
        }
    }
    tracing::warn!(rounds = RACE_RETRIES, "gave up after losing every race");
    Err(ApiError::Unavailable)
}
