//! Deleting an account: the sweep (sessions, then every item the account's index names, the codes
//! it was sent under other numbers, its device marks) and the erasure (the account, its claims and
//! every item under a key known from it, in one transaction conditional on the account as read
//! before the sweep, with the partner's deletion record and `account.deleted` event), and the
//! partner's deletion records.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

use super::events::EVENT_REF_PREFIX;
use super::items::*;
use super::table::{DynamoStore, Values, values};
use crate::domain::email::EmailAddress;
use crate::domain::phone::PhoneNumber;
use crate::ports::{
    AccountDeletions, AccountStatus, DeletionChannel, DeletionRecord, EmailKey, Erasure, Identifier, PhoneKey,
    StoreError,
};
use crate::security::code::CodePurpose;
use crate::webhooks::event::{AccountEvent, EventRecord};

/// Deletion records are kept this long for the partner's books, then DynamoDB's TTL removes them.
pub const DELETION_RECORD_RETENTION_SECS: i64 = 3 * 365 * 24 * 3600;

impl DynamoStore {
    /// The account's webhook events that name a contact detail, by its index, then the entries.
    async fn delete_account_events(&self, user_id: &str) -> Result<(), StoreError> {
        let entries = self.query_prefix("Query account event index", user_pk(user_id), EVENT_REF_PREFIX).await?;
        let mut targets = Vec::with_capacity(entries.len());
        for entry in &entries {
            targets.push(item_key(get_s(entry, "targetPk")?, get_s(entry, "targetSk")?));
        }
        self.delete_keys("BatchWriteItem delete account events", targets).await?;
        self.delete_keys("BatchWriteItem delete event index", entries.iter().map(key_of).collect()).await
    }

    /// The index entry for an item filed under `user_id` but found by another key.
    pub(super) fn index_write(
        &self,
        user_id: &str,
        target_pk: String,
        target_sk: &str,
        expires_at: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut entry = item_key(user_pk(user_id), index_sk(&target_pk));
        entry.extend([("targetSk".to_owned(), s(target_sk)), ("ttl".to_owned(), n(expires_at))]);
        self.put(entry, None, Values::new())
    }

    /// Every code and sign-in streak of an identifier: keys known in advance, deleted whether or not
    /// they exist.
    fn identifier_deletes(&self, who: Identifier<'_>, out: &mut Vec<TransactWriteItem>) -> Result<(), StoreError> {
        let pk = identifier_pk(who);
        for purpose in CodePurpose::ALL {
            out.push(self.delete(item_key(pk.clone(), code_sk(purpose)), None, Values::new())?);
        }
        out.push(self.delete(item_key(pk, SIGNIN_SK), None, Values::new())?);
        Ok(())
    }
}

#[async_trait]
impl AccountDeletions for DynamoStore {
    async fn sweep_account(&self, user_id: &str) -> Result<(), StoreError> {
        // Sessions first: a token of a deleted session can neither authenticate nor be rotated, so
        // no refresh token is filed under the account after this.
        let sessions = self.query_prefix("Query account sessions", user_pk(user_id), "SESSION#").await?;
        self.delete_keys("BatchWriteItem delete sessions", sessions.iter().map(key_of).collect()).await?;
        let index = self.query_prefix("Query account index", user_pk(user_id), INDEX_PREFIX).await?;
        let mut keys = Vec::with_capacity(index.len() * 2);
        for entry in &index {
            let sk = get_s(entry, SK)?;
            let target_pk = sk.strip_prefix(INDEX_PREFIX).unwrap_or(&sk).to_owned();
            keys.push(item_key(target_pk, get_s(entry, "targetSk")?));
        }
        // Targets before their entries, so a sweep cut short finds what is left by its entries.
        self.delete_keys("BatchWriteItem delete indexed items", keys).await?;
        self.delete_keys("BatchWriteItem delete index", index.iter().map(key_of).collect()).await?;
        // Codes sent for the account to numbers not its own (phone add and change): each is deleted
        // only while it is still the account's, since another account may have been sent one there.
        let codes = self.query_prefix("Query account code index", user_pk(user_id), CODE_REF_PREFIX).await?;
        for entry in &codes {
            let code = item_key(get_s(entry, "targetPk")?, get_s(entry, "targetSk")?);
            let owned = values([(":uid", s(user_id))]);
            match self.delete_one("DeleteItem account's code", code, Some("userId = :uid"), owned).await {
                Ok(()) | Err(StoreError::Conflict) => {}
                Err(other) => return Err(other),
            }
        }
        self.delete_keys("BatchWriteItem delete code index", codes.iter().map(key_of).collect()).await?;
        let devices = self.query_prefix("Query device marks", user_pk(user_id), DEVICE_PREFIX).await?;
        self.delete_keys("BatchWriteItem delete device marks", devices.iter().map(key_of).collect()).await
    }

    async fn erase_account(&self, erasure: Erasure<'_>) -> Result<(), StoreError> {
        let account = erasure.account;
        let record = erasure.record;
        let mut vals = values([(":active", status_value(AccountStatus::Active)), (":hash", s(&account.password_hash))]);
        // Everything the erasure's keys come from, and every count of things filed under the
        // account, as read before the sweep: a sign-in, a phone or email change, a pending address,
        // a code sent to a new number or a factor enrolled since then makes the erasure fail, and
        // the next round sweeps and erases what it made (or, on the deletion page, refuses).
        let as_read = [
            number_as_read("sessionsStarted", account.sessions_started, &mut vals),
            number_as_read("profileVersion", account.profile_version, &mut vals),
            number_as_read("phoneCodesIssued", account.phone_codes_issued, &mut vals),
            number_as_read("mfaChallenges", account.factors.mfa_challenges, &mut vals),
            number_as_read("eventSeq", account.event_sequence, &mut vals),
            text_as_read("phone", account.phone.as_deref(), &mut vals),
            text_as_read("email", account.email.as_deref(), &mut vals),
            text_as_read("pendingEmailToken", account.pending_email_token.as_deref(), &mut vals),
            text_as_read("totpId", account.factors.totp.as_ref().map(|t| t.factor_id.as_str()), &mut vals),
            text_as_read("smsFactorId", account.factors.sms.as_ref().map(|f| f.factor_id.as_str()), &mut vals),
        ]
        .join(" AND ");
        let mut items = vec![self.delete(
            key_for_account(&account.user_id),
            Some(&format!("#status = :active AND passwordHash = :hash AND {as_read}")),
            vals,
        )?];
        let owned_by = || values([(":uid", s(&account.user_id))]);
        // A claim that is already gone (or never made) does not hold the deletion back.
        let claim_condition = Some("attribute_not_exists(pk) OR userId = :uid");
        if let Some(phone) = account.phone.as_deref().and_then(|p| PhoneNumber::parse(p).ok()) {
            let key = PhoneKey { merchant_id: account.merchant_id.clone(), phone };
            items.push(self.delete(phone_key(&key, CLAIM_SK), claim_condition, owned_by())?);
            self.identifier_deletes(Identifier::Phone(&key), &mut items)?;
        }
        if let Some(email) = account.email.as_deref().and_then(|e| EmailAddress::parse(e).ok()) {
            let key = EmailKey { merchant_id: account.merchant_id.clone(), email };
            let claim = item_key(email_claim_pk(&key.merchant_id, key.email.as_str()), CLAIM_SK);
            items.push(self.delete(claim, claim_condition, owned_by())?);
            self.identifier_deletes(Identifier::Email(&key), &mut items)?;
        }
        items.push(self.delete(item_key(user_pk(&account.user_id), SIGNIN_SK), None, Values::new())?);
        if let Some(token) = &account.pending_email_token {
            items.push(self.delete(item_key(email_token_pk(token), TOKEN_SK), None, Values::new())?);
        }
        let mut entry = item_key(deletions_pk(&record.merchant_id), deletion_sk(record.deleted_at, &record.user_id));
        entry.extend([
            ("userId".to_owned(), s(&record.user_id)),
            ("merchantId".to_owned(), s(&record.merchant_id)),
            ("deletedAt".to_owned(), n(record.deleted_at)),
            ("channel".to_owned(), s(record.channel.as_str())),
            ("ttl".to_owned(), n(record.deleted_at + DELETION_RECORD_RETENTION_SECS)),
        ]);
        items.push(self.put(entry, Some("attribute_not_exists(pk)"), Values::new())?);
        // The partner's `account.deleted` event, in the same transaction: it exists exactly when the
        // account is gone, and carries nothing but the id the partner must erase.
        // (The account item is deleted, so its event count goes with it; the condition above holds it
        // as read, which numbered this event.)
        let deleted = EventRecord::after(account, [AccountEvent::Deleted], record.deleted_at);
        self.event_writes(&deleted, &mut items)?;
        self.transact("TransactWriteItems erase account", items).await?;
        // Only now, with the account gone: the webhook events that name its phone or address,
        // delivered or not (the partner learns of the erasure from `account.deleted` and erases its
        // copies). Not in the sweep: an erasure that then failed would leave a live account whose
        // events were gone. Not in the transaction: there may be more than it holds. A failure here
        // leaves them to their TTL (30 days), which docs/limits.md states.
        if let Err(err) = self.delete_account_events(&account.user_id).await {
            tracing::warn!(error = %err, "the erased account's contact events are left to their TTL");
        }
        Ok(())
    }

    async fn deletion_records(&self, merchant_id: &str) -> Result<Vec<DeletionRecord>, StoreError> {
        let items = self.query_prefix("Query deletion records", deletions_pk(merchant_id), "AT#").await?;
        items
            .iter()
            .map(|item| {
                let channel = get_s(item, "channel")?;
                Ok(DeletionRecord {
                    user_id: get_s(item, "userId")?,
                    merchant_id: get_s(item, "merchantId")?,
                    deleted_at: get_n(item, "deletedAt")?,
                    channel: DeletionChannel::parse(&channel)
                        .ok_or_else(|| StoreError::Backend(format!("deletion channel {channel:?}")))?,
                })
            })
            .collect()
    }
}

/// A condition that the account's count `name` is still `value` (a count never written reads 0).
pub(super) fn number_as_read(name: &str, value: u64, vals: &mut Values) -> String {
    let placeholder = format!(":{name}");
    vals.insert(placeholder.clone(), n(value));
    if value == 0 {
        format!("(attribute_not_exists({name}) OR {name} = {placeholder})")
    } else {
        format!("{name} = {placeholder}")
    }
}

/// A condition that the account's attribute `name` is still `value`, or still absent.
fn text_as_read(name: &str, value: Option<&str>, vals: &mut Values) -> String {
    match value {
        Some(value) => {
            let placeholder = format!(":{name}");
            vals.insert(placeholder.clone(), s(value));
            format!("{name} = {placeholder}")
        }
        None => format!("attribute_not_exists({name})"),
    }
}

/// The key of an item read whole.
fn key_of(item: &Item) -> Item {
    item.iter()
        .filter(|(name, _)| name.as_str() == PK || name.as_str() == SK)
        .map(|(name, value): (&String, &AttributeValue)| (name.clone(), value.clone()))
        .collect()
}
