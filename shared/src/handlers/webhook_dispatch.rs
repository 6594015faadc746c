//! The webhook dispatcher: the table's stream, filtered to new event items, in; one delivery task
//! per endpoint that receives the event's type out, on the delivery queue.
//!
//! A record is dispatched at least once: Lambda gives the batch again from the first record this
//! reports as failed. Its tasks then go to the queue again, which drops them by their
//! deduplication ids (five minutes, far longer than a stream retry takes), so each endpoint gets
//! each event once.

use serde::{Deserialize, Serialize};

use crate::adapters::dynamodb::events::EVENTS_PREFIX;
use crate::ports::{DeliveryQueue, DeliveryTask, EventOutbox, StoreError, WebhookEndpoints};
use crate::webhooks::event::EventKey;

/// The part of a DynamoDB Streams event for Lambda this reads.
#[derive(Debug, Deserialize)]
pub struct StreamBatch {
    #[serde(rename = "Records", default)]
    pub records: Vec<StreamRecord>,
}

#[derive(Debug, Deserialize)]
pub struct StreamRecord {
    #[serde(rename = "eventName")]
    pub event_name: String,
    pub dynamodb: StreamChange,
}

#[derive(Debug, Deserialize)]
pub struct StreamChange {
    #[serde(rename = "Keys")]
    pub keys: StreamKeys,
    #[serde(rename = "SequenceNumber")]
    pub sequence_number: String,
}

#[derive(Debug, Deserialize)]
pub struct StreamKeys {
    pub pk: StringValue,
    pub sk: StringValue,
}

#[derive(Debug, Deserialize)]
pub struct StringValue {
    #[serde(rename = "S")]
    pub s: String,
}

/// What Lambda is told: the records to give again (for a stream, from the first one on).
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct BatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub failures: Vec<ItemFailure>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] crate::ports::QueueError),
}

/// Dispatches every record in order, stopping at the first that fails: it and those after it are
/// given again.
pub async fn handle(
    outbox: &dyn EventOutbox,
    endpoints: &dyn WebhookEndpoints,
    queue: &dyn DeliveryQueue,
    batch: StreamBatch,
) -> BatchResponse {
    for record in batch.records {
        if let Err(error) = dispatch(outbox, endpoints, queue, &record).await {
            tracing::warn!(sequence = %record.dynamodb.sequence_number, %error, "dispatch failed; the batch is given again from here");
            return BatchResponse { failures: vec![ItemFailure { id: record.dynamodb.sequence_number }] };
        }
    }
    BatchResponse::default()
}

/// Queues one event for each endpoint of its partner that receives its type; how many were queued.
pub async fn dispatch(
    outbox: &dyn EventOutbox,
    endpoints: &dyn WebhookEndpoints,
    queue: &dyn DeliveryQueue,
    record: &StreamRecord,
) -> Result<usize, DispatchError> {
    let key = EventKey { pk: record.dynamodb.keys.pk.s.clone(), sk: record.dynamodb.keys.sk.s.clone() };
    // The event source mapping's filter passes only these; anything else is not an event.
    if record.event_name != "INSERT" || !key.pk.starts_with(EVENTS_PREFIX) {
        return Ok(0);
    }
    // Gone already: deleted with its erased account, which `account.deleted` reports.
    let Some(event) = outbox.event(&key).await? else {
        return Ok(0);
    };
    let tasks = DeliveryTask::for_event(&key, &event, &endpoints.endpoints(&event.partner_id).await?, None);
    if !tasks.is_empty() {
        queue.enqueue(&tasks).await?;
    }
    tracing::info!(event = %event.id.as_str(), kind = event.event.kind(), endpoints = tasks.len(), "event dispatched");
    Ok(tasks.len())
}
