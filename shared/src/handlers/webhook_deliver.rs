//! The webhook deliverer: delivery tasks off the queue in; each event posted to its endpoint,
//! signed, and what the answer means acted on.
//!
//! Delivered: done (and the endpoint's `lastDeliveredAt` moved on, at most once an hour). `410
//! Gone`: the endpoint is disabled, done. A failure: the task is left out of sight for the next
//! backoff step (`delivery::retry_delay`, by how often the queue has given it) and taken again
//! then. Three days after its event (or its replay) it is given up: the endpoint is disabled if
//! nothing was delivered to it meanwhile (the operator is alarmed by the log line), and otherwise
//! only this event is dropped (the endpoint works; the receiver refuses this one). The days count
//! from the event, not the first attempt, so a task that waited its group's turn behind one the
//! receiver refused for three days is tried for an hour (`OWN_TRIES_SECS`), not three days more:
//! a user's fifth such event would otherwise reach the queue's fourteen-day retention and vanish
//! without a dead letter. A task whose
//! event is gone (erased with its account, or past its retention), whose event names a contact of
//! an account that no longer exists, or whose endpoint was removed or disabled meanwhile, is done
//! without a post. A task that names an event of another partner, or that cannot be read, is given
//! back until the queue moves it to the dead letters (an alarm): it is a fault, never posted.
//!
//! The queue is FIFO, a group per endpoint and user: a task that fails holds back that user's later
//! events to that endpoint, and nothing else. Lambda gives a batch's tasks in order; after the
//! first that is not done, the rest of the batch is given back untouched, so none of a group's is
//! delivered ahead of one before it.

use std::time::Duration;

use serde::Deserialize;

use crate::handlers::webhook_dispatch::{BatchResponse, ItemFailure};
use crate::ports::{
    Clock, DeliveryLog, DeliveryQueue, DeliveryTask, Directory, EmailSender, EventOutbox, SecretSealer, StoreError,
    WebhookEndpoints, WebhookPoster,
};
use crate::security::random;
use crate::webhooks::delivery::{Delivery, Outcome, give_up_at, retry_delay};
use crate::webhooks::delivery_log::{self, DeliveryAttempt};
use crate::webhooks::endpoints::{EndpointStatus, WebhookEndpoint, secrets_of};
use crate::webhooks::test_event;

/// The part of an SQS event for Lambda this reads.
#[derive(Debug, Deserialize)]
pub struct QueueBatch {
    #[serde(rename = "Records", default)]
    pub records: Vec<QueueMessage>,
}

#[derive(Debug, Deserialize)]
pub struct QueueMessage {
    #[serde(rename = "messageId")]
    pub message_id: String,
    #[serde(rename = "receiptHandle")]
    pub receipt_handle: String,
    pub body: String,
    #[serde(default)]
    pub attributes: MessageAttributes,
}

#[derive(Debug, Default, Deserialize)]
pub struct MessageAttributes {
    /// How often the queue has given this message, this time included.
    #[serde(rename = "ApproximateReceiveCount", default)]
    pub receive_count: Option<String>,
    /// When the queue first gave it (Unix milliseconds): the first attempt.
    #[serde(rename = "ApproximateFirstReceiveTimestamp", default)]
    pub first_receive_ms: Option<String>,
}

impl MessageAttributes {
    fn attempt(&self) -> u32 {
        self.receive_count.as_deref().and_then(|n| n.parse().ok()).unwrap_or(1)
    }

    /// The first attempt's time in Unix seconds; `now` if the queue did not say.
    fn first_attempt_at(&self, now: i64) -> i64 {
        self.first_receive_ms.as_deref().and_then(|ms| ms.parse::<i64>().ok()).map_or(now, |ms| ms / 1000)
    }
}

/// What the deliverer needs.
pub struct Deliverer<'a> {
    pub outbox: &'a dyn EventOutbox,
    /// Whether the account an event is about still exists.
    pub accounts: &'a dyn Directory,
    pub endpoints: &'a dyn WebhookEndpoints,
    /// Each attempt's entry in the endpoint's delivery log.
    pub log: &'a dyn DeliveryLog,
    pub queue: &'a dyn DeliveryQueue,
    pub sealer: &'a dyn SecretSealer,
    pub poster: &'a dyn WebhookPoster,
    /// Tells an endpoint's contact when it is disabled (SES; `None` where no sender is set up).
    pub notices: Option<&'a dyn EmailSender>,
    pub clock: &'a dyn Clock,
}

/// What became of one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Taken off the queue: delivered, the endpoint retired or disabled, or nothing left to send.
    Done(Finished),
    /// Given again after this long.
    RetryAfter(Duration),
}

/// Why a task is done, for the log and the tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    Delivered,
    /// The receiver answered 410: the endpoint is disabled.
    Gone,
    /// Three days of failures and none delivered meanwhile: the endpoint is disabled.
    GaveUp,
    /// Three days of failures of this event while others were delivered: this one is dropped.
    GaveUpOnEvent,
    /// The event was erased with its account, or is past its retention.
    EventGone,
    /// The endpoint was removed or disabled since the dispatch.
    EndpointGone,
    /// A test event was posted (once, whatever the answer: the delivery log has it).
    Tested,
}

pub async fn handle(deliverer: &Deliverer<'_>, batch: QueueBatch) -> BatchResponse {
    let mut failures = Vec::new();
    for message in batch.records {
        if !failures.is_empty() {
            failures.push(ItemFailure { id: message.message_id });
            continue;
        }
        let attempt = message.attributes.attempt();
        let first_attempt_at = message.attributes.first_attempt_at(deliverer.clock.now());
        match deliver_message(deliverer, &message.body, attempt, first_attempt_at).await {
            Ok(Step::Done(_)) => {}
            Ok(Step::RetryAfter(delay)) => {
                if let Err(error) = deliverer.queue.retry_after(&message.receipt_handle, delay).await {
                    tracing::warn!(%error, "could not set the retry's delay; the queue's own applies");
                }
                failures.push(ItemFailure { id: message.message_id });
            }
            Err(error) => {
                tracing::warn!(%error, "delivery not attempted; given again");
                failures.push(ItemFailure { id: message.message_id });
            }
        }
    }
    BatchResponse { failures }
}

/// One message: its task read, then delivered. A task this build cannot read is a fault: given
/// back, so the queue moves it to the dead letters.
pub async fn deliver_message(
    deliverer: &Deliverer<'_>,
    body: &str,
    attempt: u32,
    first_attempt_at: i64,
) -> Result<Step, StoreError> {
    let task = serde_json::from_str::<DeliveryTask>(body)
        .map_err(|error| StoreError::Backend(format!("a delivery task this build cannot read: {error}")))?;
    deliver(deliverer, &task, attempt, first_attempt_at).await
}

/// Attempt number `attempt` (1 for the first, made at `first_attempt_at`) of one task.
pub async fn deliver(
    deliverer: &Deliverer<'_>,
    task: &DeliveryTask,
    attempt: u32,
    first_attempt_at: i64,
) -> Result<Step, StoreError> {
    if task.test {
        return deliver_test(deliverer, task).await;
    }
    let Some(event) = deliverer.outbox.event(&task.event).await? else {
        return Ok(Step::Done(Finished::EventGone));
    };
    // The task's partner and event are the item's, or the task is not what the dispatcher queued.
    if event.partner_id != task.partner_id || event.id.as_str() != task.event_id {
        return Err(StoreError::Backend("a delivery task that names another partner's or another event".into()));
    }
    // An erased account's contact events go with it; if deleting them failed, they are not sent.
    if event.names_contact() && deliverer.accounts.account(&event.user_id).await?.is_none() {
        return Ok(Step::Done(Finished::EventGone));
    }
    let endpoint = match deliverer.endpoints.endpoint(&task.partner_id, &task.endpoint_id).await? {
        Some(endpoint) if endpoint.status == EndpointStatus::Active => endpoint,
        _ => return Ok(Step::Done(Finished::EndpointGone)),
    };
    let now = deliverer.clock.now();
    // Its three days count from the event, or from its replay; a replay queued by a `partners`
    // program older than `replayedAt` counts from its first attempt, as tasks did before.
    let tries_from = match (&task.replay, task.replayed_at) {
        (_, Some(at)) => at,
        (Some(_), None) => first_attempt_at,
        (None, None) => event.occurred_at,
    }
    .min(first_attempt_at);
    // Signed under the previous secret too while a rotation's overlap lasts.
    let (secret, previous) = secrets_of(deliverer.sealer, &endpoint, now).await?;
    let delivery = Delivery::new(&event, &endpoint, &secret, previous.as_ref(), now);
    let outcome = deliverer.poster.post(&endpoint.url, &delivery).await;
    tracing::info!(event = %task.event_id, endpoint = %task.endpoint_id, attempt, ?outcome, "webhook delivery");
    let disable = |reason: String| {
        let endpoint = &endpoint;
        async move {
            let first = deliverer.endpoints.disable_endpoint(&task.partner_id, &task.endpoint_id, &reason, now).await?;
            // The alarm's line on every disable asked for (a retried write whose first answer was
            // lost reads as "already disabled"); the contact's email once, by the write that took.
            tracing::warn!(endpoint = %task.endpoint_id, partner = %task.partner_id, %reason, "webhook endpoint disabled");
            if first {
                tell_contact(deliverer, endpoint, &reason, now).await;
            }
            Ok::<(), StoreError>(())
        }
    };
    // What the answer means; written to the log before a store failure here is passed on, since
    // the post happened either way.
    let step = async {
        Ok::<Step, StoreError>(match outcome {
            Outcome::Delivered(_) => {
                // A hint for the give-up rule, written at most hourly: failing to note it must not
                // post the event again.
                if let Err(error) = deliverer.endpoints.delivered(&task.partner_id, &task.endpoint_id, now).await {
                    tracing::warn!(%error, endpoint = %task.endpoint_id, "lastDeliveredAt not noted");
                }
                Step::Done(Finished::Delivered)
            }
            Outcome::Gone => {
                disable("the receiver answered 410 Gone".to_owned()).await?;
                Step::Done(Finished::Gone)
            }
            Outcome::Failed(failure) if now >= give_up_at(tries_from, first_attempt_at) => {
                if endpoint.last_delivered_at.is_some_and(|at| at >= tries_from) {
                    tracing::warn!(event = %task.event_id, endpoint = %task.endpoint_id, %failure, "webhook delivery given up");
                    Step::Done(Finished::GaveUpOnEvent)
                } else {
                    disable(format!("deliveries failed for three days; the last: {failure}")).await?;
                    Step::Done(Finished::GaveUp)
                }
            }
            Outcome::Failed(_) => {
                let jitter = f64::from(random::below(1_000_000)) / 1_000_000.0;
                Step::RetryAfter(retry_delay(attempt, jitter))
            }
        })
    }
    .await;
    let entry = DeliveryAttempt {
        partner_id: task.partner_id.clone(),
        endpoint_id: task.endpoint_id.clone(),
        event_id: task.event_id.clone(),
        event_type: event.event.kind().to_owned(),
        attempt,
        at: now,
        answer: delivery_log::answer(&outcome),
        then: match &step {
            Ok(Step::Done(Finished::Delivered)) => "delivered".to_owned(),
            Ok(Step::Done(Finished::Gone | Finished::GaveUp)) => "endpoint disabled".to_owned(),
            Ok(Step::Done(_)) => "given up: the endpoint took other events meanwhile".to_owned(),
            Ok(Step::RetryAfter(delay)) => delivery_log::retry_in(*delay),
            Err(_) => "given again: the table failed after the post".to_owned(),
        },
    };
    keep_in_log(deliverer, &entry).await;
    step
}

/// Tells the endpoint's contact it was disabled, and how to start it again. At best: the
/// endpoint-disabled alarm tells the operator whatever happens here.
async fn tell_contact(deliverer: &Deliverer<'_>, endpoint: &WebhookEndpoint, reason: &str, at: i64) {
    let (Some(contact), Some(notices)) = (&endpoint.notify, deliverer.notices) else {
        return;
    };
    let sent = match crate::mail::webhook_disabled(endpoint, reason, at) {
        Ok(message) => notices.send(contact, &message).await.map_err(|error| error.to_string()),
        Err(error) => Err(error.to_string()),
    };
    if let Err(error) = sent {
        tracing::warn!(endpoint = %endpoint.id, %error, "webhook disabled notice not sent");
    }
}

/// A test event: posted once to the endpoint, active or disabled, and its answer logged.
async fn deliver_test(deliverer: &Deliverer<'_>, task: &DeliveryTask) -> Result<Step, StoreError> {
    let now = deliverer.clock.now();
    let posted = async {
        let Some(endpoint) = deliverer.endpoints.endpoint(&task.partner_id, &task.endpoint_id).await? else {
            return Ok(None);
        };
        let (secret, previous) = secrets_of(deliverer.sealer, &endpoint, now).await?;
        let body = test_event::test_body(&endpoint.id, now);
        let delivery = Delivery::signed(&task.event_id, body, &secret, previous.as_ref(), now);
        Ok::<_, StoreError>(Some(deliverer.poster.post(&endpoint.url, &delivery).await))
    }
    .await;
    tracing::info!(event = %task.event_id, endpoint = %task.endpoint_id, ?posted, "webhook test delivery");
    // Tried once whatever came of it: a test the table or KMS kept from being sent says so in the
    // log rather than going round the queue to the dead letters.
    let answer = match &posted {
        Ok(Some(outcome)) => delivery_log::answer(outcome),
        Ok(None) => return Ok(Step::Done(Finished::EndpointGone)),
        Err(error) => format!("not sent: {error}"),
    };
    let entry = DeliveryAttempt {
        partner_id: task.partner_id.clone(),
        endpoint_id: task.endpoint_id.clone(),
        event_id: task.event_id.clone(),
        event_type: test_event::TEST_EVENT_TYPE.to_owned(),
        attempt: 1,
        at: now,
        answer,
        then: "a test: not tried again".to_owned(),
    };
    keep_in_log(deliverer, &entry).await;
    Ok(Step::Done(Finished::Tested))
}

/// At best: the post happened, and trying it again to keep a log line would deliver twice.
async fn keep_in_log(deliverer: &Deliverer<'_>, entry: &DeliveryAttempt) {
    if let Err(error) = deliverer.log.log_attempt(entry).await {
        tracing::warn!(%error, event = %entry.event_id, endpoint = %entry.endpoint_id, "delivery log entry not kept");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Mutex;

    use async_trait::async_trait;
    use zeroize::Zeroizing;

    use super::*;
    use crate::adapters::dynamodb::events::events_pk;
    use crate::ports::{QueueError, WebhookPoster};
    use crate::testing::memory::MemoryStore;
    use crate::webhooks::delivery::{Failure, GIVE_UP_AFTER_SECS, OWN_TRIES_SECS};
    use crate::webhooks::endpoint::EndpointUrl;
    use crate::webhooks::endpoints::WebhookEndpoint;
    use crate::webhooks::event::{AccountEvent, Disclosure, EventKey, EventRecord, PasswordChange};
    use crate::webhooks::signature::WebhookSecret;

    const FIRST_ATTEMPT: i64 = 1_765_000_000;

    /// A receiver that answers every post with `outcome`, and counts them.
    struct Answering(Outcome, Mutex<u32>);

    #[async_trait]
    impl WebhookPoster for Answering {
        async fn post(&self, _url: &EndpointUrl, _delivery: &Delivery) -> Outcome {
            *self.1.lock().unwrap() += 1;
            self.0
        }
    }

    /// Opens every secret to the same one.
    struct OneSecret(String);

    #[async_trait]
    impl SecretSealer for OneSecret {
        async fn seal(&self, _user_id: &str, secret: &[u8]) -> Result<String, StoreError> {
            Ok(String::from_utf8_lossy(secret).into_owned())
        }
        async fn open(&self, _user_id: &str, _sealed: &str) -> Result<Zeroizing<Vec<u8>>, StoreError> {
            Ok(Zeroizing::new(self.0.clone().into_bytes()))
        }
    }

    struct NoQueue;

    #[async_trait]
    impl DeliveryQueue for NoQueue {
        async fn enqueue(&self, _tasks: &[DeliveryTask]) -> Result<(), QueueError> {
            Ok(())
        }
        async fn retry_after(&self, _receipt: &str, _delay: Duration) -> Result<(), QueueError> {
            Ok(())
        }
    }

    struct At(i64);

    impl Clock for At {
        fn now(&self) -> i64 {
            self.0
        }
    }

    /// GIVEN a partner's endpoint (delivered to last at `last_delivered_at`) and a password change
    /// queued for it; WHEN it is attempted at `now` and answered `outcome`: the step, the posts, and
    /// the endpoint after.
    async fn attempt(outcome: Outcome, last_delivered_at: Option<i64>, now: i64) -> Attempted {
        attempt_of(AccountEvent::PasswordChanged { how: PasswordChange::Changed }, outcome, last_delivered_at, now)
            .await
    }

    /// `attempt`, of `event` (about an account the store does not hold).
    async fn attempt_of(event: AccountEvent, outcome: Outcome, last_delivered_at: Option<i64>, now: i64) -> Attempted {
        attempt_task(event, |task| task, outcome, last_delivered_at, FIRST_ATTEMPT, now).await
    }

    /// `attempt_of`, the task queued as `queue` makes it, first tried at `first_attempt_at`. The
    /// event is written at `FIRST_ATTEMPT`.
    async fn attempt_task(
        event: AccountEvent,
        queue: impl FnOnce(DeliveryTask) -> DeliveryTask,
        outcome: Outcome,
        last_delivered_at: Option<i64>,
        first_attempt_at: i64,
        now: i64,
    ) -> Attempted {
        let store = MemoryStore::default();
        let task = queue(queued(&store, WebhookEndpoint { last_delivered_at, ..endpoint() }, event).await);
        let poster = Answering(outcome, Mutex::new(0));
        let sealer = OneSecret(WebhookSecret::generate().expose().to_string());
        let deliverer = Deliverer {
            outbox: &store,
            accounts: &store,
            endpoints: &store,
            log: &store,
            queue: &NoQueue,
            sealer: &sealer,
            poster: &poster,
            notices: None,
            clock: &At(now),
        };
        let step = deliver(&deliverer, &task, 5, first_attempt_at).await.unwrap();
        let posts = *poster.1.lock().unwrap();
        let log = store.attempts("p", "we_1", 10).await.unwrap();
        (step, posts, store.endpoint("p", "we_1").await.unwrap().unwrap(), log)
    }

    /// The partner's endpoint `we_1`, active, telling nobody.
    fn endpoint() -> WebhookEndpoint {
        WebhookEndpoint {
            id: "we_1".into(),
            partner_id: "p".into(),
            url: EndpointUrl::parse("https://hooks.example.com/in").unwrap(),
            disclosure: Disclosure::Masked,
            event_types: Vec::new(),
            sealed_secret: "sealed".into(),
            previous_secret: None,
            status: EndpointStatus::Active,
            notify: None,
            created_at: FIRST_ATTEMPT - 100,
            last_delivered_at: None,
        }
    }

    /// `endpoint` kept in `store`, and `event` about user `u1`, written and queued for it.
    async fn queued(store: &MemoryStore, endpoint: WebhookEndpoint, event: AccountEvent) -> DeliveryTask {
        store.add_endpoint(&endpoint).await.unwrap();
        let event = EventRecord::new(event, "u1", "p", FIRST_ATTEMPT, 1);
        store.put_event(event.clone()).await;
        DeliveryTask {
            event: EventKey { pk: events_pk("p", "u1"), sk: event.id.as_str().to_owned() },
            event_id: event.id.as_str().to_owned(),
            user_id: "u1".into(),
            partner_id: "p".into(),
            endpoint_id: endpoint.id,
            replay: None,
            replayed_at: None,
            test: false,
        }
    }

    /// What an attempt did: its step, the posts made, the endpoint after, and its delivery log.
    type Attempted = (Step, u32, WebhookEndpoint, Vec<DeliveryAttempt>);

    #[tokio::test]
    async fn a_failure_within_three_days_waits_and_keeps_the_endpoint() {
        let (step, posts, endpoint, log) =
            attempt(Outcome::Failed(Failure::Status(503)), None, FIRST_ATTEMPT + 3600).await;
        assert!(matches!(step, Step::RetryAfter(delay) if delay > Duration::ZERO), "{step:?}");
        assert_eq!((posts, endpoint.status), (1, EndpointStatus::Active));
        // AND the endpoint's log says what the receiver answered and that it is tried again
        assert_eq!(log.len(), 1, "{log:?}");
        assert_eq!((log[0].answer.as_str(), log[0].attempt), ("answered 503", 5));
        assert!(log[0].then.starts_with("retry in "), "{:?}", log[0]);
    }

    #[tokio::test]
    async fn a_task_that_waited_three_days_behind_a_refused_one_is_tried_for_an_hour_then_given_up() {
        // GIVEN an event whose task first comes up three days after it, its group's earlier task
        // refused all that time, while the endpoint took other users' events
        let change = || AccountEvent::PasswordChanged { how: PasswordChange::Changed };
        let first_try = FIRST_ATTEMPT + GIVE_UP_AFTER_SECS;
        let delivered = Some(FIRST_ATTEMPT + 7200);
        let refused = Outcome::Failed(Failure::Status(400));
        // WHEN its attempts fail, within its own hour and after it
        let (within, ..) = attempt_task(change(), |task| task, refused, delivered, first_try, first_try + 600).await;
        let (after, posts, endpoint, log) =
            attempt_task(change(), |task| task, refused, delivered, first_try, first_try + OWN_TRIES_SECS).await;
        // THEN a blip within the hour is tried again, and then it is given up, not held three days
        // more (which would push the group's later tasks past the queue's fourteen-day
        // retention); the endpoint stays active
        assert!(matches!(within, Step::RetryAfter(_)), "{within:?}");
        assert_eq!((after, posts, endpoint.status), (Step::Done(Finished::GaveUpOnEvent), 1, EndpointStatus::Active));
        assert!(log[0].then.starts_with("given up"), "{:?}", log[0]);
    }

    #[tokio::test]
    async fn a_replay_queued_without_its_time_counts_from_its_first_attempt() {
        // GIVEN an event ten days old, replayed by a `partners` program that did not stamp its time
        let change = AccountEvent::PasswordChanged { how: PasswordChange::Changed };
        let now = FIRST_ATTEMPT + 10 * 86_400;
        let replayed = |task| DeliveryTask { replay: Some("rp1".into()), ..task };
        // WHEN its attempt two hours in fails, at an endpoint that delivered nothing since the event
        let (step, _, endpoint, _) =
            attempt_task(change, replayed, Outcome::Failed(Failure::Status(503)), None, now - 7200, now).await;
        // THEN it is tried again, and the endpoint stays active
        assert!(matches!(step, Step::RetryAfter(_)), "{step:?}");
        assert_eq!(endpoint.status, EndpointStatus::Active);
    }

    #[tokio::test]
    async fn a_replayed_event_gets_its_three_days_from_the_replay() {
        // GIVEN an event ten days old, replayed now
        let change = AccountEvent::PasswordChanged { how: PasswordChange::Changed };
        let now = FIRST_ATTEMPT + 10 * 86_400;
        let replayed = |task| DeliveryTask { replay: Some("rp1".into()), replayed_at: Some(now - 60), ..task };
        // WHEN its first attempt fails at an endpoint that delivered nothing since the event
        let (step, _, endpoint, _) =
            attempt_task(change, replayed, Outcome::Failed(Failure::Status(503)), None, now, now).await;
        // THEN it is tried again, and the endpoint stays active
        assert!(matches!(step, Step::RetryAfter(_)), "{step:?}");
        assert_eq!(endpoint.status, EndpointStatus::Active);
    }

    #[tokio::test]
    async fn three_days_of_failures_with_nothing_delivered_disable_the_endpoint_saying_why() {
        let (step, _, endpoint, _) =
            attempt(Outcome::Failed(Failure::Status(503)), None, FIRST_ATTEMPT + GIVE_UP_AFTER_SECS).await;
        assert_eq!(step, Step::Done(Finished::GaveUp));
        assert!(
            matches!(&endpoint.status, EndpointStatus::Disabled { reason, .. } if reason.contains("answered 503")),
            "{:?}",
            endpoint.status
        );
    }

    #[tokio::test]
    async fn three_days_of_failures_of_one_event_while_others_arrive_drop_that_event_only() {
        // GIVEN an endpoint that took another delivery after this event's first attempt
        let delivered = Some(FIRST_ATTEMPT + 7200);
        let (step, _, endpoint, _) =
            attempt(Outcome::Failed(Failure::Status(400)), delivered, FIRST_ATTEMPT + GIVE_UP_AFTER_SECS).await;
        // THEN only this event is given up, and the endpoint stays active
        assert_eq!(step, Step::Done(Finished::GaveUpOnEvent));
        assert_eq!(endpoint.status, EndpointStatus::Active);
    }

    #[tokio::test]
    async fn a_delivery_notes_the_endpoint_worked_and_a_410_disables_it() {
        let (step, _, endpoint, _) = attempt(Outcome::Delivered(204), None, FIRST_ATTEMPT).await;
        assert_eq!((step, endpoint.last_delivered_at), (Step::Done(Finished::Delivered), Some(FIRST_ATTEMPT)));
        let (step, _, endpoint, log) = attempt(Outcome::Gone, None, FIRST_ATTEMPT).await;
        assert_eq!(step, Step::Done(Finished::Gone));
        assert!(matches!(endpoint.status, EndpointStatus::Disabled { .. }));
        assert_eq!((log[0].answer.as_str(), log[0].then.as_str()), ("answered 410 Gone", "endpoint disabled"));
    }

    #[tokio::test]
    async fn an_event_naming_a_phone_of_an_account_that_is_gone_is_not_posted() {
        // GIVEN an account.created left in the outbox (its deletion after the erasure failed)
        let phone = crate::domain::phone::PhoneNumber::parse("+447871234567").unwrap();
        let created = AccountEvent::Created { identifier: crate::webhooks::event::Identifier::Phone(phone) };
        // WHEN its task is delivered
        let (step, posts, _, log) = attempt_of(created, Outcome::Delivered(200), None, FIRST_ATTEMPT).await;
        // THEN nothing is posted
        assert_eq!((step, posts), (Step::Done(Finished::EventGone), 0));
        assert!(log.is_empty(), "an attempt logged with no post: {log:?}");
    }

    /// Records who each email went to, or fails every send.
    #[derive(Default)]
    struct Mailbox {
        sent: Mutex<Vec<String>>,
        failing: bool,
    }

    #[async_trait]
    impl EmailSender for Mailbox {
        async fn send(
            &self,
            to: &crate::domain::email::EmailAddress,
            message: &crate::ports::EmailMessage,
        ) -> Result<(), crate::ports::SendError> {
            if self.failing {
                return Err(crate::ports::SendError("SES refused".into()));
            }
            assert!(message.html.contains("we_1") && !message.html.contains("whsec_"), "{}", message.html);
            self.sent.lock().unwrap().push(to.as_str().to_owned());
            Ok(())
        }
    }

    #[tokio::test]
    async fn two_deliverers_answered_410_at_once_tell_the_contact_once_and_a_failing_mailer_fails_nothing() {
        for failing in [false, true] {
            // GIVEN an endpoint that tells its contact, and an event queued for it
            let store = MemoryStore::default();
            let contact = crate::domain::email::EmailAddress::parse("ops@partner.example.com").unwrap();
            let task =
                queued(&store, WebhookEndpoint { notify: Some(contact), ..endpoint() }, AccountEvent::Deleted).await;
            let (poster, mailbox) =
                (Answering(Outcome::Gone, Mutex::new(0)), Mailbox { failing, ..Default::default() });
            let sealer = OneSecret(WebhookSecret::generate().expose().to_string());
            let deliverer = Deliverer {
                outbox: &store,
                accounts: &store,
                endpoints: &store,
                log: &store,
                queue: &NoQueue,
                sealer: &sealer,
                poster: &poster,
                notices: Some(&mailbox),
                clock: &At(FIRST_ATTEMPT),
            };
            // WHEN two deliverers take the task at once (SQS gives at least once) and both get 410
            let (one, two) = tokio::join!(
                deliver(&deliverer, &task, 1, FIRST_ATTEMPT),
                deliver(&deliverer, &task, 1, FIRST_ATTEMPT)
            );
            // THEN both are done, the endpoint is disabled, and the contact was told once (or, the
            // mailer failing, nothing else failed)
            assert_eq!(*poster.1.lock().unwrap(), 2, "both posted before either disabled");
            assert_eq!((one.unwrap(), two.unwrap()), (Step::Done(Finished::Gone), Step::Done(Finished::Gone)));
            let after = store.endpoint("p", "we_1").await.unwrap().unwrap();
            assert!(matches!(after.status, EndpointStatus::Disabled { .. }));
            let told = mailbox.sent.lock().unwrap().clone();
            assert_eq!(told, if failing { vec![] } else { vec!["ops@partner.example.com".to_owned()] });
        }
    }
}
