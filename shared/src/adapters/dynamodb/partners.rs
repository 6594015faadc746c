//! The partner registry and the atomic counters, in the same table as the accounts.

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::AttributeValue;

use super::errors::{classify, classify_transaction};
use super::items::*;
use super::table::{DynamoStore, values};
use crate::domain::partner::{CountryCode, Partner, PartnerStatus, PolicyName, SigningSecret};
use crate::domain::sumsub::{SumsubMode, SumsubSettings};
use crate::factors::policy::SecondFactorPolicy;
use crate::ports::{AccountStatus, Admission, CounterKey, Counters, PartnerRegistry, StoreError};

fn partner_key(id: &str) -> Item {
    item_key(PARTNERS_PK.to_owned(), format!("PARTNER#{id}"))
}

fn counter_key(name: &str) -> Item {
    item_key(format!("COUNTER#{name}"), COUNTER_SK)
}

fn partner_item(p: &Partner) -> Item {
    let mut item = partner_key(&p.id);
    item.extend(values([
        ("id", s(&p.id)),
        ("name", s(&p.name)),
        ("status", s(p.status.as_str())),
        ("sandbox", AttributeValue::Bool(p.sandbox)),
        ("passwordPolicy", s(p.password_policy.as_str())),
        ("smsCountries", AttributeValue::L(p.sms_countries.iter().map(|c| s(c.as_str())).collect())),
        ("dailySmsBudget", n(p.daily_sms_budget)),
        ("newDeviceNotices", AttributeValue::Bool(p.new_device_notices)),
        ("secondFactor", s(p.second_factor.as_str())),
        ("forwardsEndUserAddress", AttributeValue::Bool(p.forwards_end_user_address)),
        ("createdAt", n(p.created_at)),
        ("updatedAt", n(p.updated_at)),
    ]));
    let optional = [
        ("signingSecret", p.signing_secret.as_ref().map(|secret| secret.expose().to_owned())),
        ("emailSender", p.email_sender.clone()),
        ("publicBaseUrl", p.public_base_url.clone()),
        ("sumsubMode", p.sumsub.as_ref().map(|k| k.mode.as_str().to_owned())),
        ("sumsubLevel", p.sumsub.as_ref().map(|k| k.level_name.clone())),
        ("sumsubAppToken", p.sumsub.as_ref().and_then(|k| k.app_token.clone())),
        ("sumsubCredentialsArn", p.sumsub.as_ref().map(|k| k.credentials_arn.clone())),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            item.insert(name.to_owned(), s(value));
        }
    }
    item
}

fn malformed(attr: &str) -> StoreError {
    StoreError::Backend(format!("partner attribute {attr} is missing or malformed"))
}

/// Absent on partners that never turned Sumsub on: off.
fn sumsub_from(item: &Item) -> Result<Option<SumsubSettings>, StoreError> {
    let Some(mode) = get_opt_s(item, "sumsubMode") else { return Ok(None) };
    Ok(Some(SumsubSettings {
        mode: SumsubMode::parse(&mode).ok_or_else(|| malformed("sumsubMode"))?,
        level_name: get_s(item, "sumsubLevel")?,
        app_token: get_opt_s(item, "sumsubAppToken"),
        credentials_arn: get_s(item, "sumsubCredentialsArn")?,
    }))
}

fn partner_from(item: &Item) -> Result<Partner, StoreError> {
    let countries = item
        .get("smsCountries")
        .and_then(|v| v.as_l().ok())
        .ok_or_else(|| malformed("smsCountries"))?
        .iter()
        .map(|v| v.as_s().ok().and_then(|c| CountryCode::parse(c).ok()).ok_or_else(|| malformed("smsCountries")))
        .collect::<Result<_, _>>()?;
    Ok(Partner {
        id: get_s(item, "id")?,
        name: get_s(item, "name")?,
        status: PartnerStatus::parse(&get_s(item, "status")?).ok_or_else(|| malformed("status"))?,
        sandbox: *item.get("sandbox").and_then(|v| v.as_bool().ok()).ok_or_else(|| malformed("sandbox"))?,
        password_policy: PolicyName::parse(&get_s(item, "passwordPolicy")?)
            .ok_or_else(|| malformed("passwordPolicy"))?,
        sms_countries: countries,
        daily_sms_budget: get_n(item, "dailySmsBudget")?,
        signing_secret: get_opt_s(item, "signingSecret").map(SigningSecret::from_stored),
        email_sender: get_opt_s(item, "emailSender"),
        public_base_url: get_opt_s(item, "publicBaseUrl"),
        // Absent on partners registered before the setting existed: off.
        new_device_notices: item.get("newDeviceNotices").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false),
        // Absent on partners registered before the setting existed: optional.
        second_factor: match get_opt_s(item, "secondFactor") {
            Some(policy) => SecondFactorPolicy::parse(&policy).ok_or_else(|| malformed("secondFactor"))?,
            None => SecondFactorPolicy::Optional,
        },
        forwards_end_user_address: item
            .get("forwardsEndUserAddress")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        sumsub: sumsub_from(item)?,
        created_at: get_n(item, "createdAt")?,
        updated_at: get_n(item, "updatedAt")?,
    })
}

#[async_trait]
impl PartnerRegistry for DynamoStore {
    async fn partner(&self, id: &str) -> Result<Option<Partner>, StoreError> {
        self.get("GetItem partner", partner_key(id)).await?.as_ref().map(partner_from).transpose()
    }

    async fn partners(&self) -> Result<Vec<Partner>, StoreError> {
        let pages = self
            .client()
            .query()
            .table_name(self.table())
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(PARTNERS_PK))
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>()
            .await;
        pages
            .into_iter()
            .map(|item| item.map_err(|e| classify("Query partners", e)).and_then(|item| partner_from(&item)))
            .collect()
    }

    async fn add_partner(&self, partner: &Partner) -> Result<(), StoreError> {
        self.client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(partner_item(partner)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("PutItem partner", e))
    }

    async fn update_partner(&self, partner: &Partner, read_at: i64) -> Result<(), StoreError> {
        self.client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(partner_item(partner)))
            .condition_expression("updatedAt = :read")
            .expression_attribute_values(":read", n(read_at))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify("PutItem partner update", e))
    }
}

#[async_trait]
impl Counters for DynamoStore {
    async fn increment_below(&self, key: &CounterKey, limit: u64) -> Result<bool, StoreError> {
        // The condition below admits a counter that does not exist yet, so a limit of 0 (a partner
        // with no SMS budget) must be refused here.
        if limit == 0 {
            return Ok(false);
        }
        let result = self
            .update_one(
                "UpdateItem counter",
                counter_key(&key.name),
                "ADD hits :one SET #ttl = :ttl",
                "attribute_not_exists(hits) OR hits < :limit",
                values([(":one", n(1)), (":limit", n(limit)), (":ttl", n(key.expires_at))]),
            )
            .await;
        match result {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(other) => Err(other),
        }
    }

    async fn admit_recipient(
        &self,
        key: &CounterKey,
        member: &str,
        limit: u64,
        user_id: &str,
    ) -> Result<Admission, StoreError> {
        if limit == 0 {
            return Ok(Admission::Full);
        }
        // The account first, the set second: the cancellation reasons come in this order.
        let items = vec![
            self.check(
                key_for_account(user_id),
                "#status = :active",
                values([(":active", status_value(AccountStatus::Active))]),
            )?,
            self.update(
                counter_key(&key.name),
                "ADD members :member SET #ttl = :ttl",
                "attribute_not_exists(members) OR contains(members, :one) OR size(members) < :limit",
                values([
                    (":member", AttributeValue::Ss(vec![member.to_owned()])),
                    (":one", s(member)),
                    (":limit", n(limit)),
                    (":ttl", n(key.expires_at)),
                ]),
            )?,
        ];
        let sent = self.client().transact_write_items().set_transact_items(Some(items)).send().await;
        let Err(err) = sent else { return Ok(Admission::Admitted) };
        if let SdkError::ServiceError(service) = &err
            && let TransactWriteItemsError::TransactionCanceledException(cancelled) = service.err()
        {
            let reason = |i: usize| cancelled.cancellation_reasons().get(i).and_then(|r| r.code());
            if reason(0) == Some("ConditionalCheckFailed") {
                return Ok(Admission::AccountGone);
            }
            if reason(1) == Some("ConditionalCheckFailed") {
                return Ok(Admission::Full);
            }
        }
        Err(classify_transaction("TransactWriteItems admit recipient", err))
    }

    async fn decrement(&self, key: &CounterKey) -> Result<(), StoreError> {
        let result = self
            .update_one(
                "UpdateItem counter refund",
                counter_key(&key.name),
                "ADD hits :minus",
                "hits > :zero",
                values([(":minus", n(-1)), (":zero", n(0))]),
            )
            .await;
        match result {
            Err(StoreError::Conflict) => Ok(()),
            other => other,
        }
    }

    async fn remove(&self, key: &CounterKey) -> Result<(), StoreError> {
        self.delete_keys("DeleteItem counter", vec![counter_key(&key.name)]).await
    }
}
