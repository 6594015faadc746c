//! The test event (`partners webhooks test`): one signed post of `webhook.test` to one endpoint,
//! made by the deployed deliverer, so it crosses what real deliveries cross (the deliverer's
//! address checks, the internet from AWS, the partner's firewall, its verification of the
//! signature). Tried once: its answer goes to the endpoint's delivery log, and nothing else follows
//! from it (no retry, no disabling on a 410), so an operator may test a disabled endpoint before
//! enabling it. It goes to the endpoint whatever event types the endpoint takes, and is about no
//! user.

use serde_json::json;

use crate::domain::utc_time::UtcTime;
use crate::ports::DeliveryTask;
use crate::webhooks::event::{EventId, EventKey, SCHEMA_VERSION};

pub const TEST_EVENT_TYPE: &str = "webhook.test";

/// What a test task carries where an event task carries its user: no user has this id.
const NO_USER: &str = "test";

/// The body of a test event to `endpoint_id`, made at `now` (Unix seconds).
pub fn test_body(endpoint_id: &str, now: i64) -> String {
    json!({
        "type": TEST_EVENT_TYPE,
        "timestamp": UtcTime(now).rfc3339(),
        "version": SCHEMA_VERSION,
        "data": { "endpointId": endpoint_id },
    })
    .to_string()
}

/// A task that posts a test event to `endpoint_id` of `partner_id`, with a new event id (its
/// `webhook-id`, by which `partners webhooks log` finds its answer).
pub fn test_task(partner_id: &str, endpoint_id: &str, now_ms: u64) -> DeliveryTask {
    let id = EventId::new(now_ms);
    DeliveryTask {
        // No event item: the deliverer makes the body (`test`).
        event: EventKey { pk: format!("WEBHOOKTEST#{partner_id}"), sk: id.as_str().to_owned() },
        event_id: id.as_str().to_owned(),
        user_id: NO_USER.to_owned(),
        partner_id: partner_id.to_owned(),
        endpoint_id: endpoint_id.to_owned(),
        replay: None,
        replayed_at: None,
        test: true,
    }
}
