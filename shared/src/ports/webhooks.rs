//! Webhook delivery's capabilities: the queue between the dispatcher and the deliverer (SQS FIFO in
//! production: `adapters::sqs`), and posting to a partner's endpoint (`adapters::webhook_https`).

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::webhooks::delivery::{Delivery, Outcome};
use crate::webhooks::endpoint::EndpointUrl;
use crate::webhooks::event::EventKey;

/// One event for one endpoint: what the dispatcher queues and the deliverer takes. Keys only: the
/// deliverer reads the event and the endpoint as they are when it delivers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryTask {
    pub event: EventKey,
    pub event_id: String,
    pub user_id: String,
    pub partner_id: String,
    pub endpoint_id: String,
}

impl DeliveryTask {
    /// The queue drops a second task with this id for five minutes: a dispatcher that is run again
    /// on the same stream records (it failed midway) queues each delivery once.
    pub fn deduplication_id(&self) -> String {
        format!("{}.{}", self.event_id, self.endpoint_id)
    }

    /// Tasks of one group are taken one at a time, in the order queued: one user's events to one
    /// endpoint, so a failing delivery holds back that user's later ones there and nothing else.
    pub fn group_id(&self) -> String {
        format!("{}.{}", self.endpoint_id, self.user_id)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the delivery queue failed: {0}")]
pub struct QueueError(pub String);

#[async_trait]
pub trait DeliveryQueue: Send + Sync {
    /// Queues every task, or fails (some may have been queued: queuing them again is harmless, by
    /// their deduplication ids).
    async fn enqueue(&self, tasks: &[DeliveryTask]) -> Result<(), QueueError>;

    /// Leaves a task taken with `receipt` out of sight for `delay`, when it is taken again.
    async fn retry_after(&self, receipt: &str, delay: Duration) -> Result<(), QueueError>;
}

#[async_trait]
pub trait WebhookPoster: Send + Sync {
    /// Posts `delivery` to `url`, connecting only to addresses checked as reachable, never following
    /// a redirect, and says what came of it. Never an error: every failure is an `Outcome`.
    async fn post(&self, url: &EndpointUrl, delivery: &Delivery) -> Outcome;
}
