//! Sign-in challenges and the spending of second factors. A challenge is stored with an index entry
//! under the account (so a deletion's sweep deletes it) and counted on the account (so an erasure
//! that read the account before it is refused). A completion is one transaction: the challenge
//! deleted while still live, the proof spent on the account item (the TOTP step recorded if later
//! than the last, or the recovery code's MAC taken out of the set while it is there), and the
//! session written, all conditional on the account being active with the password checked.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

use super::deletions::{DELETION_RECORD_RETENTION_SECS, number_as_read};
use super::events::event_count;
use super::items::*;
use super::table::{DynamoStore, Values, values};
use crate::ports::{
    AccountStatus, FactorKind, FactorRemoval, FactorRemovalRecord, Factors, Identifier, MfaChallenge, MfaCompletion,
    MfaProof, PendingTotp, RecoverySet, SmsEnrolment, StepUp, StoreError, TotpConfirmation,
};
use crate::security::code::CodePurpose;
use crate::webhooks::event::EventRecord;

/// A challenge item outlives its expiry by this much before DynamoDB's TTL removes it.
const CHALLENGE_TTL_MARGIN_SECS: i64 = 3600;

fn challenge_key(digest: &str) -> Item {
    item_key(mfa_pk(digest), CHALLENGE_SK)
}

impl TryFrom<&Item> for MfaChallenge {
    type Error = StoreError;

    fn try_from(item: &Item) -> Result<Self, StoreError> {
        Ok(MfaChallenge {
            digest: get_s(item, "digest")?,
            user_id: get_s(item, "userId")?,
            merchant_id: get_s(item, "merchantId")?,
            fingerprint: get_opt_s(item, "fingerprint"),
            credential_version: get_opt_n(item, "credentialVersion")?.unwrap_or(0),
            expires_at: get_n(item, "expiresAt")?,
            attempts_left: get_n(item, "attemptsLeft")?,
        })
    }
}

/// The update that spends `proof` on the account item, and the condition that it is still there
/// to spend (the TOTP step later than the last one, or the recovery code's MAC still in its set;
/// for a code by SMS, that the SMS factor is still there, or, for the step-up of an account without
/// a factor, that it still has none: the code item itself is deleted by `code_spend`).
fn proof_spend(proof: MfaProof<'_>, now: i64, vals: &mut Values) -> (&'static str, &'static str) {
    match proof {
        MfaProof::Totp { factor_id, step } => {
            vals.extend([(":factor".to_owned(), s(factor_id)), (":step".to_owned(), n(step))]);
            (
                "SET totpLastStep = :step REMOVE totpWrongCodes",
                "totpId = :factor AND (attribute_not_exists(totpLastStep) OR totpLastStep < :step)",
            )
        }
        MfaProof::Recovery { set_id, mac } => {
            vals.extend([
                (":set".to_owned(), s(set_id)),
                (":mac".to_owned(), s(mac)),
                (":macs".to_owned(), AttributeValue::Ss(vec![mac.to_owned()])),
            ]);
            (
                "REMOVE totpWrongCodes DELETE recoveryCodes :macs",
                "recoverySetId = :set AND contains(recoveryCodes, :mac)",
            )
        }
        MfaProof::PhoneCode { sms_factor: Some(factor_id), .. } => {
            vals.extend([(":smsFactor".to_owned(), s(factor_id)), (":usedAt".to_owned(), n(now))]);
            ("SET smsFactorUsedAt = :usedAt", "smsFactorId = :smsFactor")
        }
        MfaProof::PhoneCode { sms_factor: None, .. } => {
            ("REMOVE totpWrongCodes", "attribute_not_exists(totpId) AND attribute_not_exists(smsFactorId)")
        }
    }
}

impl DynamoStore {
    /// The deletion of a code by SMS that `proof` spends, while it is the one checked.
    fn code_spend(&self, proof: MfaProof<'_>) -> Result<Option<TransactWriteItem>, StoreError> {
        match proof {
            MfaProof::PhoneCode { phone, code_id, .. } => {
                Ok(Some(self.consume_code_item(Identifier::Phone(phone), CodePurpose::StepUp, code_id)?))
            }
            MfaProof::Totp { .. } | MfaProof::Recovery { .. } => Ok(None),
        }
    }
}

#[async_trait]
impl Factors for DynamoStore {
    async fn start_mfa_challenge(&self, challenge: &MfaChallenge, checked_hash: &str) -> Result<(), StoreError> {
        let mut item = challenge_key(&challenge.digest);
        item.extend([
            ("digest".to_owned(), s(&challenge.digest)),
            ("userId".to_owned(), s(&challenge.user_id)),
            ("merchantId".to_owned(), s(&challenge.merchant_id)),
            ("credentialVersion".to_owned(), n(challenge.credential_version)),
            ("expiresAt".to_owned(), n(challenge.expires_at)),
            ("attemptsLeft".to_owned(), n(challenge.attempts_left)),
            ("ttl".to_owned(), n(challenge.expires_at + CHALLENGE_TTL_MARGIN_SECS)),
        ]);
        if let Some(fingerprint) = &challenge.fingerprint {
            item.insert("fingerprint".to_owned(), s(fingerprint));
        }
        let items = vec![
            self.put(item, Some("attribute_not_exists(pk)"), Values::new())?,
            self.index_write(
                &challenge.user_id,
                mfa_pk(&challenge.digest),
                CHALLENGE_SK,
                challenge.expires_at + CHALLENGE_TTL_MARGIN_SECS,
            )?,
            self.update(
                key_for_account(&challenge.user_id),
                "ADD mfaChallenges :one",
                "#status = :active AND passwordHash = :checked",
                values([
                    (":active", status_value(AccountStatus::Active)),
                    (":checked", s(checked_hash)),
                    (":one", n(1)),
                ]),
            )?,
        ];
        self.transact("TransactWriteItems start MFA challenge", items).await
    }

    async fn mfa_challenge(&self, digest: &str) -> Result<Option<MfaChallenge>, StoreError> {
        let item = self.get("GetItem MFA challenge", challenge_key(digest)).await?;
        item.as_ref().map(MfaChallenge::try_from).transpose()
    }

    async fn spend_mfa_attempt(&self, digest: &str, now: i64) -> Result<Option<u32>, StoreError> {
        let result = self
            .update_returning(
                "UpdateItem spend MFA attempt",
                challenge_key(digest),
                "SET attemptsLeft = attemptsLeft - :one",
                "attemptsLeft > :zero AND expiresAt > :now",
                values([(":one", n(1)), (":zero", n(0)), (":now", n(now))]),
                true,
            )
            .await;
        match result {
            Ok(attributes) => Ok(Some(get_n(&attributes, "attemptsLeft")?)),
            Err(StoreError::Conflict) => Ok(None),
            Err(other) => Err(other),
        }
    }

    async fn complete_mfa_sign_in(&self, completion: MfaCompletion<'_>) -> Result<(), StoreError> {
        let challenge = completion.challenge;
        let user_id = &challenge.user_id;
        let mut vals = values([
            (":active", status_value(AccountStatus::Active)),
            (":checked", s(completion.checked_hash)),
            (":one", n(1)),
        ]);
        // One update of the account item: the session counted and the proof spent together.
        let (spend, proof_condition) = proof_spend(completion.proof, completion.now, &mut vals);
        let update = format!("{spend} ADD sessionsStarted :one");
        let account_condition = format!("#status = :active AND passwordHash = :checked AND {proof_condition}");
        let mut items = self.session_writes(user_id, &challenge.merchant_id, completion.session)?;
        items.push(self.update(key_for_account(user_id), &update, &account_condition, vals)?);
        items.extend(self.code_spend(completion.proof)?);
        items.push(self.delete(
            challenge_key(&challenge.digest),
            Some("userId = :uid AND expiresAt > :now"),
            values([(":uid", s(user_id)), (":now", n(completion.now))]),
        )?);
        items.push(self.delete(
            item_key(user_pk(user_id), index_sk(&mfa_pk(&challenge.digest))),
            None,
            Values::new(),
        )?);
        self.transact("TransactWriteItems complete MFA sign-in", items).await
    }

    async fn step_up_session(&self, step_up: StepUp<'_>) -> Result<(), StoreError> {
        let user_id = step_up.rotation.user_id;
        let mut vals =
            values([(":active", status_value(AccountStatus::Active)), (":checked", s(step_up.checked_hash))]);
        let (spend, proof_condition) = proof_spend(step_up.proof, step_up.rotation.now, &mut vals);
        let account_condition = format!("#status = :active AND passwordHash = :checked AND {proof_condition}");
        let mut items = self.rotation_writes(&step_up.rotation)?;
        items.push(self.update(key_for_account(user_id), spend, &account_condition, vals)?);
        items.extend(self.code_spend(step_up.proof)?);
        self.transact("TransactWriteItems step up session", items).await
    }

    async fn count_wrong_code(&self, user_id: &str, factor_id: &str) -> Result<Option<u64>, StoreError> {
        let result = self
            .update_returning(
                "UpdateItem count wrong code",
                key_for_account(user_id),
                "ADD totpWrongCodes :one",
                "#status = :active AND totpId = :factor",
                values([(":one", n(1)), (":active", status_value(AccountStatus::Active)), (":factor", s(factor_id))]),
                true,
            )
            .await;
        match result {
            Ok(attributes) => Ok(Some(get_n(&attributes, "totpWrongCodes")?)),
            Err(StoreError::Conflict) => Ok(None),
            Err(other) => Err(other),
        }
    }

    async fn start_totp_enrolment(&self, user_id: &str, pending: &PendingTotp) -> Result<(), StoreError> {
        self.update_one(
            "UpdateItem start TOTP enrolment",
            key_for_account(user_id),
            "SET totpPendingId = :id, totpPendingSecret = :secret, totpPendingExpiresAt = :expires, totpPendingAttempts = :attempts",
            "#status = :active AND attribute_not_exists(totpId) AND attribute_not_exists(smsFactorId)",
            values([
                (":active", status_value(AccountStatus::Active)),
                (":id", s(&pending.factor_id)),
                (":secret", s(&pending.sealed_secret)),
                (":expires", n(pending.expires_at)),
                (":attempts", n(pending.attempts_left)),
            ]),
        )
        .await
    }

    async fn confirm_totp(&self, confirmation: TotpConfirmation<'_>) -> Result<(), StoreError> {
        let mut vals = values([
            (":active", status_value(AccountStatus::Active)),
            (":id", s(confirmation.factor_id)),
            (":now", n(confirmation.now)),
            (":step", n(confirmation.step)),
        ]);
        let mut update = String::from(
            "SET totpId = totpPendingId, totpSecret = totpPendingSecret, totpCreatedAt = :now, totpLastStep = :step",
        );
        if let Some(set) = &confirmation.recovery {
            update.push_str(
                ", recoverySetId = :set, recoveryKey = :key, recoveryCodes = :codes, recoveryCreatedAt = :now",
            );
            vals.extend([
                (":set".to_owned(), s(&set.set_id)),
                (":key".to_owned(), s(&set.sealed_key)),
                (":codes".to_owned(), AttributeValue::Ss(set.remaining.clone())),
            ]);
        }
        let (count, counted) = event_count(&confirmation.events, &mut vals);
        update.push_str(&count);
        update.push_str(
            " REMOVE totpPendingId, totpPendingSecret, totpPendingExpiresAt, totpPendingAttempts, totpWrongCodes",
        );
        let condition = format!(
            "#status = :active AND totpPendingId = :id AND totpPendingExpiresAt > :now \
             AND attribute_not_exists(totpId) AND attribute_not_exists(smsFactorId){counted}"
        );
        let mut items = vec![self.update(key_for_account(confirmation.user_id), &update, &condition, vals)?];
        self.event_writes(&confirmation.events, &mut items)?;
        self.transact("TransactWriteItems confirm TOTP", items).await
    }

    async fn spend_enrolment_attempt(
        &self,
        user_id: &str,
        factor_id: &str,
        now: i64,
    ) -> Result<Option<u32>, StoreError> {
        let result = self
            .update_returning(
                "UpdateItem spend enrolment attempt",
                key_for_account(user_id),
                "SET totpPendingAttempts = totpPendingAttempts - :one",
                "#status = :active AND totpPendingId = :id AND totpPendingExpiresAt > :now AND totpPendingAttempts > :zero",
                values([
                    (":active", status_value(AccountStatus::Active)),
                    (":id", s(factor_id)),
                    (":now", n(now)),
                    (":one", n(1)),
                    (":zero", n(0)),
                ]),
                true,
            )
            .await;
        match result {
            Ok(attributes) => Ok(Some(get_n(&attributes, "totpPendingAttempts")?)),
            Err(StoreError::Conflict) => Ok(None),
            Err(other) => Err(other),
        }
    }

    async fn remove_factor(&self, removal: FactorRemoval<'_>) -> Result<(), StoreError> {
        let (id_attribute, attributes) = match removal.kind {
            FactorKind::Totp => ("totpId", "totpId, totpSecret, totpCreatedAt, totpLastStep, totpWrongCodes"),
            FactorKind::Sms => ("smsFactorId", "smsFactorId, smsFactorCreatedAt, smsFactorUsedAt"),
        };
        let mut vals = values([(":active", status_value(AccountStatus::Active)), (":id", s(removal.factor_id))]);
        let mut condition = format!("#status = :active AND {id_attribute} = :id");
        if let Some((_, sessions_started)) = removal.record {
            condition.push_str(" AND ");
            condition.push_str(&number_as_read("sessionsStarted", sessions_started, &mut vals));
        }
        let (count, counted) = event_count(&removal.events, &mut vals);
        condition.push_str(&counted);
        let set = count.strip_prefix(", ").map(|count| format!("SET {count} ")).unwrap_or_default();
        let mut items = vec![self.update(
            key_for_account(removal.user_id),
            &format!("{set}REMOVE {attributes}, recoverySetId, recoveryKey, recoveryCodes, recoveryCreatedAt"),
            &condition,
            vals,
        )?];
        self.event_writes(&removal.events, &mut items)?;
        if let Some(phone) = removal.phone {
            items.push(self.delete(phone_key(phone, code_sk(CodePurpose::AccountDelete)), None, Values::new())?);
        }
        if let Some((record, _)) = removal.record {
            let mut entry =
                item_key(factor_removals_pk(&record.merchant_id), deletion_sk(record.removed_at, &record.user_id));
            entry.extend([
                ("userId".to_owned(), s(&record.user_id)),
                ("merchantId".to_owned(), s(&record.merchant_id)),
                ("removedAt".to_owned(), n(record.removed_at)),
                ("reference".to_owned(), s(&record.reference)),
                ("ttl".to_owned(), n(record.removed_at + DELETION_RECORD_RETENTION_SECS)),
            ]);
            items.push(self.put(entry, Some("attribute_not_exists(pk)"), Values::new())?);
        }
        self.transact("TransactWriteItems remove factor", items).await
    }

    async fn enrol_sms_factor(&self, enrolment: SmsEnrolment<'_>) -> Result<(), StoreError> {
        let set = &enrolment.recovery;
        let mut vals = values([
            (":active", status_value(AccountStatus::Active)),
            (":id", s(enrolment.factor_id)),
            (":now", n(enrolment.now)),
            (":phone", s(enrolment.phone.phone.e164())),
            (":email", s(enrolment.email)),
            (":checked", s(enrolment.checked_hash)),
            (":set", s(&set.set_id)),
            (":key", s(&set.sealed_key)),
            (":codes", AttributeValue::Ss(set.remaining.clone())),
        ]);
        let (count, counted) = event_count(&enrolment.events, &mut vals);
        let factor = self.update(
            key_for_account(enrolment.user_id),
            &format!(
                "SET smsFactorId = :id, smsFactorCreatedAt = :now, \
                 recoverySetId = :set, recoveryKey = :key, recoveryCodes = :codes, recoveryCreatedAt = :now{count}"
            ),
            &format!(
                "#status = :active AND phone = :phone AND email = :email AND passwordHash = :checked \
                 AND attribute_not_exists(totpId) AND attribute_not_exists(smsFactorId){counted}"
            ),
            vals,
        )?;
        let reset_code =
            self.delete(phone_key(enrolment.phone, code_sk(CodePurpose::PasswordReset)), None, Values::new())?;
        let mut items = vec![factor, reset_code];
        self.event_writes(&enrolment.events, &mut items)?;
        self.transact("TransactWriteItems enrol SMS factor", items).await
    }

    async fn factor_removal_records(&self, merchant_id: &str) -> Result<Vec<FactorRemovalRecord>, StoreError> {
        let items = self.query_prefix("Query factor removal records", factor_removals_pk(merchant_id), "AT#").await?;
        items
            .iter()
            .map(|item| {
                Ok(FactorRemovalRecord {
                    merchant_id: get_s(item, "merchantId")?,
                    user_id: get_s(item, "userId")?,
                    removed_at: get_n(item, "removedAt")?,
                    reference: get_s(item, "reference")?,
                })
            })
            .collect()
    }

    async fn replace_recovery_set(
        &self,
        user_id: &str,
        replaced: Option<&str>,
        set: &RecoverySet,
        events: &[EventRecord],
    ) -> Result<(), StoreError> {
        let mut vals = values([
            (":active", status_value(AccountStatus::Active)),
            (":set", s(&set.set_id)),
            (":key", s(&set.sealed_key)),
            (":codes", AttributeValue::Ss(set.remaining.clone())),
            (":now", n(set.created_at)),
        ]);
        let was = match replaced {
            Some(old) => {
                vals.insert(":old".to_owned(), s(old));
                "recoverySetId = :old"
            }
            None => "attribute_not_exists(recoverySetId)",
        };
        let (count, counted) = event_count(events, &mut vals);
        let mut items = vec![self.update(
            key_for_account(user_id),
            &format!(
                "SET recoverySetId = :set, recoveryKey = :key, recoveryCodes = :codes, recoveryCreatedAt = :now{count}"
            ),
            &format!(
                "#status = :active AND (attribute_exists(totpId) OR attribute_exists(smsFactorId)) AND {was}{counted}"
            ),
            vals,
        )?];
        self.event_writes(events, &mut items)?;
        self.transact("TransactWriteItems replace recovery codes", items).await
    }
}
