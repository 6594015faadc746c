//! Webhook delivery's capabilities: the queue between the dispatcher and the deliverer (SQS FIFO in
//! production: `adapters::sqs`), and posting to a partner's endpoint (`adapters::webhook_https`).

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::webhooks::delivery::{Delivery, Outcome};
use crate::webhooks::endpoint::EndpointUrl;
use crate::webhooks::endpoints::WebhookEndpoint;
use crate::webhooks::event::{EventKey, EventRecord};

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
    /// Set on a task queued by a replay (`webhooks::replay`), to its run's nonce: the queue would
    /// otherwise drop a replay within five minutes of the first dispatch as a duplicate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<String>,
    /// A replay's time (Unix seconds): its three days of tries start then, not at the event's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replayed_at: Option<i64>,
    /// A test event (`webhooks::test_event`): posted once, about no event item and no user.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub test: bool,
}

impl DeliveryTask {
    /// A task for each of `endpoints` that receives the event's type (active, and taking it); for a
    /// replay, `replay` is its nonce and time.
    pub fn for_event(
        key: &EventKey,
        event: &EventRecord,
        endpoints: &[WebhookEndpoint],
        replay: Option<(&str, i64)>,
    ) -> Vec<DeliveryTask> {
        endpoints
            .iter()
            .filter(|endpoint| endpoint.receives(event.event.kind()))
            .map(|endpoint| DeliveryTask {
                event: key.clone(),
                event_id: event.id.as_str().to_owned(),
                user_id: event.user_id.clone(),
                partner_id: event.partner_id.clone(),
                endpoint_id: endpoint.id.clone(),
                replay: replay.map(|(nonce, _)| nonce.to_owned()),
                replayed_at: replay.map(|(_, at)| at),
                test: false,
            })
            .collect()
    }

    /// The queue drops a second task with this id for five minutes: a dispatcher that is run again
    /// on the same stream records (it failed midway) queues each delivery once; a replay's tasks
    /// carry its nonce, so they are not taken for the first dispatch's.
    pub fn deduplication_id(&self) -> String {
        match &self.replay {
            Some(nonce) => format!("{}.{}.{nonce}", self.event_id, self.endpoint_id),
            None => format!("{}.{}", self.event_id, self.endpoint_id),
        }
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
