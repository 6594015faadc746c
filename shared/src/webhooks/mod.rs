//! Partner webhooks (issue 28): what happened to a partner's users, delivered to the partner's
//! endpoint. Built so far: the events and the body each is sent as (`event`, documented under
//! `webhooks` in openapi.yaml), the signature, per the Standard Webhooks specification
//! (`signature`), and which endpoints and addresses a delivery may reach (`endpoint`).
//! Every change a partner must know about writes its event in its own transaction (the outbox,
//! `adapters::dynamodb::events`), numbered by the account's event counter. The table's stream feeds
//! the dispatcher (`handlers::webhook_dispatch`), which queues a task per endpoint on SQS FIFO; the
//! deliverer (`handlers::webhook_deliver`) makes one delivery (`delivery`) and posts it
//! (`adapters::webhook_https`). docs/webhooks.md says what is built and what is left.

pub mod delivery;
pub mod delivery_log;
pub mod endpoint;
pub mod endpoints;
pub mod event;
pub mod replay;
pub mod signature;
pub mod test_event;
