//! One webhook delivery, posted by the production HTTPS poster to a receiver on this machine that
//! checks every signature with the Standard Webhooks reference library: what each kind of answer
//! means (delivered, gone, tried again), that a retry carries the same `webhook-id`, that redirects
//! are not followed and a hung receiver is given up on, and that a delivery connects only to the
//! addresses it checked, never to a private one.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use e2e::webhook_receiver::{FixedResolver, WebhookReceiver};
use registration::adapters::webhook_https::HttpsPoster;
use registration::ports::WebhookPoster;
use registration::webhooks::delivery::{Delivery, Failure, Outcome};
use registration::webhooks::endpoint::EndpointUrl;
use registration::webhooks::endpoints::{EndpointStatus, WebhookEndpoint};
use registration::webhooks::event::{AccountEvent, Disclosure, EventRecord};
use registration::webhooks::signature::WebhookSecret;

const HOST: &str = "hooks.partner-one.com";
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn endpoint(url: &str) -> WebhookEndpoint {
    WebhookEndpoint {
        id: "we_0123456789abcdef01234567".to_owned(),
        partner_id: "partner-one".to_owned(),
        url: EndpointUrl::parse(url).unwrap(),
        disclosure: Disclosure::Masked,
        event_types: Vec::new(),
        sealed_secret: String::new(),
        previous_secret: None,
        status: EndpointStatus::Active,
        notify: None,
        created_at: now(),
        last_delivered_at: None,
    }
}

/// An `account.deleted` event for `endpoint`, signed with `secret`, as the deliverer posts it.
fn deletion(endpoint: &WebhookEndpoint, secret: &WebhookSecret) -> (EventRecord, Delivery) {
    let record = EventRecord::new(AccountEvent::Deleted, "3f1c9a6e-user", "partner-one", now(), 7);
    let delivery = Delivery::new(&record, endpoint, secret, None, now());
    (record, delivery)
}

/// A receiver, its endpoint at `path`, and an `account.deleted` signed with the endpoint's secret.
fn a_deletion_for(path: &str) -> (WebhookReceiver, WebhookEndpoint, EventRecord, Delivery) {
    let secret = WebhookSecret::generate();
    let receiver = WebhookReceiver::start(HOST, secret.expose().as_str());
    let endpoint = endpoint(&receiver.url(path));
    let (record, delivery) = deletion(&endpoint, &secret);
    (receiver, endpoint, record, delivery)
}

/// The production poster, resolving the receiver's host to `addresses`, trusting its CA alone and
/// reaching loopback (where the receiver is); a hung receiver is given up on after a second.
fn poster(receiver: &WebhookReceiver, resolver: FixedResolver) -> HttpsPoster {
    HttpsPoster::new()
        .resolving_with(resolver)
        .for_local_receiver(&receiver.host, receiver.port, &receiver.ca_pem)
        .unwrap()
        .answer_within(Duration::from_secs(1))
}

#[tokio::test]
async fn a_delivery_reaches_the_receiver_signed_as_the_reference_library_verifies_and_names_the_erased_user() {
    // GIVEN an endpoint and its secret, and its receiver
    let (receiver, endpoint, record, delivery) = a_deletion_for("/ok");
    // WHEN the deletion is posted
    let outcome = poster(&receiver, WebhookReceiver::resolver(&[LOOPBACK])).post(&endpoint.url, &delivery).await;
    // THEN it is delivered, signed as the reference verifies, with the user id and nothing to enumerate
    assert_eq!(outcome, Outcome::Delivered(200));
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert!(received[0].verified, "the reference library refused the signature");
    assert_eq!(received[0].webhook_id, record.id.as_str());
    let body: serde_json::Value = serde_json::from_str(&received[0].body).unwrap();
    assert_eq!(body["type"], "account.deleted");
    assert_eq!(body["data"]["userId"], "3f1c9a6e-user");
}

#[tokio::test]
async fn a_receiver_failing_twice_gets_the_same_webhook_id_and_body_on_the_third_try() {
    // GIVEN a receiver that answers 500 twice to each event, then 200
    let secret = WebhookSecret::generate();
    let receiver = WebhookReceiver::start(HOST, secret.expose().as_str());
    let endpoint = endpoint(&receiver.url("/flaky/2"));
    let poster = poster(&receiver, WebhookReceiver::resolver(&[LOOPBACK]));
    let record = EventRecord::new(AccountEvent::Deleted, "3f1c9a6e-user", "partner-one", now(), 7);
    // WHEN the event is posted three times, each signed afresh as a retry is
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let delivery = Delivery::new(&record, &endpoint, &secret, None, now());
        outcomes.push(poster.post(&endpoint.url, &delivery).await);
    }
    // THEN 500, 500, delivered: each attempt verified, all one webhook-id and one body
    assert_eq!(
        outcomes,
        [Outcome::Failed(Failure::Status(500)), Outcome::Failed(Failure::Status(500)), Outcome::Delivered(200)]
    );
    let received = receiver.received();
    assert_eq!(received.len(), 3);
    assert!(received.iter().all(|seen| seen.verified && seen.webhook_id == record.id.as_str()));
    assert!(received.iter().all(|seen| seen.body == received[0].body));
}

#[tokio::test]
async fn a_410_retires_the_endpoint_and_a_redirect_hang_or_garbage_answer_is_a_failure_tried_again() {
    // GIVEN a receiver that answers 410, redirects, hangs, answers garbage or a huge body, by path
    let secret = WebhookSecret::generate();
    let receiver = WebhookReceiver::start(HOST, secret.expose().as_str());
    let poster = poster(&receiver, WebhookReceiver::resolver(&[LOOPBACK]));
    let mut outcomes = Vec::new();
    // WHEN an event is posted to each
    for path in ["/gone", "/redirect", "/hang", "/garbage", "/large", "/missing"] {
        let endpoint = endpoint(&receiver.url(path));
        let (_, delivery) = deletion(&endpoint, &secret);
        outcomes.push(poster.post(&endpoint.url, &delivery).await);
    }
    // THEN 410 is gone; the redirect is not followed (nothing reaches /ok); a hang times out; bytes
    // that are not HTTP fail the connection; a huge body is not read; a 404 is tried again
    assert_eq!(
        outcomes,
        [
            Outcome::Gone,
            Outcome::Failed(Failure::Status(302)),
            Outcome::Failed(Failure::Timeout),
            Outcome::Failed(Failure::Connection),
            Outcome::Delivered(200),
            Outcome::Failed(Failure::Status(404)),
        ]
    );
    let paths: Vec<String> = receiver.received().into_iter().map(|seen| seen.path).collect();
    assert!(!paths.iter().any(|path| path == "/ok"), "the redirect was followed: {paths:?}");
}

#[tokio::test]
async fn a_host_that_resolves_to_a_private_address_is_never_connected_to() {
    // GIVEN a receiver, and names that resolve to a private, link-local or mixed set of addresses
    let (receiver, endpoint, _, delivery) = a_deletion_for("/ok");
    let public: IpAddr = "203.0.114.7".parse().unwrap();
    for addresses in [
        vec![LOOPBACK],
        vec!["10.0.0.7".parse().unwrap()],
        vec!["169.254.169.254".parse().unwrap()],
        vec![public, "192.168.1.1".parse().unwrap()],
        vec!["::ffff:127.0.0.1".parse().unwrap()],
        vec![],
    ] {
        // WHEN the production poster (public addresses only) posts to it
        let poster = HttpsPoster::new().resolving_with(WebhookReceiver::resolver(&addresses));
        let outcome = poster.post(&endpoint.url, &delivery).await;
        // THEN nothing is sent: the host is unreachable
        assert_eq!(outcome, Outcome::Failed(Failure::Unreachable), "{addresses:?}");
    }
    assert!(receiver.received().is_empty(), "a delivery reached the receiver through a private address");
}

#[tokio::test]
async fn only_the_local_receivers_own_host_and_port_may_reach_loopback() {
    // GIVEN a poster that lets the local receiver's host and port (make dev's, the tests') reach
    // loopback, another host that also resolves to loopback on the receiver's port, and the
    // receiver's host on another port (make dev's emulator and API listen on loopback)
    let (receiver, endpoint, _, delivery) = a_deletion_for("/ok");
    let elsewhere = EndpointUrl::parse(&format!("https://hooks.partner-two.com:{}/ok", receiver.port)).unwrap();
    // A port something listens on, that is not the receiver's.
    let listening = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listening.local_addr().unwrap().port();
    let other_port_url = EndpointUrl::parse(&format!("https://{}:{port}/ok", receiver.host)).unwrap();
    let poster = poster(&receiver, WebhookReceiver::resolver(&[LOOPBACK]));
    // WHEN each is posted to
    let other = poster.post(&elsewhere, &delivery).await;
    let on_another_port = poster.post(&other_port_url, &delivery).await;
    let own = poster.post(&endpoint.url, &delivery).await;
    // THEN the other host and the other port are unreachable, as in production (no connection is
    // even tried), and only the receiver's host and port are reached
    assert_eq!(other, Outcome::Failed(Failure::Unreachable));
    assert_eq!(on_another_port, Outcome::Failed(Failure::Unreachable));
    assert_eq!(own, Outcome::Delivered(200));
    assert_eq!(receiver.received().len(), 1, "a delivery to another host reached loopback");
}

#[tokio::test]
async fn a_delivery_resolves_the_host_once_and_connects_to_the_address_it_checked() {
    // GIVEN a resolver that counts its lookups
    let (receiver, endpoint, _, delivery) = a_deletion_for("/ok");
    let resolver = WebhookReceiver::resolver(&[LOOPBACK]);
    let lookups = resolver.lookups.clone();
    // WHEN one event is posted
    let outcome = poster(&receiver, resolver).post(&endpoint.url, &delivery).await;
    // THEN it was delivered on one lookup: the connection went to the address checked, with no
    // second lookup that could answer otherwise
    assert_eq!(outcome, Outcome::Delivered(200));
    assert_eq!(*lookups.lock().unwrap(), 1);
}
