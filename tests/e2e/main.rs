//! End-to-end tests: the real handlers, the real DynamoDB and SNS adapters, a moto server.

// A failed unwrap here is a failed test, which is what it should be.
#![allow(clippy::unwrap_used)]

mod account_deletion;
mod account_sessions;
mod alarms;
mod browser;
mod concurrency;
mod confirm;
mod contract;
mod deletion_page;
mod dev_webhooks;
mod edge;
mod email_profile;
mod emulator;
mod factor_enrolment;
mod hardening;
mod kyc_sumsub;
mod logs;
mod malformed;
mod partners;
mod password_reset_by_email;
mod passwords;
mod phone_change;
mod races;
mod resend;
mod rotations;
mod second_factor;
mod security_notices;
mod sessions;
mod signup;
mod signup_email;
mod sms_factor;
mod stages;
mod template_secrets;
mod token_keys;
mod totp;
mod unreachable_aws;
mod webhook_delivery;
mod webhook_endpoints;
mod webhook_events;
mod webhook_pipeline;
mod webhook_signature;
