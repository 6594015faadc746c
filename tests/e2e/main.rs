//! End-to-end tests: the real handlers, the real DynamoDB and SNS adapters, a moto server.

mod confirm;
mod logs;
mod malformed;
mod resend;
mod signup;
