//! Password changes and resets: the new hash, its history and the revocation of sessions in one
//! transaction, so no session outlives a reset it should not.

use aws_sdk_dynamodb::types::AttributeValue;

use super::errors::classify;
use super::items::*;
use super::store::{DynamoAccountStore, Values, key_for_account, values};
use crate::domain::send_limits::SendReservation;
use crate::ports::{AccountStatus, Identifier, PasswordChange, PhoneKey, SessionRecord, StoreError, StoredCode};
use crate::security::code::CodePurpose;

/// DynamoDB takes 100 items a transaction; the account, the code or the caller's session take two.
/// Sessions past this many are still dead: their credential version is no longer the account's.
const MAX_REVOKED_PER_CHANGE: usize = 98;

impl DynamoAccountStore {
    pub(super) async fn sessions_of(&self, user_id: &str) -> Result<Vec<SessionRecord>, StoreError> {
        let mut sessions = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .set_expression_attribute_values(Some(values([
                    (":pk", s(user_pk(user_id))),
                    (":prefix", s("SESSION#")),
                ])))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| classify("Query sessions", e))?;
            for item in out.items.unwrap_or_default() {
                sessions.push(SessionRecord {
                    session_id: get_s(&item, "sessionId")?,
                    merchant_id: get_s(&item, "merchantId")?,
                    created_at: get_n(&item, "createdAt")?,
                    expires_at: get_n(&item, "expiresAt")?,
                    revoked: get_opt_n::<i64>(&item, "revokedAt")?.is_some(),
                    credential_version: get_opt_n(&item, "credentialVersion")?.unwrap_or(0),
                });
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(sessions);
            }
        }
    }

    pub(super) async fn store_reset_code(
        &self,
        key: &PhoneKey,
        code: StoredCode,
        send: &SendReservation,
    ) -> Result<(), StoreError> {
        let items = vec![
            self.check(
                item_key(phone_pk(key), CLAIM_SK),
                "userId = :uid AND #status = :active",
                values([(":uid", s(&code.user_id)), (":active", status_value(AccountStatus::Active))]),
            )?,
            self.code_item(Identifier::Phone(key), CodePurpose::PasswordReset, code)?,
            self.send_log_write(send)?,
        ];
        self.transact("TransactWriteItems issue reset code", items).await
    }

    pub(super) async fn write_password(&self, change: PasswordChange<'_>) -> Result<(), StoreError> {
        let history = AttributeValue::L(change.history.iter().map(|h| s(h.as_str())).collect());
        let mut vals: Values = values([
            (":hash", s(&change.new_hash)),
            (":history", history),
            (":expected", s(change.expected_hash)),
            (":active", status_value(AccountStatus::Active)),
            (":credentials", n(change.credential_version)),
        ]);
        let mut update =
            "SET passwordHash = :hash, passwordHistory = :history, credentialVersion = :credentials".to_owned();
        if change.reset_code.is_some() {
            update.push_str(", validAfter = :now");
            vals.insert(":now".to_owned(), n(change.now));
        }
        let mut items = vec![self.update(
            key_for_account(change.user_id),
            &update,
            "#status = :active AND passwordHash = :expected",
            vals,
        )?];
        if let Some((key, code_id)) = change.reset_code {
            items.push(self.consume_code_item(Identifier::Phone(key), CodePurpose::PasswordReset, code_id)?);
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
        for session_id in change.revoke_sessions.iter().take(MAX_REVOKED_PER_CHANGE) {
            items.push(self.update(
                item_key(user_pk(change.user_id), session_sk(session_id)),
                "SET revokedAt = if_not_exists(revokedAt, :now)",
                "attribute_exists(pk)",
                values([(":now", n(change.now))]),
            )?);
        }
        self.transact("TransactWriteItems set password", items).await
    }
}
