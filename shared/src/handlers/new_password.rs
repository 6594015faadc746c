//! What every new password goes through, on reset and on change alike: the partner's policy with
//! what is known of the user, the history of five, then the hash and the history it leaves.

use crate::App;
use crate::domain::partner::Partner;
use crate::domain::password::Password;
use crate::domain::password_policy::{PasswordContext, next_history};
use crate::domain::phone::PhoneNumber;
use crate::error::ApiError;
use crate::ports::{AccountRecord, Sessions};

/// The new hash and the history to store with it.
pub(super) async fn vet_new_password(
    app: &App,
    partner: &Partner,
    account: &AccountRecord,
    password: &Password,
) -> Result<(String, Vec<String>), ApiError> {
    let policy = partner.password_policy();
    let phone = account.phone.as_deref().and_then(|p| PhoneNumber::parse(p).ok());
    let context =
        PasswordContext { phone: phone.as_ref(), details: Some(&account.details), email: account.email.as_deref() };
    policy.check(password, &context)?;
    policy.check_not_reused(&app.hasher, password, &account.password_history).await?;
    let new_hash = app.hasher.hash(password).await?;
    let history = next_history(new_hash.clone(), &account.password_history);
    Ok((new_hash, history))
}

/// The user's live sessions, but `keep`.
pub(super) async fn sessions_to_revoke(
    sessions: &dyn Sessions,
    user_id: &str,
    keep: Option<&str>,
) -> Result<Vec<String>, ApiError> {
    Ok(sessions
        .sessions(user_id)
        .await?
        .into_iter()
        .filter(|s| !s.revoked && Some(s.session_id.as_str()) != keep)
        .map(|s| s.session_id)
        .collect())
}
