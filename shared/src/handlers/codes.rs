//! Checking a one-time code, the same way for every purpose: live, not expired, an attempt spent
//! before comparing (so parallel guessing never gets more than five tries), then a constant-time
//! comparison of MACs. Consuming the code is left to the caller's transaction.

use crate::App;
use crate::error::ApiError;
use crate::ports::{PhoneKey, StoredCode};
use crate::security::code::{CodeBinding, CodePurpose, ConfirmationCode};

pub(super) async fn check_code(
    app: &App,
    key: &PhoneKey,
    purpose: CodePurpose,
    code: &ConfirmationCode,
    now: i64,
) -> Result<StoredCode, ApiError> {
    let stored = app.store.code(key, purpose).await?.ok_or(ApiError::CodeNoLongerValid)?;
    if stored.expires_at <= now {
        return Err(ApiError::CodeNoLongerValid);
    }
    let attempts_remaining =
        app.store.spend_code_attempt(key, purpose, &stored.code_id, now).await?.ok_or(ApiError::CodeNoLongerValid)?;
    let binding =
        CodeBinding { purpose, merchant: &key.merchant_id, phone: key.phone.e164(), code_id: &stored.code_id };
    if !app.code_mac.matches(&binding, code, &stored.mac) {
        return Err(ApiError::CodeMismatch { attempts_remaining });
    }
    Ok(stored)
}
