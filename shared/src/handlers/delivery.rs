//! Sending a code by SMS without leaving anything half made: the send is reserved in the phone's send
//! log in the same transaction that stores the code, and released again if the SMS never left, so a
//! failed send does not hold the user back by a cooldown.

use zeroize::Zeroizing;

use super::{Attempt, CODE_ATTEMPTS, SMS_CODE_TTL_SECS};
use crate::App;
use crate::domain::sms_limits::SmsReservation;
use crate::error::ApiError;
use crate::ports::{PhoneKey, StoreError, StoredCode};
use crate::security::code::{CodeBinding, CodePurpose, ConfirmationCode};
use crate::security::random;

/// A fresh code and the form in which it is stored.
pub(super) fn new_code(
    app: &App,
    key: &PhoneKey,
    purpose: CodePurpose,
    user_id: &str,
    now: i64,
) -> (ConfirmationCode, StoredCode) {
    let code = ConfirmationCode::generate();
    let code_id = random::id();
    let binding = CodeBinding { purpose, merchant: &key.merchant_id, phone: key.phone.e164(), code_id: &code_id };
    let mac = app.code_mac.seal(&binding, &code);
    let stored = StoredCode {
        code_id,
        mac,
        user_id: user_id.to_owned(),
        expires_at: now + SMS_CODE_TTL_SECS,
        attempts_left: CODE_ATTEMPTS,
    };
    (code, stored)
}

pub(super) fn code_text(code: &ConfirmationCode) -> Zeroizing<String> {
    // The code first, so phones can offer it for autofill.
    Zeroizing::new(format!(
        "{} is your verification code. It expires in 5 minutes. Never share it with anyone.",
        code.expose()
    ))
}

pub(super) const EXISTING_ACCOUNT_NOTICE: &str = "Someone tried to sign up with this phone number, which already has an account. \
If it was you, sign in or reset your password. If not, you can ignore this message.";

/// Reserves a send for `key.phone`, lets `write` store it (with whatever else belongs in the same
/// transaction), then sends `text`. `Raced` if the write lost to a parallel request.
pub(super) async fn send_with<W, Fut>(app: &App, key: &PhoneKey, text: &str, write: W) -> Result<Attempt<()>, ApiError>
where
    W: FnOnce(SmsReservation) -> Fut,
    Fut: Future<Output = Result<(), StoreError>>,
{
    let now = app.clock.now();
    let log = app.store.sms_log(&key.phone).await?;
    let reservation =
        log.reserve(now, &app.sms_limits).map_err(|retry_after| ApiError::TooManyRequests { retry_after })?;
    match write(reservation.clone()).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => return Ok(Attempt::Raced),
        Err(other) => return Err(other.into()),
    }
    if let Err(err) = app.sms.send(&key.phone, text).await {
        tracing::warn!(error = %err, phone = %key.phone.masked(), "SMS not sent; releasing the send");
        if let Err(release) = app.store.release_sms(&key.phone, &reservation).await {
            tracing::warn!(error = %release, "could not release the SMS send");
        }
        return Err(ApiError::SmsUnavailable);
    }
    Ok(Attempt::Done(()))
}
