//! Password changes and resets: the new hash, its history, the next credential version and the
//! revocation of sessions in one transaction, so no session outlives a reset it should not.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::events::event_count;
use super::items::*;
use super::table::{DynamoStore, Values, values};
use crate::ports::{AccountStatus, PasswordChange, Passwords, StoreError};
use crate::security::code::CodePurpose;

/// DynamoDB takes 100 items a transaction. The account, its event (and, for an event that names a
/// contact, its index entry; none here) and either the code and its claim or the caller's session
/// come first; the revocations take what room is left. Sessions past it are still dead: their
/// credential version is no longer the account's.
const MAX_TRANSACTION_ITEMS: usize = 100;

#[async_trait]
impl Passwords for DynamoStore {
    async fn set_password(&self, change: PasswordChange<'_>) -> Result<(), StoreError> {
        let history = AttributeValue::L(change.history.iter().map(|h| s(h.as_str())).collect());
        let mut vals: Values = values([
            (":hash", s(&change.new_hash)),
            (":history", history),
            (":expected", s(change.expected_hash)),
            (":active", status_value(AccountStatus::Active)),
            (":credentials", n(change.credential_version)),
            (":now", n(change.now)),
        ]);
        let mut update =
            "SET passwordHash = :hash, passwordHistory = :history, credentialVersion = :credentials, updatedAt = :now"
                .to_owned();
        if change.reset_code.is_some() {
            update.push_str(", validAfter = :now");
        }
        let (count, counted) = event_count(&change.events, &mut vals);
        update.push_str(&count);
        let condition = format!("#status = :active AND passwordHash = :expected{counted}");
        let mut items = vec![self.update(key_for_account(change.user_id), &update, &condition, vals)?];
        self.event_writes(&change.events, &mut items)?;
        if let Some((who, code_id)) = change.reset_code {
            items.push(self.consume_code_item(who, CodePurpose::PasswordReset, code_id)?);
            // The number or address the code went to is still the account's: a code sent before the
            // number moved to another account, or the address was replaced, resets nothing.
            items.push(self.check(
                item_key(identifier_pk(who), CLAIM_SK),
                "userId = :uid",
                values([(":uid", s(change.user_id))]),
            )?);
        }
        if let Some(session_id) = change.keep_session {
            // The caller proved the old password: its session moves to the new credentials.
            items.push(self.update(
                item_key(user_pk(change.user_id), session_sk(session_id)),
                "SET credentialVersion = :credentials",
                "attribute_exists(pk) AND attribute_not_exists(revokedAt)",
                values([(":credentials", n(change.credential_version))]),
            )?);
        }
        let room = MAX_TRANSACTION_ITEMS.saturating_sub(items.len());
        for session_id in change.revoke_sessions.iter().take(room) {
            items.push(self.revoke_write(change.user_id, session_id, change.now)?);
        }
        self.transact("TransactWriteItems set password", items).await
    }
}
