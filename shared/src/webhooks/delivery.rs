//! One delivery of an event to one endpoint: what is posted, what the receiver's answer means, and
//! when a failed delivery is tried again.
//!
//! As the Standard Webhooks specification has it: any 2xx is delivered; `410 Gone` says the partner
//! retired the endpoint, which is then disabled and sent nothing more; anything else is a failure,
//! tried again with exponential backoff and jitter for three days, after which the endpoint is
//! disabled (unless it answered other deliveries meanwhile: then only this one is given up). A redirect counts as a failure (it is not followed: the place
//! it points to was never checked), and so do a timeout, a refused or dropped connection, a failed
//! TLS handshake, an answer that is not HTTP, and a host that resolves to nothing or to an address
//! a delivery may not reach (`endpoint::public_addresses`).

use std::fmt;
use std::time::Duration;

use crate::webhooks::endpoints::WebhookEndpoint;
use crate::webhooks::event::EventRecord;
use crate::webhooks::signature::{SignedHeaders, WebhookSecret};

/// The longest a receiver may take to answer, from the first byte sent: a receiver should queue
/// the event and answer at once, as the specification advises.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest the TCP and TLS handshakes may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// A delivery ready to post: the body as this endpoint receives it (its disclosure), and the
/// headers that sign it, under the current secret and the previous one while a rotation overlaps.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub body: String,
    pub headers: SignedHeaders,
}

impl Delivery {
    /// `record` for `endpoint`, signed at `now` (Unix seconds). The `webhook-id` is the event's id
    /// on every delivery of it, so a receiver tells a retry from a new event.
    pub fn new(
        record: &EventRecord,
        endpoint: &WebhookEndpoint,
        current: &WebhookSecret,
        previous: Option<&WebhookSecret>,
        now: i64,
    ) -> Delivery {
        Delivery::signed(record.id.as_str(), record.body(endpoint.disclosure), current, previous, now)
    }

    /// `body` as the `webhook-id` `id`, signed at `now`.
    pub fn signed(
        id: &str,
        body: String,
        current: &WebhookSecret,
        previous: Option<&WebhookSecret>,
        now: i64,
    ) -> Delivery {
        let headers = SignedHeaders::new(current, previous, id, now, body.as_bytes());
        Delivery { body, headers }
    }
}

/// What came of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx: the receiver has the event.
    Delivered(u16),
    /// `410 Gone`: the endpoint is disabled at once.
    Gone,
    /// Tried again later (`retry_delay`).
    Failed(Failure),
}

impl Outcome {
    /// What a receiver's status means.
    pub fn of_status(status: u16) -> Outcome {
        match status {
            200..=299 => Outcome::Delivered(status),
            410 => Outcome::Gone,
            other => Outcome::Failed(Failure::Status(other)),
        }
    }
}

/// Why an attempt failed, as the delivery log shows it to the partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// A status other than 2xx and 410, a redirect included.
    Status(u16),
    /// No answer within `ANSWER_TIMEOUT`, or no connection within `CONNECT_TIMEOUT`.
    Timeout,
    /// The connection was refused or dropped, TLS failed, or the answer was not HTTP.
    Connection,
    /// The host resolved to nothing, or to an address a delivery may not reach.
    Unreachable,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Status(status) if (300..400).contains(status) => {
                write!(f, "answered {status}: redirects are not followed")
            }
            Failure::Status(status) => write!(f, "answered {status}"),
            Failure::Timeout => f.write_str("no answer in time"),
            Failure::Connection => f.write_str("the connection failed or the answer was not HTTP"),
            Failure::Unreachable => f.write_str("the host resolved to nothing, or to an address that is not public"),
        }
    }
}

/// A delivery that still fails this long after its event (or its replay) is given up: three days.
pub const GIVE_UP_AFTER_SECS: i64 = 72 * 3600;
/// However old its event, a task is tried for at least this long once its turn comes (30 s, 2, 8
/// and 32 minutes): a task that waited in its group behind one the receiver refused is not lost
/// to one blip, and a group still drains well inside the queue's fourteen days.
pub const OWN_TRIES_SECS: i64 = 3600;

/// When a task's tries end: three days after `tries_from` (its event, or its replay), and not
/// before `OWN_TRIES_SECS` after its own first attempt.
pub fn give_up_at(tries_from: i64, first_attempt_at: i64) -> i64 {
    (tries_from + GIVE_UP_AFTER_SECS).max(first_attempt_at + OWN_TRIES_SECS)
}
const FIRST_DELAY_SECS: u64 = 30;
const DELAY_GROWTH: u64 = 4;
/// The longest wait between attempts: under SQS's 12 hours out of sight per receive (the wait is
/// the task's visibility), with room for the attempt that asks for it.
const LONGEST_DELAY_SECS: u64 = 11 * 3600;

/// How long to wait after `failures` failed attempts (1 after the first) before the next: 30 s,
/// growing fourfold to at most 11 hours, spread by `jitter` (in 0..1) over 80 % to 100 % of that,
/// so endpoints that failed together do not all come back at once. The deliverer gives up at
/// `give_up_at`, whatever the count: a task given again without a post (the table or KMS failing,
/// a timeout) counts as a failure here, and only moves the wait to its longest sooner.
pub fn retry_delay(failures: u32, jitter: f64) -> Duration {
    let base = DELAY_GROWTH
        .checked_pow(failures.max(1) - 1)
        .and_then(|growth| growth.checked_mul(FIRST_DELAY_SECS))
        .map_or(LONGEST_DELAY_SECS, |secs| secs.min(LONGEST_DELAY_SECS));
    let spread = 0.8 + 0.2 * jitter.clamp(0.0, 1.0);
    Duration::from_secs_f64(base as f64 * spread)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_2xx_is_delivered_a_410_retires_the_endpoint_and_anything_else_is_tried_again() {
        assert_eq!(Outcome::of_status(200), Outcome::Delivered(200));
        assert_eq!(Outcome::of_status(204), Outcome::Delivered(204));
        assert_eq!(Outcome::of_status(410), Outcome::Gone);
        for status in [301, 302, 307, 400, 401, 404, 429, 500, 503, 101, 199] {
            assert_eq!(Outcome::of_status(status), Outcome::Failed(Failure::Status(status)), "{status}");
        }
        assert_eq!(Failure::Status(302).to_string(), "answered 302: redirects are not followed");
    }

    #[test]
    fn waits_grow_to_eleven_hours_at_most_and_about_a_dozen_fill_the_three_days() {
        for jitter in [0.0, 0.5, 0.999] {
            let delays: Vec<Duration> = (1..=20).map(|n| retry_delay(n, jitter)).collect();
            assert!(delays.windows(2).all(|pair| pair[0] <= pair[1]), "{delays:?}");
            assert!(delays.iter().all(|delay| *delay <= Duration::from_secs(11 * 3600)));
            // Attempts until the first is three days old: the first, and one after each wait.
            let (mut waited, mut attempts) = (Duration::ZERO, 1);
            while waited < Duration::from_secs(GIVE_UP_AFTER_SECS as u64) {
                waited += delays[attempts - 1];
                attempts += 1;
            }
            assert!((12..=15).contains(&attempts), "{jitter}: {attempts}");
        }
        assert_eq!(retry_delay(1, 0.0), Duration::from_secs(24));
        assert_eq!(retry_delay(1, 1.0), Duration::from_secs(30));
        assert_eq!(retry_delay(0, 1.0), Duration::from_secs(30));
        assert_eq!(retry_delay(u32::MAX, 1.0), Duration::from_secs(11 * 3600));
    }
}
