//! Partner webhooks (issue 28): what happened to a partner's users, delivered to the partner's
//! endpoint. Built so far: the events and the body each is sent as (`event`, documented under
//! `webhooks` in openapi.yaml), the signature, per the Standard Webhooks specification
//! (`signature`), and which endpoints and addresses a delivery may reach (`endpoint`).
//! The outbox written in the change's own transaction, and delivery through DynamoDB
//! Streams and SQS are not built yet; docs/webhooks.md says what is planned and what is not.

pub mod endpoint;
pub mod event;
pub mod signature;
