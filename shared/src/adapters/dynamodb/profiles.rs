//! What a signed-in user changes: a phone added to an account that has none or moved to a new
//! number, an email address
//! confirmed by link, personal details. Each write is conditional on the profile version, so none
//! is lost to a concurrent one.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::events::event_count;
use super::items::*;
use super::table::{DynamoStore, Values, values};
use crate::domain::email::EmailAddress;
use crate::domain::identity_review::IdentityReview;
use crate::domain::kyc::KycLevel;
use crate::domain::personal_details::{FIELDS, PersonalDetails};
use crate::domain::send_limits::SendReservation;
use crate::ports::{
    AccountStatus, EmailConfirmation, EmailTokenRecord, Identifier, PhoneAddition, PhoneMove, Profiles, StoreError,
};
use crate::security::code::CodePurpose;
use crate::webhooks::event::EventRecord;

/// The condition that no second factor was enrolled at or after `issued_at` (a code or link sent
/// before the account had its factor must not complete after it: `AccountFactors::enrolled_since`).
fn no_factor_since(issued_at: i64, vals: &mut Values) -> &'static str {
    vals.insert(":issuedAt".to_owned(), n(issued_at));
    "(attribute_not_exists(totpCreatedAt) OR totpCreatedAt < :issuedAt) \
     AND (attribute_not_exists(smsFactorCreatedAt) OR smsFactorCreatedAt < :issuedAt)"
}

/// `profileVersion` as it must be for the write to go ahead, and the value it becomes.
fn version_condition(expected: u64, vals: &mut Values) -> &'static str {
    vals.insert(":next".to_owned(), n(expected + 1));
    if expected == 0 {
        "attribute_not_exists(profileVersion)"
    } else {
        vals.insert(":expected".to_owned(), n(expected));
        "profileVersion = :expected"
    }
}

#[async_trait]
impl Profiles for DynamoStore {
    async fn add_phone(&self, a: PhoneAddition<'_>) -> Result<(), StoreError> {
        let active = status_value(AccountStatus::Active);
        let mut claim = phone_key(a.key, CLAIM_SK);
        claim.extend([
            ("userId".to_owned(), s(a.user_id)),
            ("status".to_owned(), active.clone()),
            ("createdAt".to_owned(), n(a.now)),
        ]);
        let mut account_values = values([
            (":phone", s(a.key.phone.e164())),
            (":now", n(a.now)),
            (":kyc", s(a.kyc_level.as_str())),
            (":active", active),
        ]);
        let version = version_condition(a.expected_version, &mut account_values);
        let no_factor = no_factor_since(a.issued_at, &mut account_values);
        let (count, counted) = event_count(&a.events, &mut account_values);
        let mut items = vec![
            self.consume_code_item(Identifier::Phone(a.key), CodePurpose::PhoneAdd, a.code_id)?,
            // Whoever proves the phone wins over a signup that never confirmed it, as in signup.
            self.put(
                claim,
                Some("attribute_not_exists(pk) OR #status = :pending"),
                values([(":pending", status_value(AccountStatus::Pending))]),
            )?,
            self.update(
                key_for_account(a.user_id),
                &format!("SET phone = :phone, phoneConfirmedAt = :now, phoneConfirmedFor = :phone, updatedAt = :now, kycLevel = :kyc, profileVersion = :next{count}"),
                &format!("#status = :active AND attribute_not_exists(phone) AND {version} AND {no_factor}{counted}"),
                account_values,
            )?,
            self.code_ref_delete(a.user_id, Identifier::Phone(a.key), CodePurpose::PhoneAdd)?,
        ];
        self.event_writes(&a.events, &mut items)?;
        self.transact("TransactWriteItems add phone", items).await
    }

    async fn move_phone(&self, m: PhoneMove<'_>) -> Result<(), StoreError> {
        let active = status_value(AccountStatus::Active);
        let mut claim = phone_key(m.new, CLAIM_SK);
        claim.extend([
            ("userId".to_owned(), s(m.user_id)),
            ("status".to_owned(), active.clone()),
            ("createdAt".to_owned(), n(m.now)),
        ]);
        let mut account_values = values([
            (":phone", s(m.new.phone.e164())),
            (":old", s(m.old.phone.e164())),
            (":now", n(m.now)),
            (":active", active),
        ]);
        let version = version_condition(m.expected_version, &mut account_values);
        let no_factor = no_factor_since(m.issued_at, &mut account_values);
        let (count, counted) = event_count(&m.events, &mut account_values);
        let mut items = vec![
            self.consume_code_item(Identifier::Phone(m.new), CodePurpose::PhoneChange, m.code_id)?,
            self.put(
                claim,
                Some("attribute_not_exists(pk) OR #status = :pending"),
                values([(":pending", status_value(AccountStatus::Pending))]),
            )?,
            // The old number is free at once: it signs in like an unknown one and can sign up anew.
            self.delete(phone_key(m.old, CLAIM_SK), Some("userId = :uid"), values([(":uid", s(m.user_id))]))?,
            self.update(
                key_for_account(m.user_id),
                &format!("SET phone = :phone, phoneConfirmedAt = :now, phoneConfirmedFor = :phone, updatedAt = :now, profileVersion = :next{count}"),
                &format!("#status = :active AND phone = :old AND {version} AND {no_factor}{counted}"),
                account_values,
            )?,
            self.code_ref_delete(m.user_id, Identifier::Phone(m.new), CodePurpose::PhoneChange)?,
        ];
        // Codes sent to the old number for the account (a reset, a deletion, a step-up) die with the move.
        for purpose in CodePurpose::TO_ACCOUNT_CONTACT {
            items.push(self.delete(phone_key(m.old, code_sk(purpose)), None, Values::new())?);
        }
        self.event_writes(&m.events, &mut items)?;
        self.transact("TransactWriteItems move phone", items).await
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
        let mut token = item_key(email_token_pk(token_hash), TOKEN_SK);
        token.extend([
            ("userId".to_owned(), s(user_id)),
            ("merchantId".to_owned(), s(merchant_id)),
            ("email".to_owned(), s(email.as_str())),
            ("expiresAt".to_owned(), n(expires_at)),
            ("ttl".to_owned(), n(expires_at + 7 * 24 * 3600)),
        ]);
        let items = vec![
            self.update(
                key_for_account(user_id),
                "SET pendingEmail = :email, pendingEmailToken = :hash",
                "#status = :active",
                values([
                    (":email", s(email.as_str())),
                    (":hash", s(token_hash)),
                    (":active", status_value(AccountStatus::Active)),
                ]),
            )?,
            self.put(token, Some("attribute_not_exists(pk)"), Values::new())?,
            self.index_write(user_id, email_token_pk(token_hash), TOKEN_SK, expires_at + 7 * 24 * 3600)?,
            self.send_log_write(send)?,
        ];
        self.transact("TransactWriteItems start email confirmation", items).await
    }

    async fn email_token(&self, token_hash: &str) -> Result<Option<EmailTokenRecord>, StoreError> {
        let item = self.get("GetItem email token", item_key(email_token_pk(token_hash), TOKEN_SK)).await?;
        item.as_ref().map(EmailTokenRecord::try_from).transpose()
    }

    async fn confirm_email(&self, c: EmailConfirmation<'_>) -> Result<(), StoreError> {
        let mut account_values = values([
            (":email", s(c.email)),
            (":kyc", s(c.kyc_level.as_str())),
            (":hash", s(c.token_hash)),
            (":now", n(c.now)),
        ]);
        let version = version_condition(c.expected_version, &mut account_values);
        let no_factor = no_factor_since(c.issued_at, &mut account_values);
        let (count, counted) = event_count(&c.events, &mut account_values);
        let mut claim = item_key(email_claim_pk(c.merchant_id, c.email), CLAIM_SK);
        claim.extend([("userId".to_owned(), s(c.user_id)), ("createdAt".to_owned(), n(c.now))]);
        let mut items = vec![
            self.update(
                item_key(email_token_pk(c.token_hash), TOKEN_SK),
                "SET usedAt = :now",
                "attribute_exists(pk) AND attribute_not_exists(usedAt)",
                values([(":now", n(c.now))]),
            )?,
            self.update(
                key_for_account(c.user_id),
                &format!("SET email = :email, updatedAt = :now, kycLevel = :kyc, profileVersion = :next{count} REMOVE pendingEmail, pendingEmailToken"),
                &format!("pendingEmailToken = :hash AND {version} AND {no_factor}{counted}"),
                account_values,
            )?,
            self.put(claim, Some("attribute_not_exists(pk) OR userId = :uid"), values([(":uid", s(c.user_id))]))?,
        ];
        if let Some(previous) = c.previous_email.filter(|p| *p != c.email) {
            let pk = email_claim_pk(c.merchant_id, previous);
            items.push(self.delete(
                item_key(pk.clone(), CLAIM_SK),
                Some("userId = :uid"),
                values([(":uid", s(c.user_id))]),
            )?);
            // Codes sent to the old address for the account (a reset) die with the change.
            for purpose in CodePurpose::TO_ACCOUNT_CONTACT {
                items.push(self.delete(item_key(pk.clone(), code_sk(purpose)), None, Values::new())?);
            }
        }
        self.event_writes(&c.events, &mut items)?;
        self.transact("TransactWriteItems confirm email", items).await
    }

    async fn update_personal_details(
        &self,
        user_id: &str,
        changes: &PersonalDetails,
        kyc_level: KycLevel,
        expected_version: u64,
        now: i64,
        events: &[EventRecord],
    ) -> Result<(), StoreError> {
        let mut vals = values([
            (":kyc", s(kyc_level.as_str())),
            (":active", status_value(AccountStatus::Active)),
            (":now", n(now)),
        ]);
        let mut sets =
            vec!["kycLevel = :kyc".to_owned(), "profileVersion = :next".to_owned(), "updatedAt = :now".to_owned()];
        for (i, field) in FIELDS.iter().enumerate() {
            if let Some(value) = changes.get(field) {
                sets.push(format!("{field} = :f{i}"));
                vals.insert(format!(":f{i}"), AttributeValue::S(value.to_owned()));
            }
        }
        let mut condition = format!("#status = :active AND {}", version_condition(expected_version, &mut vals));
        let mut update = format!("SET {}", sets.join(", "));
        if events.is_empty() {
            return self
                .update_one("UpdateItem personal details", key_for_account(user_id), &update, &condition, vals)
                .await;
        }
        // Only a change of the KYC level shown is reported: one more item, in a transaction.
        let (count, counted) = event_count(events, &mut vals);
        update.push_str(&count);
        condition.push_str(&counted);
        let mut items = vec![self.update(key_for_account(user_id), &update, &condition, vals)?];
        self.event_writes(events, &mut items)?;
        self.transact("TransactWriteItems personal details", items).await
    }

    async fn record_identity_review(
        &self,
        user_id: &str,
        merchant_id: &str,
        review: &IdentityReview,
        expected_version: u64,
        events: &[EventRecord],
    ) -> Result<(), StoreError> {
        // Strictly newer: Sumsub's retry of the same event, or an older one arriving late, fails the
        // condition and changes nothing, whatever order concurrent deliveries land in.
        let labels = AttributeValue::L(review.reject_labels.iter().map(|l| s(l.as_str())).collect());
        let mut vals = values([
            (":status", s(review.status.as_str())),
            (":labels", labels),
            (":applicant", s(review.applicant_id.as_str())),
            (":at", n(review.event_at_ms)),
            (":merchant", s(merchant_id)),
        ]);
        // And the profile as read: the level shown combines this verdict with the details rule, so a
        // details, phone or email change must not commit beside it on the same read.
        let update = "SET kycReviewStatus = :status, kycRejectLabels = :labels, kycApplicantId = :applicant, \
                      kycReviewAt = :at, profileVersion = :next";
        let version = version_condition(expected_version, &mut vals);
        let condition = format!(
            "merchantId = :merchant AND (attribute_not_exists(kycReviewAt) OR kycReviewAt < :at) AND {version}"
        );
        if events.is_empty() {
            return self
                .update_one("UpdateItem identity review", key_for_account(user_id), update, &condition, vals)
                .await;
        }
        // Only a change of the KYC level shown is reported: one more item, in a transaction.
        let (count, counted) = event_count(events, &mut vals);
        let mut items = vec![self.update(
            key_for_account(user_id),
            &format!("{update}{count}"),
            &format!("{condition}{counted}"),
            vals,
        )?];
        self.event_writes(events, &mut items)?;
        self.transact("TransactWriteItems identity review", items).await
    }
}
