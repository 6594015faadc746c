//! Adding a phone to an account that has none (an email-first account): the code is kept under the
//! phone like a signup code, and confirming it claims the phone and sets it in one transaction.

use super::items::*;
use super::profile::version_condition;
use super::store::{DynamoAccountStore, key_for_account, values};
use crate::domain::send_limits::SendReservation;
use crate::ports::{AccountStatus, Identifier, PhoneAddition, PhoneKey, StoreError, StoredCode};
use crate::security::code::CodePurpose;

impl DynamoAccountStore {
    pub(super) async fn store_phone_add_code(
        &self,
        key: &PhoneKey,
        code: StoredCode,
        send: &SendReservation,
    ) -> Result<(), StoreError> {
        let items = vec![
            self.check(
                key_for_account(&code.user_id),
                "#status = :active AND attribute_not_exists(phone)",
                values([(":active", status_value(AccountStatus::Active))]),
            )?,
            self.code_item(Identifier::Phone(key), CodePurpose::PhoneAdd, code)?,
            self.send_log_write(send)?,
        ];
        self.transact("TransactWriteItems issue phone add code", items).await
    }

    pub(super) async fn write_added_phone(&self, a: PhoneAddition<'_>) -> Result<(), StoreError> {
        let active = status_value(AccountStatus::Active);
        let mut claim = item_key(phone_pk(a.key), CLAIM_SK);
        claim.extend([
            ("userId".to_owned(), s(a.user_id)),
            ("status".to_owned(), active.clone()),
            ("createdAt".to_owned(), n(a.now)),
        ]);
        let mut account_values = values([
            (":phone", s(a.key.phone.e164())),
            (":now", n(a.now)),
            (":kyc", s(a.kyc_level.as_str())),
            (":active", active.clone()),
        ]);
        let version = version_condition(a.expected_version, &mut account_values);
        let items = vec![
            self.consume_code_item(Identifier::Phone(a.key), CodePurpose::PhoneAdd, a.code_id)?,
            // Whoever proves the phone wins over a signup that never confirmed it, as in signup.
            self.put(
                claim,
                Some("attribute_not_exists(pk) OR #status = :pending"),
                values([(":pending", status_value(AccountStatus::Pending))]),
            )?,
            self.update(
                key_for_account(a.user_id),
                "SET phone = :phone, phoneConfirmedAt = :now, kycLevel = :kyc, profileVersion = :next",
                &format!("#status = :active AND attribute_not_exists(phone) AND {version}"),
                account_values,
            )?,
        ];
        self.transact("TransactWriteItems add phone", items).await
    }
}
