//! How long one AWS call may take. The SDK's defaults (3.1 s to connect, no limit on an attempt or on
//! the whole call, three attempts) let one call to an unreachable or hung endpoint run past the 10 s
//! function timeout, so Lambda killed the invocation and the caller saw API Gateway's bare 503 instead
//! of our envelope. With these, any single call gives up within `OPERATION`, well inside the function
//! timeout, and the store or sender turns that into a 503 `UNAVAILABLE` envelope.

use std::time::Duration;

use aws_config::ConfigLoader;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

/// A TCP and TLS handshake to a regional endpoint takes milliseconds; a second means it is unreachable.
pub const CONNECT: Duration = Duration::from_secs(1);
/// One attempt: DynamoDB, SNS and SES answer in tens to hundreds of milliseconds.
pub const ATTEMPT: Duration = Duration::from_secs(2);
/// The whole call, retries included: leaves the function time for its answer and the latency padding.
pub const OPERATION: Duration = Duration::from_secs(4);
/// Retries with the SDK's standard back-off, within `OPERATION`: one throttle or reset is retried.
pub const MAX_ATTEMPTS: u32 = 3;

/// The SDK loader with these limits applied.
pub fn bounded(loader: ConfigLoader) -> ConfigLoader {
    loader
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT)
                .operation_attempt_timeout(ATTEMPT)
                .operation_timeout(OPERATION)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
}
