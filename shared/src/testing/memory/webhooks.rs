//! The webhook registry, outbox reads and delivery log in memory, with the DynamoDB adapter's
//! conditions (`adapters::dynamodb::webhook_endpoints`, `events`).

use async_trait::async_trait;

use super::{MemoryStore, require};
use crate::adapters::dynamodb::DELIVERED_RESOLUTION_SECS;
use crate::adapters::dynamodb::events::events_pk;
use crate::domain::email::EmailAddress;
use crate::ports::*;
use crate::webhooks::delivery_log::DeliveryAttempt;
use crate::webhooks::endpoints::{EndpointStatus, SecretRotation, WebhookEndpoint};
use crate::webhooks::event::{EventKey, EventRecord};

#[async_trait]
impl WebhookEndpoints for MemoryStore {
    async fn add_endpoint(&self, endpoint: &WebhookEndpoint) -> Result<(), StoreError> {
        let mut state = self.state().await;
        let taken = state.endpoints.iter().any(|e| e.partner_id == endpoint.partner_id && e.id == endpoint.id);
        require(!taken)?;
        state.endpoints.push(endpoint.clone());
        Ok(())
    }

    async fn endpoints(&self, partner_id: &str) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let state = self.state().await;
        Ok(state.endpoints.iter().filter(|e| e.partner_id == partner_id).cloned().collect())
    }

    async fn remove_endpoint(&self, partner_id: &str, id: &str) -> Result<bool, StoreError> {
        let mut state = self.state().await;
        let before = state.endpoints.len();
        state.endpoints.retain(|e| !(e.partner_id == partner_id && e.id == id));
        Ok(state.endpoints.len() < before)
    }

    async fn endpoint(&self, partner_id: &str, id: &str) -> Result<Option<WebhookEndpoint>, StoreError> {
        let state = self.state().await;
        Ok(state.endpoints.iter().find(|e| e.partner_id == partner_id && e.id == id).cloned())
    }

    async fn delivered(&self, partner_id: &str, id: &str, at: i64) -> Result<(), StoreError> {
        let mut state = self.state().await;
        if let Some(endpoint) = state.endpoints.iter_mut().find(|e| e.partner_id == partner_id && e.id == id)
            && endpoint.last_delivered_at.is_none_or(|last| last < at - DELIVERED_RESOLUTION_SECS)
        {
            endpoint.last_delivered_at = Some(at);
        }
        Ok(())
    }

    async fn disable_endpoint(&self, partner_id: &str, id: &str, reason: &str, at: i64) -> Result<bool, StoreError> {
        let mut state = self.state().await;
        let found = state.endpoints.iter_mut().find(|e| e.partner_id == partner_id && e.id == id);
        match found {
            Some(endpoint) if endpoint.status == EndpointStatus::Active => {
                endpoint.status = EndpointStatus::Disabled { reason: reason.to_owned(), at };
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn enable_endpoint(&self, partner_id: &str, id: &str) -> Result<bool, StoreError> {
        let mut state = self.state().await;
        match state.endpoints.iter_mut().find(|e| e.partner_id == partner_id && e.id == id) {
            Some(endpoint) if endpoint.status != EndpointStatus::Active => {
                endpoint.status = EndpointStatus::Active;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn set_notify(&self, partner_id: &str, id: &str, contact: &EmailAddress) -> Result<bool, StoreError> {
        let mut state = self.state().await;
        match state.endpoints.iter_mut().find(|e| e.partner_id == partner_id && e.id == id) {
            Some(endpoint) => {
                endpoint.notify = Some(contact.clone());
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn rotate_secret(
        &self,
        partner_id: &str,
        id: &str,
        rotation: SecretRotation<'_>,
    ) -> Result<bool, StoreError> {
        let mut state = self.state().await;
        match state.endpoints.iter_mut().find(|e| e.partner_id == partner_id && e.id == id) {
            Some(endpoint) if endpoint.sealed_secret == rotation.replacing => {
                endpoint.sealed_secret = rotation.sealed.to_owned();
                endpoint.previous_secret = rotation.previous.cloned();
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

#[async_trait]
impl crate::ports::EventOutbox for MemoryStore {
    async fn event(&self, key: &EventKey) -> Result<Option<EventRecord>, StoreError> {
        let state = self.state().await;
        Ok(state
            .events
            .iter()
            .find(|e| e.id.as_str() == key.sk && events_pk(&e.partner_id, &e.user_id) == key.pk)
            .cloned())
    }

    async fn events_between(
        &self,
        partner_id: &str,
        from_ms: u64,
        to_ms: u64,
        limit: usize,
    ) -> Result<Vec<(EventKey, EventRecord)>, StoreError> {
        let state = self.state().await;
        let mut found: Vec<(EventKey, EventRecord)> = state
            .events
            .iter()
            .filter(|e| e.partner_id == partner_id && (from_ms..=to_ms).contains(&e.id.unix_ms()))
            .map(|e| {
                let key = EventKey { pk: events_pk(&e.partner_id, &e.user_id), sk: e.id.as_str().to_owned() };
                (key, e.clone())
            })
            .collect();
        found.truncate(limit);
        Ok(found)
    }
}

#[async_trait]
impl DeliveryLog for MemoryStore {
    async fn log_attempt(&self, attempt: &DeliveryAttempt) -> Result<(), StoreError> {
        let mut state = self.state().await;
        let same = |kept: &DeliveryAttempt| {
            (kept.partner_id.as_str(), kept.endpoint_id.as_str(), kept.event_id.as_str(), kept.attempt, kept.at)
                == (
                    attempt.partner_id.as_str(),
                    attempt.endpoint_id.as_str(),
                    attempt.event_id.as_str(),
                    attempt.attempt,
                    attempt.at,
                )
        };
        if !state.delivery_log.iter().any(same) {
            state.delivery_log.push(attempt.clone());
        }
        Ok(())
    }

    async fn attempts(
        &self,
        partner_id: &str,
        endpoint_id: &str,
        limit: usize,
    ) -> Result<Vec<DeliveryAttempt>, StoreError> {
        let state = self.state().await;
        let mut found: Vec<DeliveryAttempt> = state
            .delivery_log
            .iter()
            .filter(|a| a.partner_id == partner_id && a.endpoint_id == endpoint_id)
            .cloned()
            .collect();
        found.sort_by(|a, b| (b.at, &b.event_id, b.attempt).cmp(&(a.at, &a.event_id, a.attempt)));
        found.truncate(limit);
        Ok(found)
    }
}
