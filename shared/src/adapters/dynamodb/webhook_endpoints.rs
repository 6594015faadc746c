//! A partner's webhook endpoints: one item each under `WEBHOOKS#<partner>`, sorted by id; and each
//! endpoint's delivery log under `WEBHOOKLOG#<partner>#<endpoint>`, sorted by time.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::items::*;
use super::table::{DynamoStore, Order, Values, values};
use crate::domain::email::EmailAddress;
use crate::ports::{DeliveryLog, StoreError, WebhookEndpoints};
use crate::webhooks::delivery_log::{DELIVERY_LOG_RETENTION_SECS, DeliveryAttempt};
use crate::webhooks::endpoint::EndpointUrl;
use crate::webhooks::endpoints::{EndpointStatus, PreviousSecret, SecretRotation, WebhookEndpoint};
use crate::webhooks::event::Disclosure;

const ENDPOINT_PREFIX: &str = "ENDPOINT#";

/// `lastDeliveredAt` is written at most this often: a write an hour an endpoint, not one a delivery.
pub const DELIVERED_RESOLUTION_SECS: i64 = 3600;

fn endpoints_pk(partner_id: &str) -> String {
    format!("WEBHOOKS#{partner_id}")
}

fn malformed(attr: &str) -> StoreError {
    StoreError::Backend(format!("webhook endpoint attribute {attr} is missing or malformed"))
}

fn endpoint_item(endpoint: &WebhookEndpoint) -> Item {
    let mut item = item_key(endpoints_pk(&endpoint.partner_id), format!("{ENDPOINT_PREFIX}{}", endpoint.id));
    item.extend([
        ("endpointId".to_owned(), s(&endpoint.id)),
        ("partnerId".to_owned(), s(&endpoint.partner_id)),
        ("url".to_owned(), s(endpoint.url.as_str())),
        (
            "disclosure".to_owned(),
            s(match endpoint.disclosure {
                Disclosure::Masked => "masked",
                Disclosure::Full => "full",
            }),
        ),
        ("sealedSecret".to_owned(), s(&endpoint.sealed_secret)),
        ("createdAt".to_owned(), n(endpoint.created_at)),
    ]);
    if !endpoint.event_types.is_empty() {
        item.insert(
            "eventTypes".to_owned(),
            AttributeValue::L(endpoint.event_types.iter().map(|t| s(t.as_str())).collect()),
        );
    }
    if let Some(notify) = &endpoint.notify {
        item.insert("notifyEmail".to_owned(), s(notify.as_str()));
    }
    if let Some(previous) = &endpoint.previous_secret {
        item.insert("previousSealedSecret".to_owned(), s(&previous.sealed));
        item.insert("previousSecretUntil".to_owned(), n(previous.until));
    }
    if let Some(at) = endpoint.last_delivered_at {
        item.insert("lastDeliveredAt".to_owned(), n(at));
    }
    if let EndpointStatus::Disabled { reason, at } = &endpoint.status {
        item.insert("disabledReason".to_owned(), s(reason));
        item.insert("disabledAt".to_owned(), n(*at));
    }
    item
}

fn endpoint_record(item: &Item) -> Result<WebhookEndpoint, StoreError> {
    let status = match (get_opt_s(item, "disabledReason"), get_opt_n::<i64>(item, "disabledAt")?) {
        (Some(reason), Some(at)) => EndpointStatus::Disabled { reason, at },
        _ => EndpointStatus::Active,
    };
    Ok(WebhookEndpoint {
        id: get_s(item, "endpointId")?,
        partner_id: get_s(item, "partnerId")?,
        url: EndpointUrl::parse(&get_s(item, "url")?).map_err(|_| malformed("url"))?,
        disclosure: match get_s(item, "disclosure")?.as_str() {
            "masked" => Disclosure::Masked,
            "full" => Disclosure::Full,
            _ => return Err(malformed("disclosure")),
        },
        event_types: get_opt_s_list(item, "eventTypes")?.unwrap_or_default(),
        sealed_secret: get_s(item, "sealedSecret")?,
        previous_secret: match (get_opt_s(item, "previousSealedSecret"), get_opt_n(item, "previousSecretUntil")?) {
            (Some(sealed), Some(until)) => Some(PreviousSecret { sealed, until }),
            _ => None,
        },
        status,
        notify: get_opt_s(item, "notifyEmail")
            .map(|text| EmailAddress::parse(&text).map_err(|_| malformed("notifyEmail")))
            .transpose()?,
        created_at: get_n(item, "createdAt")?,
        last_delivered_at: get_opt_n(item, "lastDeliveredAt")?,
    })
}

#[async_trait]
impl WebhookEndpoints for DynamoStore {
    async fn add_endpoint(&self, endpoint: &WebhookEndpoint) -> Result<(), StoreError> {
        let item = endpoint_item(endpoint);
        self.put_one("PutItem webhook endpoint", item, "attribute_not_exists(pk)", Values::new()).await
    }

    async fn endpoints(&self, partner_id: &str) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let items = self.query_prefix("Query webhook endpoints", endpoints_pk(partner_id), ENDPOINT_PREFIX).await?;
        let mut endpoints = items.iter().map(endpoint_record).collect::<Result<Vec<_>, _>>()?;
        endpoints.sort_by_key(|endpoint| endpoint.created_at);
        Ok(endpoints)
    }

    async fn remove_endpoint(&self, partner_id: &str, id: &str) -> Result<bool, StoreError> {
        let key = item_key(endpoints_pk(partner_id), format!("{ENDPOINT_PREFIX}{id}"));
        match self.delete_one("DeleteItem webhook endpoint", key, Some("attribute_exists(pk)"), Values::new()).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(other) => Err(other),
        }
    }

    async fn endpoint(&self, partner_id: &str, id: &str) -> Result<Option<WebhookEndpoint>, StoreError> {
        let key = item_key(endpoints_pk(partner_id), format!("{ENDPOINT_PREFIX}{id}"));
        self.get("GetItem webhook endpoint", key).await?.as_ref().map(endpoint_record).transpose()
    }

    async fn delivered(&self, partner_id: &str, id: &str, at: i64) -> Result<(), StoreError> {
        let key = item_key(endpoints_pk(partner_id), format!("{ENDPOINT_PREFIX}{id}"));
        let result = self
            .update_one(
                "UpdateItem webhook endpoint delivered",
                key,
                "SET lastDeliveredAt = :at",
                "attribute_exists(pk) AND (attribute_not_exists(lastDeliveredAt) OR lastDeliveredAt < :stale)",
                values([(":at", n(at)), (":stale", n(at - DELIVERED_RESOLUTION_SECS))]),
            )
            .await;
        match result {
            // Written within the hour, or the endpoint is gone: nothing to do.
            Ok(()) | Err(StoreError::Conflict) => Ok(()),
            Err(other) => Err(other),
        }
    }

    async fn disable_endpoint(&self, partner_id: &str, id: &str, reason: &str, at: i64) -> Result<bool, StoreError> {
        let key = item_key(endpoints_pk(partner_id), format!("{ENDPOINT_PREFIX}{id}"));
        let result = self
            .update_one(
                "UpdateItem disable webhook endpoint",
                key,
                "SET disabledReason = :reason, disabledAt = :at",
                "attribute_exists(pk) AND attribute_not_exists(disabledReason)",
                values([(":reason", s(reason)), (":at", n(at))]),
            )
            .await;
        changed(result)
    }

    async fn enable_endpoint(&self, partner_id: &str, id: &str) -> Result<bool, StoreError> {
        let key = item_key(endpoints_pk(partner_id), format!("{ENDPOINT_PREFIX}{id}"));
        let result = self
            .update_one(
                "UpdateItem enable webhook endpoint",
                key,
                "REMOVE disabledReason, disabledAt",
                "attribute_exists(pk) AND attribute_exists(disabledReason)",
                Values::new(),
            )
            .await;
        changed(result)
    }

    async fn set_notify(&self, partner_id: &str, id: &str, contact: &EmailAddress) -> Result<bool, StoreError> {
        let key = item_key(endpoints_pk(partner_id), format!("{ENDPOINT_PREFIX}{id}"));
        let result = self
            .update_one(
                "UpdateItem webhook endpoint contact",
                key,
                "SET notifyEmail = :notify",
                "attribute_exists(pk)",
                values([(":notify", s(contact.as_str()))]),
            )
            .await;
        changed(result)
    }

    async fn rotate_secret(
        &self,
        partner_id: &str,
        id: &str,
        rotation: SecretRotation<'_>,
    ) -> Result<bool, StoreError> {
        let key = item_key(endpoints_pk(partner_id), format!("{ENDPOINT_PREFIX}{id}"));
        let mut bound = values([(":replacing", s(rotation.replacing)), (":sealed", s(rotation.sealed))]);
        let update = match rotation.previous {
            Some(previous) => {
                bound.insert(":previous".to_owned(), s(&previous.sealed));
                bound.insert(":until".to_owned(), n(previous.until));
                "SET sealedSecret = :sealed, previousSealedSecret = :previous, previousSecretUntil = :until"
            }
            None => "SET sealedSecret = :sealed REMOVE previousSealedSecret, previousSecretUntil",
        };
        let result = self
            .update_one(
                "UpdateItem rotate webhook secret",
                key,
                update,
                "attribute_exists(pk) AND sealedSecret = :replacing",
                bound,
            )
            .await;
        changed(result)
    }
}

/// A conditional update's result: `Ok(false)` when its condition did not hold.
fn changed(result: Result<(), StoreError>) -> Result<bool, StoreError> {
    match result {
        Ok(()) => Ok(true),
        Err(StoreError::Conflict) => Ok(false),
        Err(other) => Err(other),
    }
}

fn log_pk(partner_id: &str, endpoint_id: &str) -> String {
    format!("WEBHOOKLOG#{partner_id}#{endpoint_id}")
}

#[async_trait]
impl DeliveryLog for DynamoStore {
    async fn log_attempt(&self, attempt: &DeliveryAttempt) -> Result<(), StoreError> {
        // Sorted by time, then event and attempt, so two entries of one second stay apart; the
        // condition keeps a second write of the very same key from replacing the first.
        let sk = format!("{:011}#{}#{:04}", attempt.at, attempt.event_id, attempt.attempt);
        let mut item = item_key(log_pk(&attempt.partner_id, &attempt.endpoint_id), sk);
        item.extend([
            ("eventId".to_owned(), s(&attempt.event_id)),
            ("eventType".to_owned(), s(&attempt.event_type)),
            ("attempt".to_owned(), n(attempt.attempt)),
            ("at".to_owned(), n(attempt.at)),
            ("answer".to_owned(), s(&attempt.answer)),
            ("then".to_owned(), s(&attempt.then)),
            ("ttl".to_owned(), n(attempt.at + DELIVERY_LOG_RETENTION_SECS)),
        ]);
        let result =
            self.put_one("PutItem webhook delivery log", item, "attribute_not_exists(pk)", Values::new()).await;
        changed(result).map(|_| ())
    }

    async fn attempts(
        &self,
        partner_id: &str,
        endpoint_id: &str,
        limit: usize,
    ) -> Result<Vec<DeliveryAttempt>, StoreError> {
        let bounds = values([(":prefix", s("0"))]);
        let items = self
            .query_sorted(
                "Query webhook delivery log",
                log_pk(partner_id, endpoint_id),
                "begins_with(sk, :prefix)",
                bounds,
                Order::Newest,
                Some(limit),
            )
            .await?;
        items
            .iter()
            .map(|item| {
                Ok(DeliveryAttempt {
                    partner_id: partner_id.to_owned(),
                    endpoint_id: endpoint_id.to_owned(),
                    event_id: get_s(item, "eventId")?,
                    event_type: get_s(item, "eventType")?,
                    attempt: get_n(item, "attempt")?,
                    at: get_n(item, "at")?,
                    answer: get_s(item, "answer")?,
                    then: get_s(item, "then")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_endpoint_reads_back_as_it_was_kept() {
        let mut endpoint = WebhookEndpoint {
            id: "we_1".into(),
            partner_id: "p".into(),
            url: EndpointUrl::parse("https://hooks.example.com/registration").unwrap(),
            disclosure: Disclosure::Full,
            event_types: vec!["account.deleted".into()],
            sealed_secret: "c2VhbGVk".into(),
            previous_secret: None,
            status: EndpointStatus::Active,
            notify: None,
            created_at: 1_765_000_000,
            last_delivered_at: None,
        };
        assert_eq!(endpoint_record(&endpoint_item(&endpoint)).unwrap(), endpoint);
        endpoint.status = EndpointStatus::Disabled { reason: "410 Gone".into(), at: 1_765_000_100 };
        endpoint.event_types.clear();
        endpoint.last_delivered_at = Some(1_765_000_050);
        endpoint.previous_secret = Some(PreviousSecret { sealed: "b2xk".into(), until: 1_765_086_400 });
        endpoint.notify = Some(EmailAddress::parse("ops@partner.example.com").unwrap());
        assert_eq!(endpoint_record(&endpoint_item(&endpoint)).unwrap(), endpoint);
    }
}
