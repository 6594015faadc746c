//! The delivery log: one entry per attempt to post an event to an endpoint, kept 30 days for the
//! partner's operator (`partners webhooks log`): when, which event, what the receiver answered, and
//! what the deliverer did next. It says what happened without the body: never a contact detail or
//! a signature.
//!
//! Kept at best: the entry is written after the post, and a failure to write it is logged and
//! does not fail the delivery (trying the post again to keep a log line would deliver twice).

use std::time::Duration;

use crate::webhooks::delivery::Outcome;

/// How long an entry stays: as long as the event it is about.
pub const DELIVERY_LOG_RETENTION_SECS: i64 = 30 * 86_400;

/// One attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub partner_id: String,
    pub endpoint_id: String,
    pub event_id: String,
    pub event_type: String,
    /// 1 for the first; as the queue counts receives, so a receive without a post skips a number.
    pub attempt: u32,
    /// Unix seconds.
    pub at: i64,
    /// What the receiver did: `answered 200`, `no answer within 10 s`...
    pub answer: String,
    /// What the deliverer did then: delivered, a retry and when, the endpoint disabled, given up.
    pub then: String,
}

/// What the receiver did, in the log's words.
pub fn answer(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Delivered(status) => format!("answered {status}"),
        Outcome::Gone => "answered 410 Gone".to_owned(),
        Outcome::Failed(failure) => failure.to_string(),
    }
}

/// A wait in the log's words: `retry in 2 min`.
pub fn retry_in(delay: Duration) -> String {
    let secs = delay.as_secs();
    match secs {
        0..120 => format!("retry in {secs} s"),
        120..7200 => format!("retry in {} min", secs / 60),
        _ => format!("retry in {} h", secs / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::delivery::Failure;

    #[test]
    fn the_log_says_what_the_receiver_answered_and_when_the_next_try_is() {
        assert_eq!(answer(&Outcome::Delivered(204)), "answered 204");
        assert_eq!(answer(&Outcome::Gone), "answered 410 Gone");
        assert_eq!(answer(&Outcome::Failed(Failure::Status(500))), Failure::Status(500).to_string());
        assert_eq!(retry_in(Duration::from_secs(27)), "retry in 27 s");
        assert_eq!(retry_in(Duration::from_secs(110 * 60)), "retry in 110 min");
        assert_eq!(retry_in(Duration::from_secs(10 * 3600 + 5)), "retry in 10 h");
    }
}
