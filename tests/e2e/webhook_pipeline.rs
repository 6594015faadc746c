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
use registration::ports::{Clock, DeliveryLog, DeliveryQueue, EventOutbox, WebhookEndpoints};
use registration::webhooks::delivery::GIVE_UP_AFTER_SECS;
use registration::webhooks::endpoints::{
    EndpointStatus, NewEndpoint, RotationRefused, WebhookEndpoint, register, rotate,
};
use registration::webhooks::event::{Disclosure, EventId};
use registration::webhooks::replay::{Events, ReplayRefused, Replayed, replay};
use registration::webhooks::test_event::test_task;
use serde_json::Value;

use crate::concurrency::{PASSWORD, delete, phone_account};

const HOST: &str = "hooks.partner-one.com";
/// The partner's contact, told when an endpoint is disabled.
const CONTACT: &str = "webhooks@partner-one.com";

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
        let poster = HttpsPoster::new()
            .resolving_with(resolver)
            .for_local_receiver(HOST, receiver.port, &receiver.ca_pem)
            .unwrap();
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
            notify: Some(CONTACT),
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
            log: &self.store,
            queue,
            sealer: &self.sealer,
            poster: &self.poster,
            notices: Some(self.env.mailer.sender.as_ref()),
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
    // AND its delivery log (`partners webhooks log`) shows the three attempts, newest first: what
    // the receiver answered and what came next
    let log = hooks.store.attempts(MERCHANT, &endpoints[0].id, 20).await.unwrap();
    let lines: Vec<(u32, &str, &str)> =
        log.iter().map(|a| (a.attempt, a.answer.as_str(), a.then.split(" in ").next().unwrap())).collect();
    assert_eq!(
        lines,
        [(3, "answered 200", "delivered"), (2, "answered 500", "retry"), (1, "answered 500", "retry")],
        "{log:?}"
    );
    assert!(log.iter().all(|a| a.event_id == received[0].webhook_id && a.event_type == "account.created"));
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
    // AND the partner's contact was told once, with the reason and how to start it again
    let notices = hooks.env.emails_to(CONTACT).await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    let (subject, html) = &notices[0];
    assert!(subject.contains(endpoint.url.as_str()), "{subject}");
    assert!(html.contains("410 Gone") && html.contains(&endpoint.id), "{html}");
    assert!(html.contains("partners webhooks enable") && html.contains("partners webhooks replay"), "{html}");
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
    // THEN it was tried a dozen times or so, until the event was three days old, the
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

impl Hooks {
    /// The partner's events made in the hour around the service's clock, replayed.
    fn this_hour(&self) -> Events {
        let now = u64::try_from(self.env.clock.now()).unwrap() * 1000;
        Events::Range { from_ms: now - 3_600_000, to_ms: now + 3_600_000 }
    }

    /// `partners webhooks replay` of `which` (to `endpoint` alone, if named), on the pipeline's queue.
    async fn replay(&self, which: Events, endpoint: Option<&str>) -> Result<Replayed, ReplayRefused> {
        let queue = self.pipeline.queue();
        replay(&self.store, &self.store, &queue, MERCHANT, which, endpoint, self.env.clock.now()).await
    }
}

#[tokio::test]
async fn during_a_secret_rotation_deliveries_verify_under_either_secret_and_after_it_under_the_new_one_only() {
    // GIVEN an endpoint whose receiver verifies under its secret (the receiver's secret 0)
    let mut hooks = Hooks::new().await;
    let endpoint = hooks.endpoint("/ok").await;
    // WHEN its operator rotates the secret (`partners webhooks rotate-secret`; two minutes' overlap
    // here, so the receiver's own clock still takes the signatures after it), and the receiver is
    // given the new one (secret 1)
    let now = hooks.env.clock.now();
    let new = rotate(&hooks.store, &hooks.sealer, &endpoint, 120, now).await.unwrap();
    hooks.receiver.verify_with(new.expose().as_str());
    // AND a user signs up, and the pipeline runs
    let (_, tokens, _) = phone_account(&hooks.env, &mut HashSet::new()).await;
    hooks.run(&hooks.pipeline.queue()).await;
    // THEN the delivery verifies under the old secret and under the new one
    let received = hooks.receiver.received();
    assert_eq!(received.len(), 1, "{:?}", kinds(&received));
    assert_eq!(received[0].verified_by, [0, 1], "the secrets it verified under");
    // WHEN the user changes the password, and it is delivered once the overlap is over
    let password = serde_json::json!({ "oldPassword": PASSWORD, "newPassword": "An0ther-Passw0rd" });
    assert_eq!(hooks.env.as_user(e2e::Endpoint::PasswordChange, &e2e::bearer(&tokens), password).await.status, 200);
    hooks.env.clock.advance(120);
    hooks.run(&hooks.pipeline.queue()).await;
    // THEN that delivery verifies under the new secret only
    let received = hooks.receiver.received();
    assert_eq!(kinds(&received), ["account.created", "account.password_changed"]);
    assert_eq!(received[1].verified_by, [1], "the old secret still signs after its overlap");
    // AND a rotation from the endpoint as read before the first (a second operator at once) is refused
    let stale = rotate(&hooks.store, &hooks.sealer, &endpoint, 0, now).await;
    assert!(matches!(stale, Err(RotationRefused::Changed)), "{stale:?}");
}

#[tokio::test]
async fn a_disabled_endpoint_enabled_again_gets_what_it_missed_by_a_replay_with_the_first_ids_and_order() {
    // GIVEN an endpoint that was disabled, and a user whose sign-up and password change happened then
    let mut hooks = Hooks::new().await;
    let endpoint = hooks.endpoint("/ok").await;
    assert!(hooks.store.disable_endpoint(MERCHANT, &endpoint.id, "answered 410 Gone", 1).await.unwrap());
    let (_, tokens, user_id) = phone_account(&hooks.env, &mut HashSet::new()).await;
    let password = serde_json::json!({ "oldPassword": PASSWORD, "newPassword": "An0ther-Passw0rd" });
    assert_eq!(hooks.env.as_user(e2e::Endpoint::PasswordChange, &e2e::bearer(&tokens), password).await.status, 200);
    hooks.run(&hooks.pipeline.queue()).await;
    assert!(hooks.receiver.received().is_empty(), "posted to a disabled endpoint");
    // WHEN a replay is asked for while it is still disabled
    let queue = hooks.pipeline.queue();
    let early = hooks.replay(hooks.this_hour(), Some(&endpoint.id)).await;
    // THEN it is refused, saying to enable it first
    assert!(early.unwrap_err().to_string().contains("enable it first"));
    // WHEN it is enabled (`partners webhooks enable`) and the hour is replayed to it
    assert!(hooks.store.enable_endpoint(MERCHANT, &endpoint.id).await.unwrap());
    assert!(!hooks.store.enable_endpoint(MERCHANT, &endpoint.id).await.unwrap(), "enabled twice");
    let replayed = hooks.replay(hooks.this_hour(), Some(&endpoint.id)).await.unwrap();
    hooks.run(&queue).await;
    // THEN both events arrive, verified, in the user's order, each with its sequence
    assert_eq!((replayed.events, replayed.tasks), (2, 2));
    let received = hooks.receiver.received();
    assert_eq!(kinds(&received), ["account.created", "account.password_changed"]);
    assert!(received.iter().all(|r| r.verified && body(r)["data"]["userId"] == user_id.as_str()));
    // AND each carries, as its webhook-id, the id its event was written with
    let stored = hooks.store.events_between(MERCHANT, 0, 0xFFFF_FFFF_FFFF, 100).await.unwrap();
    let written: HashSet<&str> = stored.iter().map(|(_, event)| event.id.as_str()).collect();
    let sent: HashSet<&str> = received.iter().map(|r| r.webhook_id.as_str()).collect();
    assert_eq!(sent, written);
    let sequences: Vec<u64> = received.iter().map(|r| body(r)["data"]["sequence"].as_u64().unwrap()).collect();
    assert!(sequences[0] < sequences[1], "{sequences:?}");
    // AND the same event replayed again at once is sent again with the same webhook-id, which the
    // receiver deduplicates by (on AWS a replay's nonce keeps SQS from dropping it as a duplicate
    // within five minutes; moto forgets an id once its task is done, so `webhooks::replay`'s unit
    // test holds that)
    let first = EventId::parse(&received[1].webhook_id).unwrap();
    let again = hooks.replay(Events::One(first), None).await.unwrap();
    hooks.run(&queue).await;
    assert_eq!((again.events, again.tasks), (1, 1));
    let received = hooks.receiver.received();
    assert_eq!(received.len(), 3);
    assert_eq!(received[2].webhook_id, received[1].webhook_id);
    assert_eq!(received[2].body, received[1].body, "a replay's body differs from the first delivery's");
    // AND an event id the partner does not have is refused
    let unknown = EventId::parse(&EventId::first_of(1)).unwrap();
    let refused = hooks.replay(Events::One(unknown), None).await;
    assert!(refused.unwrap_err().to_string().contains("no event"));
}

#[tokio::test]
async fn a_test_event_is_posted_once_signed_and_its_answer_logged_even_a_410_which_disables_nothing() {
    // GIVEN an endpoint whose receiver answers 410, and another that is disabled
    let mut hooks = Hooks::new().await;
    let gone = hooks.endpoint("/gone").await;
    let disabled = hooks.endpoint("/ok").await;
    assert!(hooks.store.disable_endpoint(MERCHANT, &disabled.id, "answered 410 Gone", 1).await.unwrap());
    // WHEN the operator sends each a test event (`partners webhooks test`), and the deliverer runs
    let now_ms = u64::try_from(hooks.env.clock.now()).unwrap() * 1000;
    let tests = [test_task(MERCHANT, &gone.id, now_ms), test_task(MERCHANT, &disabled.id, now_ms)];
    let queue = hooks.pipeline.queue();
    queue.enqueue(&tests).await.unwrap();
    hooks.run(&queue).await;
    // THEN each receiver got one webhook.test naming its endpoint, verified by the reference library
    let received = hooks.receiver.received();
    assert_eq!(kinds(&received), ["webhook.test", "webhook.test"]);
    assert!(received.iter().all(|r| r.verified));
    let named: HashSet<String> = received.iter().map(|r| body(r)["data"]["endpointId"].to_string()).collect();
    assert_eq!(named, HashSet::from([format!("{:?}", gone.id), format!("{:?}", disabled.id)]));
    // AND the 410 is in the endpoint's log, tried once, and the endpoint is still active
    let log = hooks.store.attempts(MERCHANT, &gone.id, 20).await.unwrap();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!((log[0].event_id.as_str(), log[0].answer.as_str()), (tests[0].event_id.as_str(), "answered 410 Gone"));
    let after = hooks.store.endpoint(MERCHANT, &gone.id).await.unwrap().unwrap();
    assert_eq!(after.status, EndpointStatus::Active, "a test's 410 disabled the endpoint");
}
