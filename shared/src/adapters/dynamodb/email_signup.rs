//! Email-first signup (seed 003): the code sits beside the address's claim, and the account is born
//! active with its address confirmed, in the transaction that consumes the code.

use super::items::*;
use super::store::{DynamoAccountStore, Values, key_for_account};
use crate::domain::kyc::KycLevel;
use crate::domain::send_limits::SendReservation;
use crate::ports::{AccountStatus, EmailKey, Identifier, NewEmailAccount, NewSession, StoreError, StoredCode};
use crate::security::code::CodePurpose;

impl DynamoAccountStore {
    pub(super) async fn store_email_signup_code(
        &self,
        key: &EmailKey,
        code: StoredCode,
        send: &SendReservation,
    ) -> Result<(), StoreError> {
        let pk = email_claim_pk(&key.merchant_id, key.email.as_str());
        let items = vec![
            // An address confirmed meanwhile gets a notice instead, on the retry.
            self.check(item_key(pk, CLAIM_SK), "attribute_not_exists(pk)", Values::new())?,
            self.code_item(Identifier::Email(key), CodePurpose::EmailSignup, code)?,
            self.send_log_write(send)?,
        ];
        self.transact("TransactWriteItems issue email signup code", items).await
    }

    pub(super) async fn write_email_account(
        &self,
        key: &EmailKey,
        code_id: &str,
        account: NewEmailAccount,
        session: NewSession,
    ) -> Result<(), StoreError> {
        let pk = email_claim_pk(&key.merchant_id, key.email.as_str());
        let now = account.created_at;
        let mut claim = item_key(pk, CLAIM_SK);
        claim.extend([("userId".to_owned(), s(&account.user_id)), ("createdAt".to_owned(), n(now))]);
        let mut item = key_for_account(&account.user_id);
        item.extend([
            ("userId".to_owned(), s(&account.user_id)),
            ("merchantId".to_owned(), s(&key.merchant_id)),
            ("email".to_owned(), s(key.email.as_str())),
            ("userType".to_owned(), s(account.user_type)),
            ("status".to_owned(), status_value(AccountStatus::Active)),
            ("passwordHash".to_owned(), s(&account.password_hash)),
            ("passwordHistory".to_owned(), aws_sdk_dynamodb::types::AttributeValue::L(vec![s(account.password_hash)])),
            ("createdAt".to_owned(), n(now)),
            ("activatedAt".to_owned(), n(now)),
            ("validAfter".to_owned(), n(now)),
            ("kycLevel".to_owned(), s(KycLevel::None.as_str())),
            ("profileVersion".to_owned(), n(1)),
        ]);
        let mut items = vec![
            self.consume_code_item(Identifier::Email(key), CodePurpose::EmailSignup, code_id)?,
            self.put(claim, Some("attribute_not_exists(pk)"), Values::new())?,
            self.put(item, Some("attribute_not_exists(pk)"), Values::new())?,
        ];
        items.extend(self.session_writes(&account.user_id, &key.merchant_id, session)?);
        self.transact("TransactWriteItems create email account", items).await
    }
}
