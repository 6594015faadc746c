//! Partner webhooks end to end on moto: changes write their events, the table's stream feeds the
//! dispatcher, the FIFO queue feeds the deliverer, and a receiver on this machine checks every
//! signature with the Standard Webhooks reference library. The harness plays Lambda's pollers
//! (`e2e::webhook_pipeline`); the handlers, adapters, stream and queue are the real ones.

use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use e2e::webhook_pipeline::{FailingQueue, ImpatientQueue, Pipeline};
use e2e::webhook_receiver::{Received, WebhookReceiver};
use e2e::{MERCHANT, TestEnv};
use registration::adapters::dynamodb::DynamoStore;
use registration::adapters::factor_sealer::KmsSecretSealer;
use registration::adapters::webhook_https::HttpsPoster;
use registration::handlers::webhook_deliver::Deliverer;
use registration::ports::{DeliveryQueue, WebhookEndpoints};
use registration::webhooks::delivery::GIVE_UP_AFTER_SECS;
use registration::webhooks::endpoints::{EndpointStatus, NewEndpoint, WebhookEndpoint, register};
use registration::webhooks::event::Disclosure;
use serde_json::Value;

use crate::concurrency::{PASSWORD, delete, phone_account};

const HOST: &str = "hooks.partner-one.com";

/// A test's stack: the table as functions and the `partners` program reach it, the pipeline, and
/// the partner's receiver.
struct Hooks {
    env: TestEnv,
    store: DynamoStore,
    sealer: KmsSecretSealer,
    poster: HttpsPoster,
    pipeline: Pipeline,
    receiver: WebhookReceiver,
}

impl Hooks {
    async fn new() -> Hooks {
        let env = TestEnv::new().await;
        let store = DynamoStore::new(env.dynamodb.clone(), env.table.clone());
        let sealer = KmsSecretSealer::for_webhooks(env.kms.clone(), &env.factor_key);
        let receiver = WebhookReceiver::without_secrets(HOST);
        let resolver = WebhookReceiver::resolver(&[IpAddr::V4(Ipv4Addr::LOCALHOST)]);
        let poster = HttpsPoster::new().resolving_with(resolver).for_local_receiver(&receiver.ca_pem).unwrap();
        let pipeline = Pipeline::start(&env).await;
        Hooks { env, store, sealer, poster, pipeline, receiver }
    }

    /// An endpoint of the partner at the receiver's `path`, as `partners webhooks add` makes it.
    async fn endpoint(&mut self, path: &str) -> WebhookEndpoint {
        let url = self.receiver.url(path);
        let every: Vec<String> = Vec::new();
        let new = NewEndpoint {
            partner_id: MERCHANT,
            url: &url,
            event_types: &every,
            disclosure: Disclosure::Masked,
            now: 1_765_000_000,
        };
        let (endpoint, secret) = register(&self.store, &self.sealer, new).await.unwrap();
        self.receiver.verify_with(secret.expose().as_str());
        endpoint
    }

    fn deliverer<'a>(&'a self, queue: &'a dyn DeliveryQueue) -> Deliverer<'a> {
        Deliverer {
            outbox: &self.store,
            accounts: &self.store,
            endpoints: &self.store,
            queue,
            sealer: &self.sealer,
            poster: &self.poster,
            clock: self.env.clock.as_ref(),
        }
    }

    /// The stream dispatched and the queue delivered until nothing is left on it.
    async fn run(&self, queue: &dyn DeliveryQueue) {
        self.pipeline.dispatch(&self.store, &self.store, queue).await;
        for _ in 0..100 {
            if self.pipeline.deliver(&self.deliverer(queue)).await == 0 && self.pipeline.queued().await == 0 {
                return;
            }
        }
        panic!("the delivery queue did not drain");
    }
}

impl Hooks {
    /// The endpoint is disabled, its reason saying `why`.
    async fn assert_disabled(&self, endpoint: &WebhookEndpoint, why: &str) {
        let after = self.store.endpoint(MERCHANT, &endpoint.id).await.unwrap().unwrap();
        assert!(
            matches!(&after.status, EndpointStatus::Disabled { reason, .. } if reason.contains(why)),
            "{:?}",
            after.status
        );
    }
}

fn body(received: &Received) -> Value {
    serde_json::from_str(&received.body).unwrap()
}

fn kinds(received: &[Received]) -> Vec<String> {
    received.iter().map(|r| body(r)["type"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_deletion_reaches_the_partners_receiver_with_the_user_id_once_and_signed() {
    // GIVEN a partner with an endpoint, and a user of it
    let mut hooks = Hooks::new().await;
    hooks.endpoint("/ok").await;
    let (_, tokens, user_id) = phone_account(&hooks.env, &mut HashSet::new()).await;
    // WHEN the user deletes the account, and the pipeline runs
    assert_eq!(delete(&hooks.env, &e2e::bearer(&tokens), MERCHANT).await.status, 204);
    hooks.run(&hooks.pipeline.queue()).await;
    // THEN the receiver got account.deleted with the user's id, once, verified by the reference
    let received = hooks.receiver.received();
    let deletions: Vec<&Received> = received.iter().filter(|r| body(r)["type"] == "account.deleted").collect();
    assert_eq!(deletions.len(), 1, "{:?}", kinds(&received));
    assert_eq!(body(deletions[0])["data"]["userId"], user_id.as_str());
    assert!(received.iter().all(|r| r.verified), "a delivery the reference library refused");
    // AND no event was delivered twice, and none names the erased user's phone (the account's
    // creation, which does, was erased with it before it was sent)
    let ids: HashSet<&str> = received.iter().map(|r| r.webhook_id.as_str()).collect();
    assert_eq!(ids.len(), received.len());
    assert!(!kinds(&received).contains(&"account.created".to_owned()), "{:?}", kinds(&received));
}

#[tokio::test]
async fn a_dispatcher_that_fails_midway_still_delivers_each_event_to_each_endpoint_exactly_once() {
    // GIVEN a partner with two endpoints, and a user's account created (an event)
    let mut hooks = Hooks::new().await;
    hooks.endpoint("/ok?first").await;
    hooks.endpoint("/ok?second").await;
    let (_, tokens, _) = phone_account(&hooks.env, &mut HashSet::new()).await;
    let password = serde_json::json!({ "oldPassword": PASSWORD, "newPassword": "An0ther-Passw0rd" });
    let changed = hooks.env.as_user(e2e::Endpoint::PasswordChange, &e2e::bearer(&tokens), password).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    // WHEN the dispatcher queues the first event for one endpoint and then fails, and Lambda gives it
    // the batch again
    let queue = FailingQueue { inner: hooks.pipeline.queue(), fail_after: std::sync::Mutex::new(Some(1)) };
    hooks.pipeline.dispatch(&hooks.store, &hooks.store, &queue).await;
    hooks.run(&queue).await;
    // THEN each endpoint got each event exactly once, each verified by the reference library
    assert!(hooks.receiver.received().iter().all(|seen| seen.verified));
    let mut per_endpoint: BTreeMap<(String, String), usize> = BTreeMap::new();
    for seen in hooks.receiver.received() {
        *per_endpoint.entry((seen.path.clone(), seen.webhook_id.clone())).or_default() += 1;
    }
    assert_eq!(per_endpoint.len(), 4, "two events, two endpoints: {per_endpoint:?}");
    assert!(per_endpoint.values().all(|n| *n == 1), "{per_endpoint:?}");
}

#[tokio::test]
async fn a_receiver_failing_twice_gets_the_event_on_the_third_try_with_the_same_id_after_growing_waits() {
    // GIVEN an endpoint that answers 500 twice to each event, then 200
    let mut hooks = Hooks::new().await;
    hooks.endpoint("/flaky/2").await;
    let (_, _, user_id) = phone_account(&hooks.env, &mut HashSet::new()).await;
    // WHEN the pipeline runs, time passing at once between tries
    let queue =
        ImpatientQueue { inner: hooks.pipeline.queue(), clock: hooks.env.clock.clone(), delays: Default::default() };
    hooks.run(&queue).await;
    // THEN the account's creation arrived three times, one webhook-id, the last answered 200
    let received = hooks.receiver.received();
    assert_eq!(received.len(), 3, "{:?}", kinds(&received));
    assert!(received.iter().all(|r| r.webhook_id == received[0].webhook_id && r.verified));
    assert_eq!(body(&received[2])["data"]["userId"], user_id.as_str());
    // AND it waited about 30 s, then about 2 minutes (80 % to 100 % of each, by the jitter)
    let delays = queue.delays.lock().unwrap().clone();
    assert_eq!(delays.len(), 2);
    assert!((Duration::from_secs(24)..=Duration::from_secs(30)).contains(&delays[0]), "{delays:?}");
    assert!((Duration::from_secs(96)..=Duration::from_secs(120)).contains(&delays[1]), "{delays:?}");
    // AND the endpoint is still active
    let endpoints = hooks.store.endpoints(MERCHANT).await.unwrap();
    assert_eq!(endpoints[0].status, EndpointStatus::Active);
}

#[tokio::test]
async fn a_410_disables_the_endpoint_and_nothing_more_is_sent_to_it() {
    // GIVEN an endpoint whose receiver answers 410 Gone, and a user with two events
    let mut hooks = Hooks::new().await;
    let endpoint = hooks.endpoint("/gone").await;
    let (_, tokens, _) = phone_account(&hooks.env, &mut HashSet::new()).await;
    let password = serde_json::json!({ "oldPassword": PASSWORD, "newPassword": "An0ther-Passw0rd" });
    assert_eq!(hooks.env.as_user(e2e::Endpoint::PasswordChange, &e2e::bearer(&tokens), password).await.status, 200);
    // WHEN the pipeline runs
    hooks.run(&hooks.pipeline.queue()).await;
    // THEN one post reached it, the endpoint is disabled saying why, and the second event was not sent
    assert_eq!(hooks.receiver.received().len(), 1);
    hooks.assert_disabled(&endpoint, "410").await;
}

#[tokio::test]
async fn an_endpoint_failing_through_every_retry_is_disabled_after_the_last() {
    // GIVEN an endpoint that always answers 500
    let mut hooks = Hooks::new().await;
    let endpoint = hooks.endpoint("/flaky/1000").await;
    phone_account(&hooks.env, &mut HashSet::new()).await;
    // WHEN the pipeline runs, time passing at once between tries
    let queue =
        ImpatientQueue { inner: hooks.pipeline.queue(), clock: hooks.env.clock.clone(), delays: Default::default() };
    hooks.run(&queue).await;
    // THEN it was tried a dozen times or so, until the first attempt was three days old, the
    // service's clock moved on by each wait the queue was asked for
    let posts = hooks.receiver.received().len();
    assert!((12..=16).contains(&posts), "{posts} posts");
    let waited: Duration = queue.delays.lock().unwrap().iter().sum();
    assert!(waited >= Duration::from_secs(GIVE_UP_AFTER_SECS as u64 - 60), "{waited:?}");
    assert!(queue.delays.lock().unwrap().iter().all(|delay| *delay <= Duration::from_secs(11 * 3600)));
    // AND the endpoint is disabled, saying why
    hooks.assert_disabled(&endpoint, "answered 500").await;
}

#[tokio::test]
async fn an_account_erased_after_its_events_were_queued_has_its_contact_events_withheld_and_its_deletion_sent() {
    // GIVEN a partner's endpoint, and a user whose account.created (naming the phone) is queued
    let mut hooks = Hooks::new().await;
    hooks.endpoint("/ok").await;
    let (_, tokens, user_id) = phone_account(&hooks.env, &mut HashSet::new()).await;
    let queue = hooks.pipeline.queue();
    hooks.pipeline.dispatch(&hooks.store, &hooks.store, &queue).await;
    assert!(hooks.pipeline.queued().await >= 1);
    // WHEN the account is erased before the deliverer gets to it, and the pipeline runs on
    assert_eq!(delete(&hooks.env, &e2e::bearer(&tokens), MERCHANT).await.status, 204);
    hooks.run(&queue).await;
    // THEN the receiver got the deletion, and nothing that names the erased user's phone
    let received = hooks.receiver.received();
    assert_eq!(kinds(&received), ["account.deleted"], "{:?}", kinds(&received));
    assert_eq!(body(&received[0])["data"]["userId"], user_id.as_str());
}
