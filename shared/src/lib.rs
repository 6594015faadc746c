//! The registration service: validation, passwords, codes, tokens, the DynamoDB store, the SNS
//! sender, the error envelope, and one handler per endpoint. Lambda functions only wire these.

pub mod adapters;
pub mod admission;
pub mod app;
pub mod auth;
pub mod config;
pub mod domain;
pub mod edge;
pub mod error;
pub mod factors;
pub mod handlers;
pub mod http;
pub mod latency;
pub mod mail;
pub mod metrics;
pub mod ports;
pub mod security;
pub mod serve;
pub mod telemetry;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod webhooks;
pub mod wiring;

pub use app::App;
pub use error::ApiError;
