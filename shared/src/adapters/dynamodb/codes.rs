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
            CodePurpose::PasswordReset | CodePurpose::AccountDelete | CodePurpose::StepUp
                if matches!(who, Identifier::Phone(_)) =>
            {
                self.check(
                    claim,
                    "userId = :uid AND #status = :active",
                    values([(":uid", s(user_id)), (":active", status_value(AccountStatus::Active))]),
                )
            }
            // The user's account still has the address confirmed (only confirmed ones are claimed).
            CodePurpose::PasswordReset | CodePurpose::AccountDelete | CodePurpose::StepUp => {
                self.check(claim, "userId = :uid", values([(":uid", s(user_id))]))
            }
            // Nobody confirmed the address meanwhile (that gets a notice instead, on the retry).
            CodePurpose::EmailSignup => self.check(claim, "attribute_not_exists(pk)", Values::new()),
            // Filed under the account (`account_filing`), which checks the account itself.
            CodePurpose::PhoneAdd | CodePurpose::PhoneChange => {
                Err(StoreError::Backend(format!("{} codes are filed under the account", purpose.as_str())))
            }
        }
    }

    /// For a code of phone add or change, stored under a number that is not the account's: the
    /// account's count of such codes goes up (an erasure that read the account before is refused)
    /// if the account is still active, and still has no phone (add) or a phone to move from
    /// (change) when the code is `sent`; and an entry in the account's index names the code, so the
    /// deletion's sweep finds it. `None` for the purposes whose codes live under the account's own
    /// phone or address, or none.
    fn account_filing(
        &self,
        who: Identifier<'_>,
        purpose: CodePurpose,
        code: &StoredCode,
        sent: bool,
    ) -> Result<Option<[TransactWriteItem; 2]>, StoreError> {
        let condition = match (purpose, sent) {
            (CodePurpose::PhoneAdd, true) => "#status = :active AND attribute_not_exists(phone)",
            (CodePurpose::PhoneChange, true) => "#status = :active AND attribute_exists(phone)",
            (CodePurpose::PhoneAdd | CodePurpose::PhoneChange, false) => "#status = :active",
            _ => return Ok(None),
        };
        let account = self.update(
            key_for_account(&code.user_id),
            "ADD phoneCodesIssued :one",
            condition,
            values([(":active", status_value(AccountStatus::Active)), (":one", n(1))]),
        )?;
        let (target_pk, target_sk) = (identifier_pk(who), code_sk(purpose));
        let mut entry = item_key(user_pk(&code.user_id), code_ref_sk(&target_pk, &target_sk));
        entry.extend([
            ("targetPk".to_owned(), s(target_pk)),
            ("targetSk".to_owned(), s(target_sk)),
            ("ttl".to_owned(), n(code.expires_at + DAY)),
        ]);
        Ok(Some([account, self.put(entry, None, Values::new())?]))
    }

    /// Deletes the index entry of a phone add or change code, in the transaction that consumes it.
    pub(super) fn code_ref_delete(
        &self,
        user_id: &str,
        who: Identifier<'_>,
        purpose: CodePurpose,
    ) -> Result<TransactWriteItem, StoreError> {
        let key = item_key(user_pk(user_id), code_ref_sk(&identifier_pk(who), &code_sk(purpose)));
        self.delete(key, None, Values::new())
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
        let mut items = Vec::with_capacity(4);
        let (code, sent) = match code {
            IssuedCode::Sent(code) => (code, true),
            IssuedCode::Decoy(code) => (code, false),
        };
        match self.account_filing(who, purpose, &code, sent)? {
            Some(filing) => items.extend(filing),
            None if sent => items.push(self.code_guard(who, purpose, &code.user_id)?),
            None => {}
        }
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
