//! A partner's webhook endpoints: one item each under `WEBHOOKS#<partner>`, sorted by id.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::items::*;
use super::table::{DynamoStore, Values, values};
use crate::ports::{StoreError, WebhookEndpoints};
use crate::webhooks::endpoint::EndpointUrl;
use crate::webhooks::endpoints::{EndpointStatus, WebhookEndpoint};
use crate::webhooks::event::Disclosure;

const ENDPOINT_PREFIX: &str = "ENDPOINT#";

/// `lastDeliveredAt` is written at most this often: a write an hour an endpoint, not one a delivery.
const DELIVERED_RESOLUTION_SECS: i64 = 3600;

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
        status,
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
        match result {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(other) => Err(other),
        }
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
            status: EndpointStatus::Active,
            created_at: 1_765_000_000,
            last_delivered_at: None,
        };
        assert_eq!(endpoint_record(&endpoint_item(&endpoint)).unwrap(), endpoint);
        endpoint.status = EndpointStatus::Disabled { reason: "410 Gone".into(), at: 1_765_000_100 };
        endpoint.event_types.clear();
        endpoint.last_delivered_at = Some(1_765_000_050);
        assert_eq!(endpoint_record(&endpoint_item(&endpoint)).unwrap(), endpoint);
    }
}
