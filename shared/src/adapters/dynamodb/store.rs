//! `AccountStore` on DynamoDB. Uniqueness and single use are conditional writes; every change that
//! touches more than one item is a `TransactWriteItems`, so nothing is ever half written.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, ReturnValue, TransactWriteItem, Update};

use super::errors::{classify, classify_transaction};
use super::items::*;
use crate::domain::email::EmailAddress;
use crate::domain::kyc::KycLevel;
use crate::domain::personal_details::PersonalDetails;
use crate::domain::send_limits::{DAY, SendLog, SendReservation};
use crate::domain::signin_backoff::SigninBackoff;
use crate::ports::{
    AccountRecord, AccountStatus, AccountStore, EmailConfirmation, EmailKey, EmailTokenRecord, Identifier,
    NewEmailAccount, NewPendingAccount, NewSession, PasswordChange, PhoneAddition, PhoneClaim, PhoneKey, RefreshRecord,
    Rotation, SessionRecord, StoreError, StoredCode, Streak,
};
use crate::security::code::CodePurpose;

/// Expression placeholders shared by every write here.
pub(super) fn names() -> HashMap<String, String> {
    HashMap::from([("#status".to_owned(), "status".to_owned()), ("#ttl".to_owned(), "ttl".to_owned())])
}

pub(super) type Values = HashMap<String, AttributeValue>;

pub(super) fn values<const N: usize>(pairs: [(&str, AttributeValue); N]) -> Values {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn built<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, StoreError> {
    result.map_err(|e| StoreError::Backend(format!("building a request failed: {e}")))
}

#[derive(Clone)]
pub struct DynamoAccountStore {
    pub(super) client: Client,
    pub(super) table: String,
}

impl DynamoAccountStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoAccountStore { client, table: table.into() }
    }

    pub(super) fn put(
        &self,
        item: Item,
        condition: Option<&str>,
        vals: Values,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
        if let Some(condition) = condition {
            let names = used_names(condition);
            put = put
                .condition_expression(condition)
                .set_expression_attribute_names((!names.is_empty()).then_some(names));
            if !vals.is_empty() {
                put = put.set_expression_attribute_values(Some(vals));
            }
        }
        Ok(TransactWriteItem::builder().put(built(put.build())?).build())
    }

    pub(super) fn update(
        &self,
        key: Item,
        update: &str,
        condition: &str,
        vals: Values,
    ) -> Result<TransactWriteItem, StoreError> {
        let names = used_names(&format!("{update} {condition}"));
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names((!names.is_empty()).then_some(names))
            .set_expression_attribute_values(Some(vals));
        Ok(TransactWriteItem::builder().update(built(update.build())?).build())
    }

    pub(super) fn check(&self, key: Item, condition: &str, vals: Values) -> Result<TransactWriteItem, StoreError> {
        let names = used_names(condition);
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression(condition)
            .set_expression_attribute_names((!names.is_empty()).then_some(names))
            .set_expression_attribute_values(Some(vals));
        Ok(TransactWriteItem::builder().condition_check(built(check.build())?).build())
    }

    pub(super) fn delete(&self, key: Item, condition: &str, vals: Values) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression(condition)
            .set_expression_attribute_values(Some(vals));
        Ok(TransactWriteItem::builder().delete(built(delete.build())?).build())
    }

    /// One conditional `UpdateItem`; `Conflict` when the condition does not hold.
    pub(super) async fn update_one(
        &self,
        operation: &'static str,
        key: Item,
        update: &str,
        condition: &str,
        vals: Values,
    ) -> Result<(), StoreError> {
        let names = used_names(&format!("{update} {condition}"));
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names((!names.is_empty()).then_some(names))
            .set_expression_attribute_values(Some(vals))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(operation, e))
    }

    pub(super) async fn get(&self, operation: &'static str, key: Item) -> Result<Option<Item>, StoreError> {
        self.client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map(|out| out.item)
            .map_err(|e| classify(operation, e))
    }

    /// The session family item and its first refresh token.
    pub(super) fn session_writes(
        &self,
        user_id: &str,
        merchant_id: &str,
        session: NewSession,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut family = item_key(user_pk(user_id), session_sk(&session.session_id));
        family.extend([
            ("sessionId".to_owned(), s(&session.session_id)),
            ("merchantId".to_owned(), s(merchant_id)),
            ("createdAt".to_owned(), n(session.created_at)),
            ("expiresAt".to_owned(), n(session.expires_at)),
            ("ttl".to_owned(), n(session.expires_at)),
            ("credentialVersion".to_owned(), n(session.credential_version)),
        ]);
        if let Some(fingerprint) = &session.fingerprint {
            family.insert("fingerprint".to_owned(), s(fingerprint));
        }
        let refresh = refresh_item(
            &session.refresh_token_hash,
            user_id,
            merchant_id,
            &session.session_id,
            session.created_at,
            session.expires_at,
        );
        Ok(vec![
            self.put(family, Some("attribute_not_exists(pk)"), Values::new())?,
            self.put(refresh, Some("attribute_not_exists(pk)"), Values::new())?,
        ])
    }

    pub(super) async fn transact(
        &self,
        operation: &'static str,
        items: Vec<TransactWriteItem>,
    ) -> Result<(), StoreError> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify_transaction(operation, e))
    }

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
        self.delete(item_key(identifier_pk(who), code_sk(purpose)), "codeId = :id", values([(":id", s(code_id))]))
    }

    /// Writes the new send log only if nobody else wrote it since it was read.
    pub(super) fn send_log_write(&self, send: &SendReservation) -> Result<TransactWriteItem, StoreError> {
        let (update, condition, vals) = send_log_update(send.sent_at.as_slice(), send);
        self.update(item_key(send_log_pk(&send.log), SEND_LOG_SK), update, condition, vals)
    }

    fn pending_claim_check(&self, key: &PhoneKey, user_id: &str) -> Result<TransactWriteItem, StoreError> {
        self.check(
            phone_key(key, CLAIM_SK),
            "userId = :uid AND #status = :pending",
            values([(":uid", s(user_id)), (":pending", status_value(AccountStatus::Pending))]),
        )
    }
}

pub(super) fn phone_key(key: &PhoneKey, sk: impl Into<String>) -> Item {
    item_key(phone_pk(key), sk)
}

/// Only the placeholders an expression uses may be sent, or DynamoDB refuses the request.
pub(super) fn used_names(expression: &str) -> HashMap<String, String> {
    names().into_iter().filter(|(k, _)| expression.contains(k.as_str())).collect()
}

pub(super) fn send_log_update(sent_at: &[i64], sms: &SendReservation) -> (&'static str, &'static str, Values) {
    let vals = values([
        (":sent", n_list(sent_at)),
        (":version", n(sms.new_version())),
        (":expected", n(sms.expected_version)),
        (":ttl", n(sms.at + DAY)),
    ]);
    let condition = if sms.expected_version == 0 {
        "attribute_not_exists(pk) OR version = :expected"
    } else {
        "version = :expected"
    };
    ("SET sentAt = :sent, version = :version, #ttl = :ttl", condition, vals)
}

#[async_trait]
impl AccountStore for DynamoAccountStore {
    async fn phone_claim(&self, key: &PhoneKey) -> Result<Option<PhoneClaim>, StoreError> {
        let Some(item) = self.get("GetItem claim", phone_key(key, CLAIM_SK)).await? else {
            return Ok(None);
        };
        Ok(Some(PhoneClaim {
            user_id: get_s(&item, "userId")?,
            status: get_status(&item)?,
            expires_at: get_opt_n(&item, "expiresAt")?,
        }))
    }

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
        let items = vec![
            self.update(
                key_for_account(user_id),
                "SET passwordHash = :hash",
                "#status = :pending",
                values([(":hash", s(password_hash)), (":pending", status_value(AccountStatus::Pending))]),
            )?,
            self.pending_claim_check(key, user_id)?,
            self.code_item(Identifier::Phone(key), CodePurpose::PhoneSignup, code)?,
            self.send_log_write(sms)?,
        ];
        self.transact("TransactWriteItems replace pending password", items).await
    }

    async fn replace_pending_code(
        &self,
        key: &PhoneKey,
        code: StoredCode,
        sms: &SendReservation,
    ) -> Result<(), StoreError> {
        let items = vec![
            self.pending_claim_check(key, &code.user_id)?,
            self.code_item(Identifier::Phone(key), CodePurpose::PhoneSignup, code)?,
            self.send_log_write(sms)?,
        ];
        self.transact("TransactWriteItems replace pending code", items).await
    }

    async fn send_log(&self, key: &str) -> Result<SendLog, StoreError> {
        let key = key.to_owned();
        let Some(item) = self.get("GetItem send log", item_key(send_log_pk(&key), SEND_LOG_SK)).await? else {
            return Ok(SendLog { key, ..SendLog::default() });
        };
        Ok(SendLog { sent_at: get_n_list(&item, "sentAt")?, version: get_n(&item, "version")?, key })
    }

    async fn record_send(&self, sms: &SendReservation) -> Result<(), StoreError> {
        let (update, condition, vals) = send_log_update(&sms.sent_at, sms);
        let key = item_key(send_log_pk(&sms.log), SEND_LOG_SK);
        self.update_one("UpdateItem record send", key, update, condition, vals).await
    }

    async fn release_send(&self, sms: &SendReservation) -> Result<(), StoreError> {
        let vals = values([
            (":sent", n_list(&sms.released())),
            (":next", n(sms.new_version() + 1)),
            (":written", n(sms.new_version())),
        ]);
        let key = item_key(send_log_pk(&sms.log), SEND_LOG_SK);
        self.update_one(
            "UpdateItem release send",
            key,
            "SET sentAt = :sent, version = :next",
            "version = :written",
            vals,
        )
        .await
    }

    async fn code(&self, who: Identifier<'_>, purpose: CodePurpose) -> Result<Option<StoredCode>, StoreError> {
        let Some(item) = self.get("GetItem code", item_key(identifier_pk(who), code_sk(purpose))).await? else {
            return Ok(None);
        };
        Ok(Some(StoredCode {
            code_id: get_s(&item, "codeId")?,
            mac: get_s(&item, "mac")?,
            user_id: get_s(&item, "userId")?,
            expires_at: get_n(&item, "expiresAt")?,
            attempts_left: get_n(&item, "attemptsLeft")?,
        }))
    }

    async fn issue_decoy_code(
        &self,
        who: Identifier<'_>,
        purpose: CodePurpose,
        code: StoredCode,
        send: &SendReservation,
    ) -> Result<(), StoreError> {
        let items = vec![self.code_item(who, purpose, code)?, self.send_log_write(send)?];
        self.transact("TransactWriteItems issue decoy code", items).await
    }

    async fn spend_code_attempt(
        &self,
        who: Identifier<'_>,
        purpose: CodePurpose,
        code_id: &str,
        now: i64,
    ) -> Result<Option<u32>, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(identifier_pk(who), code_sk(purpose))))
            .update_expression("SET attemptsLeft = attemptsLeft - :one")
            .condition_expression("codeId = :id AND attemptsLeft > :zero AND expiresAt > :now")
            .set_expression_attribute_values(Some(values([
                (":one", n(1)),
                (":zero", n(0)),
                (":id", s(code_id)),
                (":now", n(now)),
            ])))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match result {
            Ok(out) => {
                let attrs = out.attributes.unwrap_or_default();
                Ok(Some(get_n(&attrs, "attemptsLeft")?))
            }
            Err(e) => match classify("UpdateItem spend attempt", e) {
                StoreError::Conflict => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn account(&self, user_id: &str) -> Result<Option<AccountRecord>, StoreError> {
        let Some(item) = self.get("GetItem account", key_for_account(user_id)).await? else {
            return Ok(None);
        };
        Ok(Some(super::profile::account_record(&item)?))
    }

    async fn signin_backoff(&self, streak: Streak<'_>) -> Result<SigninBackoff, StoreError> {
        let Some(item) = self.get("GetItem sign-in back-off", streak_key(streak)).await? else {
            return Ok(SigninBackoff::default());
        };
        Ok(SigninBackoff {
            failures: get_n(&item, "failures")?,
            blocked_until: get_n(&item, "blockedUntil")?,
            version: get_n(&item, "version")?,
            forgotten_at: get_n(&item, "ttl")?,
        })
    }

    async fn record_signin_attempt(&self, next: &[(Streak<'_>, SigninBackoff)]) -> Result<(), StoreError> {
        let mut items = Vec::with_capacity(next.len());
        for (streak, next) in next {
            let condition = if next.version <= 1 { "attribute_not_exists(pk)" } else { "version = :expected" };
            let mut vals = values([
                (":failures", n(next.failures)),
                (":blocked", n(next.blocked_until)),
                (":version", n(next.version)),
                (":ttl", n(next.forgotten_at)),
            ]);
            if next.version > 1 {
                vals.insert(":expected".to_owned(), n(next.version - 1));
            }
            let update = "SET failures = :failures, blockedUntil = :blocked, version = :version, #ttl = :ttl";
            items.push(self.update(streak_key(*streak), update, condition, vals)?);
        }
        self.transact("TransactWriteItems sign-in attempt", items).await
    }

    async fn clear_signin_failures(&self, streaks: &[Streak<'_>]) -> Result<(), StoreError> {
        let mut deletes = Vec::with_capacity(streaks.len());
        for streak in streaks {
            let delete = Delete::builder().table_name(&self.table).set_key(Some(streak_key(*streak)));
            deletes.push(TransactWriteItem::builder().delete(built(delete.build())?).build());
        }
        self.transact("TransactWriteItems clear sign-in streaks", deletes).await
    }

    async fn start_session(
        &self,
        user_id: &str,
        merchant_id: &str,
        session: NewSession,
        checked_hash: &str,
    ) -> Result<(), StoreError> {
        let mut items = self.session_writes(user_id, merchant_id, session)?;
        // A reset or change that committed after the password was checked wins: no session for it.
        items.push(self.check(
            key_for_account(user_id),
            "#status = :active AND passwordHash = :checked",
            values([(":active", status_value(AccountStatus::Active)), (":checked", s(checked_hash))]),
        )?);
        self.transact("TransactWriteItems start session", items).await
    }

    async fn refresh_token(&self, token_hash: &str) -> Result<Option<RefreshRecord>, StoreError> {
        let Some(item) = self.get("GetItem refresh token", item_key(refresh_pk(token_hash), REFRESH_SK)).await? else {
            return Ok(None);
        };
        Ok(Some(RefreshRecord {
            user_id: get_s(&item, "userId")?,
            merchant_id: get_s(&item, "merchantId")?,
            session_id: get_s(&item, "sessionId")?,
            expires_at: get_n(&item, "expiresAt")?,
            rotated_at: get_opt_n(&item, "rotatedAt")?,
        }))
    }

    async fn session(&self, user_id: &str, session_id: &str) -> Result<Option<SessionRecord>, StoreError> {
        let Some(item) = self.get("GetItem session", item_key(user_pk(user_id), session_sk(session_id))).await? else {
            return Ok(None);
        };
        Ok(Some(SessionRecord {
            session_id: get_s(&item, "sessionId")?,
            merchant_id: get_s(&item, "merchantId")?,
            created_at: get_n(&item, "createdAt")?,
            expires_at: get_n(&item, "expiresAt")?,
            revoked: get_opt_n::<i64>(&item, "revokedAt")?.is_some(),
            credential_version: get_opt_n(&item, "credentialVersion")?.unwrap_or(0),
        }))
    }

    async fn rotate_refresh_token(&self, rotation: Rotation<'_>) -> Result<(), StoreError> {
        let successor = refresh_item(
            &rotation.new_hash,
            rotation.user_id,
            rotation.merchant_id,
            rotation.session_id,
            rotation.now,
            rotation.expires_at,
        );
        let items = vec![
            // The first rotation time is kept, so the grace never restarts.
            self.update(
                item_key(refresh_pk(rotation.presented_hash), REFRESH_SK),
                "SET rotatedAt = if_not_exists(rotatedAt, :now)",
                "attribute_exists(pk) AND (attribute_not_exists(rotatedAt) OR rotatedAt >= :since)",
                values([(":now", n(rotation.now)), (":since", n(rotation.rotated_not_before))]),
            )?,
            self.check(
                item_key(user_pk(rotation.user_id), session_sk(rotation.session_id)),
                "attribute_exists(pk) AND attribute_not_exists(revokedAt) AND expiresAt > :now",
                values([(":now", n(rotation.now))]),
            )?,
            self.put(successor, Some("attribute_not_exists(pk)"), Values::new())?,
        ];
        self.transact("TransactWriteItems rotate refresh token", items).await
    }

    async fn revoke_session(&self, user_id: &str, session_id: &str, now: i64) -> Result<(), StoreError> {
        let result = self
            .update_one(
                "UpdateItem revoke session",
                item_key(user_pk(user_id), session_sk(session_id)),
                "SET revokedAt = if_not_exists(revokedAt, :now)",
                "attribute_exists(pk)",
                values([(":now", n(now))]),
            )
            .await;
        match result {
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(other) => Err(other),
        }
    }

    async fn email_owner(&self, merchant_id: &str, email: &EmailAddress) -> Result<Option<String>, StoreError> {
        self.email_owner_of(merchant_id, email).await
    }

    async fn start_email_confirmation(
        &self,
        user_id: &str,
        merchant_id: &str,
        email: &EmailAddress,
        token_hash: &str,
        expires_at: i64,
        send: &SendReservation,
    ) -> Result<(), StoreError> {
        self.start_email(user_id, merchant_id, email, token_hash, expires_at, send).await
    }

    async fn email_token(&self, token_hash: &str) -> Result<Option<EmailTokenRecord>, StoreError> {
        self.email_token_of(token_hash).await
    }

    async fn confirm_email(&self, confirmation: EmailConfirmation<'_>) -> Result<(), StoreError> {
        self.confirm_email_address(confirmation).await
    }

    async fn update_personal_details(
        &self,
        user_id: &str,
        changes: &PersonalDetails,
        kyc_level: KycLevel,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        self.write_personal_details(user_id, changes, kyc_level, expected_version).await
    }

    async fn sessions(&self, user_id: &str) -> Result<Vec<SessionRecord>, StoreError> {
        self.sessions_of(user_id).await
    }

    async fn issue_reset_code(
        &self,
        key: &PhoneKey,
        code: StoredCode,
        send: &SendReservation,
    ) -> Result<(), StoreError> {
        self.store_reset_code(key, code, send).await
    }

    async fn set_password(&self, change: PasswordChange<'_>) -> Result<(), StoreError> {
        self.write_password(change).await
    }

    async fn activate_account(
        &self,
        key: &PhoneKey,
        code_id: &str,
        user_id: &str,
        session: NewSession,
        now: i64,
    ) -> Result<(), StoreError> {
        let active = status_value(AccountStatus::Active);
        let mut items = vec![
            self.consume_code_item(Identifier::Phone(key), CodePurpose::PhoneSignup, code_id)?,
            self.update(
                key_for_account(user_id),
                "SET #status = :active, activatedAt = :now, validAfter = :now REMOVE expiresAt, #ttl",
                "#status = :pending",
                values([
                    (":active", active.clone()),
                    (":pending", status_value(AccountStatus::Pending)),
                    (":now", n(now)),
                ]),
            )?,
            self.update(
                phone_key(key, CLAIM_SK),
                "SET #status = :active REMOVE expiresAt, #ttl",
                "userId = :uid",
                values([(":active", active), (":uid", s(user_id))]),
            )?,
        ];
        items.extend(self.session_writes(user_id, &key.merchant_id, session)?);
        self.transact("TransactWriteItems activate account", items).await
    }

    async fn issue_email_signup_code(
        &self,
        key: &EmailKey,
        code: StoredCode,
        send: &SendReservation,
    ) -> Result<(), StoreError> {
        self.store_email_signup_code(key, code, send).await
    }

    async fn create_email_account(
        &self,
        key: &EmailKey,
        code_id: &str,
        account: NewEmailAccount,
        session: NewSession,
    ) -> Result<(), StoreError> {
        self.write_email_account(key, code_id, account, session).await
    }

    async fn issue_phone_add_code(
        &self,
        key: &PhoneKey,
        code: StoredCode,
        send: &SendReservation,
    ) -> Result<(), StoreError> {
        self.store_phone_add_code(key, code, send).await
    }

    async fn add_phone(&self, addition: PhoneAddition<'_>) -> Result<(), StoreError> {
        self.write_added_phone(addition).await
    }
}

fn refresh_item(
    hash: &str,
    user_id: &str,
    merchant_id: &str,
    session_id: &str,
    created_at: i64,
    expires_at: i64,
) -> Item {
    let mut item = item_key(refresh_pk(hash), REFRESH_SK);
    item.extend([
        ("userId".to_owned(), s(user_id)),
        ("merchantId".to_owned(), s(merchant_id)),
        ("sessionId".to_owned(), s(session_id)),
        ("createdAt".to_owned(), n(created_at)),
        ("expiresAt".to_owned(), n(expires_at)),
        ("ttl".to_owned(), n(expires_at)),
    ]);
    item
}

pub(super) fn key_for_account(user_id: &str) -> Item {
    item_key(user_pk(user_id), ACCOUNT_SK)
}
