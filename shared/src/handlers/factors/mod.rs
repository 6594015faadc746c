//! The second factors a signed-in user manages (issue 27, docs/factors.md): the step-up code by SMS
//! of an account without one, the enrolment of an authenticator app and its verification, the
//! enrolment of codes by SMS (and the code a sign-in asks for with them), the list, the removal,
//! and new recovery codes. Every change needs a recent `aal2`
//! (`factors::step_up`), tells the owner on every confirmed contact, and writes under a condition
//! on the account as read, so parallel requests change it once.

pub mod factor_remove;
pub mod factors_list;
pub mod recovery_codes_regenerate;
mod shown;
pub mod sign_in_code;
pub mod sms_factor_enrol;
pub mod step_up_code;
pub mod support;
pub mod totp_enrol;
pub mod totp_verify;

use zeroize::Zeroizing;

use crate::App;
use crate::error::ApiError;
use crate::factors::recovery::new_set;
use crate::ports::{AccountRecord, RecoverySet};

pub(super) use shown::factors_shown;

/// A new set of recovery codes for `account`: as stored (MACs under the set's own key, that key
/// sealed by KMS), and as shown once to the user.
async fn sealed_recovery_set(
    app: &App,
    account: &AccountRecord,
    now: i64,
) -> Result<(RecoverySet, Vec<Zeroizing<String>>), ApiError> {
    let set = new_set(&account.merchant_id, &account.user_id);
    let sealed_key = app.sealer.seal(&account.user_id, set.key.expose()).await?;
    let stored = RecoverySet { set_id: set.set_id, sealed_key, remaining: set.sealed, created_at: now };
    Ok((stored, set.shown))
}
