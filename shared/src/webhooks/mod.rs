//! Partner webhooks (issue 28): what happened to a partner's users, delivered to the partner's
//! endpoint. Built so far: the events and the body each is sent as (`event`, documented under
//! `webhooks` in openapi.yaml), the signature, per the Standard Webhooks specification
//! (`signature`), and which endpoints and addresses a delivery may reach (`endpoint`).
//! Every change a partner must know about writes its event in its own transaction (the outbox,
//! `adapters::dynamodb::events`), numbered by the account's event counter. Delivery through
//! DynamoDB Streams and SQS is not built yet; docs/webhooks.md says what is planned.

pub mod endpoint;
pub mod endpoints;
pub mod event;
pub mod signature;
