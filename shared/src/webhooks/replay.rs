//! Replaying events (`partners webhooks replay`): one event, or every event of a time range, queued
//! again for the partner's endpoints (or one of them), as the dispatcher queued them first.
//!
//! What it is for: an endpoint that was disabled and is enabled again, a receiver that lost what it
//! had taken, an outage of the stream past its 24 hours. What a receiver sees: the same
//! `webhook-id` and `data.sequence` as the first delivery, so it drops what it has and orders the
//! rest (docs/webhooks.md, "Order"); a user's events are queued in their sequence, each to its
//! group (endpoint and user) behind whatever that group already holds. Only what the table still
//! holds is replayed: 30 days of events (one past its TTL and not yet deleted is left out), less an
//! erased account's events that named its contact details.

use crate::adapters::dynamodb::events::EVENT_RETENTION_SECS;
use crate::ports::{DeliveryQueue, DeliveryTask, EventOutbox, QueueError, StoreError, WebhookEndpoints};
use crate::security::random;
use crate::webhooks::endpoints::EndpointStatus;
use crate::webhooks::event::EventId;

/// Deliveries (an event to an endpoint) one replay may queue: a larger range is replayed in parts
/// (each a command), so one mistyped range cannot flood every receiver of the partner, nor fill
/// much of the queue's 120,000 in flight if the receivers fail.
pub const MAX_REPLAY_DELIVERIES: usize = 10_000;

/// What to replay.
#[derive(Debug, Clone)]
pub enum Events {
    One(EventId),
    /// Ids made from `from_ms` to `to_ms`, Unix milliseconds, both included.
    Range {
        from_ms: u64,
        to_ms: u64,
    },
}

/// Why nothing was replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayRefused {
    #[error("the partner has no endpoint {0} (partners webhooks list)")]
    NoSuchEndpoint(String),
    #[error("endpoint {0} is disabled: enable it first (partners webhooks enable)")]
    Disabled(String),
    #[error("the partner has no event {0} (events are kept 30 days)")]
    NoSuchEvent(String),
    #[error("the range holds more than {MAX_REPLAY_DELIVERIES} deliveries: replay it in parts (or to one endpoint)")]
    TooMany,
    #[error("the range ends before it starts")]
    Backwards,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// What was queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    pub events: usize,
    pub tasks: usize,
    /// Carried by every task of this replay (its deduplication ids).
    pub nonce: String,
}

/// Queues `which` events of `partner_id` again for each active endpoint that takes their type, or
/// for `endpoint` alone, at `now` (Unix seconds).
pub async fn replay(
    outbox: &dyn EventOutbox,
    endpoints: &dyn WebhookEndpoints,
    queue: &dyn DeliveryQueue,
    partner_id: &str,
    which: Events,
    endpoint: Option<&str>,
    now: i64,
) -> Result<Replayed, ReplayRefused> {
    let mut receiving = endpoints.endpoints(partner_id).await?;
    if let Some(only) = endpoint {
        receiving.retain(|candidate| candidate.id == only);
        match receiving.first() {
            None => return Err(ReplayRefused::NoSuchEndpoint(only.to_owned())),
            Some(found) if found.status != EndpointStatus::Active => {
                return Err(ReplayRefused::Disabled(only.to_owned()));
            }
            Some(_) => {}
        }
    }
    // One more than may be sent, to know when there are more.
    let enough = MAX_REPLAY_DELIVERIES + 1;
    let mut events = match &which {
        Events::One(id) => {
            let ms = id.unix_ms();
            let mut found = outbox.events_between(partner_id, ms, ms, enough).await?;
            found.retain(|(_, event)| event.id == *id);
            if found.is_empty() {
                return Err(ReplayRefused::NoSuchEvent(id.as_str().to_owned()));
            }
            found
        }
        Events::Range { from_ms, to_ms } if from_ms > to_ms => return Err(ReplayRefused::Backwards),
        Events::Range { from_ms, to_ms } => outbox.events_between(partner_id, *from_ms, *to_ms, enough).await?,
    };
    events.retain(|(_, event)| event.occurred_at + EVENT_RETENTION_SECS > now);
    // Each user's in the order their changes committed: ids follow each function's clock.
    events.sort_by(|a, b| (&a.1.user_id, a.1.sequence).cmp(&(&b.1.user_id, b.1.sequence)));
    let nonce = format!("rp{}", random::hex(&random::bytes::<6>()));
    let tasks: Vec<DeliveryTask> = events
        .iter()
        .flat_map(|(key, event)| DeliveryTask::for_event(key, event, &receiving, Some((&nonce, now))))
        .collect();
    if events.len() >= enough || tasks.len() > MAX_REPLAY_DELIVERIES {
        return Err(ReplayRefused::TooMany);
    }
    if !tasks.is_empty() {
        queue.enqueue(&tasks).await?;
    }
    Ok(Replayed { events: events.len(), tasks: tasks.len(), nonce })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Mutex;
    use std::time::Duration;

    use async_trait::async_trait;

    use super::*;
    use crate::adapters::dynamodb::events::events_pk;
    use crate::testing::memory::MemoryStore;
    use crate::webhooks::endpoint::EndpointUrl;
    use crate::webhooks::endpoints::WebhookEndpoint;
    use crate::webhooks::event::{AccountEvent, Disclosure, EventKey, EventRecord};

    const NOW: i64 = 1_765_000_100;

    /// The tasks queued, in order.
    #[derive(Default)]
    struct Recorded(Mutex<Vec<DeliveryTask>>);

    #[async_trait]
    impl DeliveryQueue for Recorded {
        async fn enqueue(&self, tasks: &[DeliveryTask]) -> Result<(), QueueError> {
            self.0.lock().unwrap().extend_from_slice(tasks);
            Ok(())
        }
        async fn retry_after(&self, _receipt: &str, _delay: Duration) -> Result<(), QueueError> {
            Ok(())
        }
    }

    async fn endpoint(store: &MemoryStore, id: &str, types: &[&str]) {
        let endpoint = WebhookEndpoint {
            id: id.into(),
            partner_id: "p".into(),
            url: EndpointUrl::parse(&format!("https://hooks.example.com/{id}")).unwrap(),
            disclosure: Disclosure::Masked,
            event_types: types.iter().map(|t| (*t).to_owned()).collect(),
            sealed_secret: "sealed".into(),
            previous_secret: None,
            status: EndpointStatus::Active,
            notify: None,
            created_at: 1,
            last_delivered_at: None,
        };
        store.add_endpoint(&endpoint).await.unwrap();
    }

    #[tokio::test]
    async fn a_replay_queues_each_event_for_each_endpoint_taking_it_under_ids_no_dispatch_or_replay_shares() {
        // GIVEN two endpoints, one for deletions only, and two events of a user
        let store = MemoryStore::default();
        endpoint(&store, "we_all", &[]).await;
        endpoint(&store, "we_deletions", &["account.deleted"]).await;
        let deleted = EventRecord::new(AccountEvent::Deleted, "u1", "p", 1_765_000_000, 2);
        store.put_event(EventRecord::new(AccountEvent::RecoveryCodesReplaced, "u1", "p", 1_765_000_000, 1)).await;
        store.put_event(deleted.clone()).await;
        let range = || Events::Range { from_ms: 1_764_999_000_000, to_ms: 1_765_001_000_000 };
        // WHEN the range is replayed twice
        let queue = Recorded::default();
        let first = replay(&store, &store, &queue, "p", range(), None, NOW).await.unwrap();
        let second = replay(&store, &store, &queue, "p", range(), None, NOW).await.unwrap();
        // THEN each replay queued both events for the endpoint taking every type, and the deletion
        // for the other
        assert_eq!((first.events, first.tasks, second.tasks), (2, 3, 3));
        let tasks = queue.0.lock().unwrap().clone();
        // AND no two tasks share a deduplication id, nor with what the dispatcher queued: SQS keeps
        // an id five minutes after its task is done (moto forgets it then, so this is the check)
        let dispatched = DeliveryTask::for_event(
            &EventKey { pk: events_pk("p", "u1"), sk: deleted.id.as_str().to_owned() },
            &deleted,
            &store.endpoints("p").await.unwrap(),
            None,
        );
        let mut ids: Vec<String> = tasks.iter().chain(&dispatched).map(DeliveryTask::deduplication_id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), tasks.len() + dispatched.len());
        // AND their three days of tries count from the replay (Unix seconds), not from the event
        assert!(tasks.iter().all(|task| task.replayed_at == Some(NOW)), "{tasks:?}");
        // AND a task keeps the first dispatch's group (one user's order at one endpoint)
        assert!(tasks.iter().all(|task| task.group_id() == format!("{}.u1", task.endpoint_id)));
        // AND a range that ends before it starts, or an event the partner lacks, queues nothing
        let backwards = Events::Range { from_ms: 2, to_ms: 1 };
        assert!(matches!(
            replay(&store, &store, &queue, "p", backwards, None, NOW).await,
            Err(ReplayRefused::Backwards)
        ));
        let missing = Events::One(EventId::new(1_765_000_000_000));
        let refused = replay(&store, &store, &queue, "p", missing, None, NOW).await;
        assert!(matches!(refused, Err(ReplayRefused::NoSuchEvent(_))), "{refused:?}");
        let unknown = replay(&store, &store, &queue, "p", range(), Some("we_gone"), NOW).await;
        assert!(matches!(unknown, Err(ReplayRefused::NoSuchEndpoint(_))), "{unknown:?}");
        assert_eq!(queue.0.lock().unwrap().len(), 6);
    }

    #[tokio::test]
    async fn a_replay_queues_a_users_events_in_their_sequence_and_leaves_out_what_is_past_its_ttl() {
        // GIVEN an endpoint, a user's two events where the second was made by a function whose clock
        // ran a second behind (its id sorts first), and another user's event past its TTL
        let store = MemoryStore::default();
        endpoint(&store, "we_all", &[]).await;
        let first = EventRecord::new(AccountEvent::RecoveryCodesReplaced, "u1", "p", 1_765_000_001, 1);
        let second = EventRecord::new(AccountEvent::Deleted, "u1", "p", 1_765_000_000, 2);
        assert!(second.id < first.id);
        store.put_event(second.clone()).await;
        store.put_event(first.clone()).await;
        let expired = NOW - crate::adapters::dynamodb::events::EVENT_RETENTION_SECS;
        store.put_event(EventRecord::new(AccountEvent::RecoveryCodesReplaced, "u2", "p", expired, 1)).await;
        // WHEN everything is replayed
        let queue = Recorded::default();
        let all = Events::Range { from_ms: 0, to_ms: 2_000_000_000_000 };
        let done = replay(&store, &store, &queue, "p", all, None, NOW).await.unwrap();
        // THEN the user's events are queued in their sequence, and the expired one is not
        let queued: Vec<String> = queue.0.lock().unwrap().iter().map(|task| task.event_id.clone()).collect();
        assert_eq!(queued, [first.id.as_str(), second.id.as_str()]);
        assert_eq!(done.events, 2);
    }

    #[tokio::test]
    async fn a_replay_of_more_deliveries_than_the_cap_queues_nothing() {
        // GIVEN two endpoints and half the cap of events, and one more: one delivery too many
        let store = MemoryStore::default();
        endpoint(&store, "we_a", &[]).await;
        endpoint(&store, "we_b", &[]).await;
        for n in 0..=MAX_REPLAY_DELIVERIES / 2 {
            store.put_event(EventRecord::new(AccountEvent::Deleted, &format!("u{n}"), "p", 1_765_000_000, 1)).await;
        }
        // WHEN the range is replayed
        let queue = Recorded::default();
        let all = Events::Range { from_ms: 0, to_ms: 2_000_000_000_000 };
        let refused = replay(&store, &store, &queue, "p", all, None, NOW).await;
        // THEN it is refused, and nothing was queued; to one endpoint it fits
        assert!(matches!(refused, Err(ReplayRefused::TooMany)), "{refused:?}");
        assert!(queue.0.lock().unwrap().is_empty());
        let all = Events::Range { from_ms: 0, to_ms: 2_000_000_000_000 };
        let one = replay(&store, &store, &queue, "p", all, Some("we_a"), NOW).await.unwrap();
        assert_eq!(one.tasks, MAX_REPLAY_DELIVERIES / 2 + 1);
    }
}
