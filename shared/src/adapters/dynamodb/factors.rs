//! Sign-in challenges and the spending of second factors. A challenge is stored with an index entry
//! under the account (so a deletion's sweep deletes it) and counted on the account (so an erasure
//! that read the account before it is refused). A completion is one transaction: the challenge
//! deleted while still live, the proof spent on the account item (the TOTP step recorded if later
//! than the last, or the recovery code's MAC taken out of the set while it is there), and the
//! session written, all conditional on the account being active with the password checked.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::items::*;
use super::table::{DynamoStore, Values, values};
use crate::ports::{
    AccountStatus, Factors, MfaChallenge, MfaCompletion, MfaProof, PendingTotp, StepUp, StoreError, TotpConfirmation,
};

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
/// to spend (the TOTP step later than the last one, or the recovery code's MAC still in its set).
fn proof_spend(proof: MfaProof<'_>, vals: &mut Values) -> (&'static str, &'static str) {
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
        let (spend, proof_condition) = proof_spend(completion.proof, &mut vals);
        let update = format!("{spend} ADD sessionsStarted :one");
        let account_condition = format!("#status = :active AND passwordHash = :checked AND {proof_condition}");
        let mut items = self.session_writes(user_id, &challenge.merchant_id, completion.session)?;
        items.push(self.update(key_for_account(user_id), &update, &account_condition, vals)?);
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
        let (spend, proof_condition) = proof_spend(step_up.proof, &mut vals);
        let account_condition = format!("#status = :active AND passwordHash = :checked AND {proof_condition}");
        let mut items = self.rotation_writes(&step_up.rotation)?;
        items.push(self.update(key_for_account(user_id), spend, &account_condition, vals)?);
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
            "SET totpPendingId = :id, totpPendingSecret = :secret, totpPendingExpiresAt = :expires",
            "#status = :active AND attribute_not_exists(totpId)",
            values([
                (":active", status_value(AccountStatus::Active)),
                (":id", s(&pending.factor_id)),
                (":secret", s(&pending.sealed_secret)),
                (":expires", n(pending.expires_at)),
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
        update.push_str(" REMOVE totpPendingId, totpPendingSecret, totpPendingExpiresAt, totpWrongCodes");
        self.update_one(
            "UpdateItem confirm TOTP",
            key_for_account(confirmation.user_id),
            &update,
            "#status = :active AND totpPendingId = :id AND totpPendingExpiresAt > :now AND attribute_not_exists(totpId)",
            vals,
        )
        .await
    }
}
