//! One-time codes for every purpose: one way to issue them (the guard chosen from the purpose), one
//! way to read them, attempts spent before comparing, and single use by the consuming transaction.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::TransactWriteItem;

use super::items::*;
use super::table::{DynamoStore, Values, values};
use crate::domain::send_limits::{DAY, SendReservation};
use crate::ports::{AccountStatus, Codes, Identifier, IssuedCode, StoreError, StoredCode};
use crate::security::code::CodePurpose;

impl DynamoStore {
    /// The code item, replacing the previous code of the same purpose.
    pub(super) fn code_item(
        &self,
        who: Identifier<'_>,
        purpose: CodePurpose,
        code: StoredCode,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item = item_key(identifier_pk(who), code_sk(purpose));
        item.extend([
            ("codeId".to_owned(), s(code.code_id)),
            ("mac".to_owned(), s(code.mac)),
            ("userId".to_owned(), s(code.user_id)),
            ("expiresAt".to_owned(), n(code.expires_at)),
            ("attemptsLeft".to_owned(), n(code.attempts_left)),
            ("ttl".to_owned(), n(code.expires_at + DAY)),
        ]);
        self.put(item, None, Values::new())
    }

    /// Single use: deletes the code only if it is still the one checked, so only one transaction
    /// that consumes it can commit.
    pub(super) fn consume_code_item(
        &self,
        who: Identifier<'_>,
        purpose: CodePurpose,
        code_id: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let key = item_key(identifier_pk(who), code_sk(purpose));
        self.delete(key, Some("codeId = :id"), values([(":id", s(code_id))]))
    }

    /// What must still hold for a code of `purpose` to be worth storing.
    fn code_guard(
        &self,
        who: Identifier<'_>,
        purpose: CodePurpose,
        user_id: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let claim = item_key(identifier_pk(who), CLAIM_SK);
        match purpose {
            // A pending signup of this user still holds the phone.
            CodePurpose::PhoneSignup => self.check(
                claim,
                "userId = :uid AND #status = :pending",
                values([(":uid", s(user_id)), (":pending", status_value(AccountStatus::Pending))]),
            ),
            // The user's active account still holds the phone.
            CodePurpose::PasswordReset | CodePurpose::AccountDelete if matches!(who, Identifier::Phone(_)) => self
                .check(
                    claim,
                    "userId = :uid AND #status = :active",
                    values([(":uid", s(user_id)), (":active", status_value(AccountStatus::Active))]),
                ),
            // The user's account still has the address confirmed (only confirmed ones are claimed).
            CodePurpose::PasswordReset | CodePurpose::AccountDelete => {
                self.check(claim, "userId = :uid", values([(":uid", s(user_id))]))
            }
            // Nobody confirmed the address meanwhile (that gets a notice instead, on the retry).
            CodePurpose::EmailSignup => self.check(claim, "attribute_not_exists(pk)", Values::new()),
            // The user's account is active and has no phone yet.
            CodePurpose::PhoneAdd => self.check(
                key_for_account(user_id),
                "#status = :active AND attribute_not_exists(phone)",
                values([(":active", status_value(AccountStatus::Active))]),
            ),
            // The user's account is active and still has a phone to move from.
            CodePurpose::PhoneChange => self.check(
                key_for_account(user_id),
                "#status = :active AND attribute_exists(phone)",
                values([(":active", status_value(AccountStatus::Active))]),
            ),
        }
    }
}

#[async_trait]
impl Codes for DynamoStore {
    async fn code(&self, who: Identifier<'_>, purpose: CodePurpose) -> Result<Option<StoredCode>, StoreError> {
        let item = self.get("GetItem code", item_key(identifier_pk(who), code_sk(purpose))).await?;
        item.as_ref().map(StoredCode::try_from).transpose()
    }

    async fn issue_code(
        &self,
        who: Identifier<'_>,
        purpose: CodePurpose,
        code: IssuedCode,
        send: &SendReservation,
    ) -> Result<(), StoreError> {
        let mut items = Vec::with_capacity(3);
        let code = match code {
            IssuedCode::Sent(code) => {
                items.push(self.code_guard(who, purpose, &code.user_id)?);
                code
            }
            IssuedCode::Decoy(code) => code,
        };
        items.push(self.code_item(who, purpose, code)?);
        items.push(self.send_log_write(send)?);
        self.transact("TransactWriteItems issue code", items).await
    }

    async fn spend_code_attempt(
        &self,
        who: Identifier<'_>,
        purpose: CodePurpose,
        code_id: &str,
        now: i64,
    ) -> Result<Option<u32>, StoreError> {
        let result = self
            .update_returning(
                "UpdateItem spend attempt",
                item_key(identifier_pk(who), code_sk(purpose)),
                "SET attemptsLeft = attemptsLeft - :one",
                "codeId = :id AND attemptsLeft > :zero AND expiresAt > :now",
                values([(":one", n(1)), (":zero", n(0)), (":id", s(code_id)), (":now", n(now))]),
                true,
            )
            .await;
        match result {
            Ok(attributes) => Ok(Some(get_n(&attributes, "attemptsLeft")?)),
            Err(StoreError::Conflict) => Ok(None),
            Err(other) => Err(other),
        }
    }
}
