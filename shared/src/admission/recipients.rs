//! How many different phones and mailboxes one signed-in account may send codes and links to in a
//! UTC day (`RateLimits::phones_per_account`, `emails_per_account`). Sending again to a recipient it
//! already reached that day costs nothing here (only that recipient's own cooldown and caps apply),
//! so a user retrying one number or address is never held back by this; an account that walks
//! through numbers to spend the partner's SMS budget, or mails strangers, is.

use aws_lc_rs::digest;

use crate::App;
use crate::domain::send_limits::DAY;
use crate::error::ApiError;
use crate::ports::{Admission, CounterKey, Recipient, StoreError};
use crate::security::random;

/// What counters keep in place of a phone number or address: a digest, so no counter holds one.
pub fn digest_of(recipient: &str) -> String {
    random::hex(&digest::digest(&digest::SHA256, recipient.as_bytes()).as_ref()[..16])
}

fn counter(user_id: &str, kind: &str, day: i64) -> CounterKey {
    CounterKey { name: format!("account:{kind}:{user_id}:{day}"), expires_at: (day + 1) * DAY + 3600 }
}

/// Forgets the account's recipients of today and yesterday (the sets that may still exist), when
/// the account is deleted. A failure is logged: the sets expire within a day anyway.
pub async fn forget(app: &App, user_id: &str) {
    let today = app.clock.now().div_euclid(DAY);
    for day in [today - 1, today] {
        for kind in ["phones", "emails"] {
            if let Err(err) = app.counters.remove(&counter(user_id, kind, day)).await {
                tracing::warn!(error = %err, "an account's recipient set was not removed");
            }
        }
    }
}

/// Admits `to` as one of the account's recipients today, or answers 429 until the next UTC day.
pub async fn admit(app: &App, user_id: &str, to: Recipient<'_>) -> Result<(), ApiError> {
    let now = app.clock.now();
    let day = now.div_euclid(DAY);
    let ends = (day + 1) * DAY;
    let (kind, limit, recipient) = match to {
        Recipient::Phone(phone) | Recipient::AccountPhone(phone, _) => {
            ("phones", app.rate_limits.phones_per_account, phone.e164())
        }
        Recipient::Email(email) => ("emails", app.rate_limits.emails_per_account, email.as_str()),
    };
    let key = counter(user_id, kind, day);
    // The set holds digests, not the numbers and addresses themselves.
    let member = digest_of(recipient);
    // Counted only while the account is active, so a count racing the account's deletion either
    // lands before the erasure (which then forgets it) or fails: no set outlives the account.
    for round in 0..RACE_ROUNDS {
        if round > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(10 * round)).await;
        }
        match app.counters.admit_recipient(&key, &member, limit, user_id).await {
            Ok(Admission::Admitted) => return Ok(()),
            Ok(Admission::Full) => {
                tracing::info!(user_id = %user_id, kind, "daily new-recipient limit of the account reached");
                return Err(ApiError::TooManyRequests { retry_after: (ends - now).max(1) as u64 });
            }
            Ok(Admission::AccountGone) => return Err(ApiError::Unauthorized("account gone".into())),
            // A transaction in flight on the account or the set: look again.
            Err(StoreError::Conflict) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(ApiError::Unavailable)
}

/// Tries of a count that keeps meeting transactions in flight before the request gives up (503).
const RACE_ROUNDS: u64 = 3;
