//! Signing up. A phone is claimed by a pending account (with its code and the SMS send) and
//! activated by the transaction that consumes the code; an email-first account is born active,
//! with its address claimed, in the transaction that consumes its code.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::events::event_count;
use super::items::*;
use super::table::{DynamoStore, Values, values};
use crate::domain::kyc::KycLevel;
use crate::domain::send_limits::SendReservation;
use crate::ports::{
    AccountStatus, EmailKey, Identifier, NewEmailAccount, NewPendingAccount, NewSession, PhoneKey, Signups, StoreError,
    StoredCode,
};
use crate::security::code::CodePurpose;
use crate::webhooks::event::EventRecord;

#[async_trait]
impl Signups for DynamoStore {
    async fn create_pending_account(
        &self,
        key: &PhoneKey,
        account: NewPendingAccount,
        code: StoredCode,
        sms: &SendReservation,
    ) -> Result<(), StoreError> {
        let pending = status_value(AccountStatus::Pending);
        let mut claim = phone_key(key, CLAIM_SK);
        claim.extend([
            ("userId".to_owned(), s(&account.user_id)),
            ("status".to_owned(), pending.clone()),
            ("createdAt".to_owned(), n(account.created_at)),
            ("expiresAt".to_owned(), n(account.expires_at)),
            ("ttl".to_owned(), n(account.expires_at)),
        ]);
        let mut item = key_for_account(&account.user_id);
        item.extend([
            ("userId".to_owned(), s(&account.user_id)),
            ("merchantId".to_owned(), s(&key.merchant_id)),
            ("phone".to_owned(), s(key.phone.e164())),
            ("status".to_owned(), pending.clone()),
            ("passwordHash".to_owned(), s(account.password_hash)),
            ("createdAt".to_owned(), n(account.created_at)),
            ("expiresAt".to_owned(), n(account.expires_at)),
            ("ttl".to_owned(), n(account.expires_at)),
        ]);
        let items = vec![
            // A pending claim past its expiry may still be in the table (TTL deletes late): it is free.
            self.put(
                claim,
                Some("attribute_not_exists(pk) OR (#status = :pending AND expiresAt <= :now)"),
                values([(":pending", pending), (":now", n(account.created_at))]),
            )?,
            self.put(item, Some("attribute_not_exists(pk)"), Values::new())?,
            self.code_item(Identifier::Phone(key), CodePurpose::PhoneSignup, code)?,
            self.send_log_write(sms)?,
        ];
        self.transact("TransactWriteItems create pending account", items).await
    }

    async fn replace_pending_password(
        &self,
        key: &PhoneKey,
        user_id: &str,
        password_hash: String,
        code: StoredCode,
        sms: &SendReservation,
    ) -> Result<(), StoreError> {
        let pending = status_value(AccountStatus::Pending);
        let items = vec![
            self.update(
                key_for_account(user_id),
                "SET passwordHash = :hash",
                "#status = :pending",
                values([(":hash", s(password_hash)), (":pending", pending.clone())]),
            )?,
            self.check(
                phone_key(key, CLAIM_SK),
                "userId = :uid AND #status = :pending",
                values([(":uid", s(user_id)), (":pending", pending)]),
            )?,
            self.code_item(Identifier::Phone(key), CodePurpose::PhoneSignup, code)?,
            self.send_log_write(sms)?,
        ];
        self.transact("TransactWriteItems replace pending password", items).await
    }

    async fn activate_account(
        &self,
        key: &PhoneKey,
        code_id: &str,
        user_id: &str,
        session: NewSession,
        now: i64,
        events: &[EventRecord],
    ) -> Result<(), StoreError> {
        let active = status_value(AccountStatus::Active);
        let mut vals = values([
            (":active", active.clone()),
            (":pending", status_value(AccountStatus::Pending)),
            (":now", n(now)),
            (":phone", s(key.phone.e164())),
        ]);
        let (count, counted) = event_count(events, &mut vals);
        let mut items = vec![
            self.consume_code_item(Identifier::Phone(key), CodePurpose::PhoneSignup, code_id)?,
            self.update(
                key_for_account(user_id),
                // The number it signed up with: `AccountRecord::phone_settled` knows it as the owner's.
                &format!("SET #status = :active, activatedAt = :now, validAfter = :now, signupPhone = :phone{count} REMOVE expiresAt, #ttl"),
                &format!("#status = :pending{counted}"),
                vals,
            )?,
            self.update(
                phone_key(key, CLAIM_SK),
                "SET #status = :active REMOVE expiresAt, #ttl",
                "userId = :uid",
                values([(":active", active), (":uid", s(user_id))]),
            )?,
        ];
        items.extend(self.session_writes(user_id, &key.merchant_id, session)?);
        self.event_writes(events, &mut items)?;
        self.transact("TransactWriteItems activate account", items).await
    }

    async fn create_email_account(
        &self,
        key: &EmailKey,
        code_id: &str,
        account: NewEmailAccount,
        session: NewSession,
    ) -> Result<(), StoreError> {
        let now = account.created_at;
        let mut claim = item_key(email_claim_pk(&key.merchant_id, key.email.as_str()), CLAIM_SK);
        claim.extend([("userId".to_owned(), s(&account.user_id)), ("createdAt".to_owned(), n(now))]);
        let mut item = key_for_account(&account.user_id);
        item.extend([
            ("userId".to_owned(), s(&account.user_id)),
            ("merchantId".to_owned(), s(&key.merchant_id)),
            ("email".to_owned(), s(key.email.as_str())),
            ("userType".to_owned(), s(account.user_type)),
            ("status".to_owned(), status_value(AccountStatus::Active)),
            ("passwordHash".to_owned(), s(&account.password_hash)),
            ("passwordHistory".to_owned(), AttributeValue::L(vec![s(account.password_hash)])),
            ("createdAt".to_owned(), n(now)),
            ("activatedAt".to_owned(), n(now)),
            ("validAfter".to_owned(), n(now)),
            ("kycLevel".to_owned(), s(KycLevel::None.as_str())),
            ("profileVersion".to_owned(), n(1)),
        ]);
        if let Some(last) = account.events.last() {
            item.insert("eventSeq".to_owned(), n(last.sequence));
        }
        let mut items = vec![
            self.consume_code_item(Identifier::Email(key), CodePurpose::EmailSignup, code_id)?,
            self.put(claim, Some("attribute_not_exists(pk)"), Values::new())?,
            self.put(item, Some("attribute_not_exists(pk)"), Values::new())?,
        ];
        items.extend(self.session_writes(&account.user_id, &key.merchant_id, session)?);
        self.event_writes(&account.events, &mut items)?;
        self.transact("TransactWriteItems create email account", items).await
    }
}
