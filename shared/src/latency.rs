//! A running estimate of how long a send takes in this process, so a request that must not reveal
//! whether it sent anything (forgot-password for an unknown phone) can take as long as one that did.
//!
//! Both kinds of request wait until the same target: the one that sent pads too. The target is a
//! floor (`FLOOR`) that nothing a request does can move, raised only where sends here take longer
//! than two thirds of it on average (1.5 times the running mean). Below that, neither the first
//! requests of a new environment nor the request after a real send can be told apart: an estimate
//! that every real send moved would tell the next caller that the previous request sent something.
//! (Before, only the decoy was padded, to an estimate starting from a constant: a new environment's
//! first decoys were slower than its real sends.) A real send slower than the target shows through,
//! and where sends are slow enough to raise the target, a real send moves it: both are limits
//! (docs/limits.md).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Until the first real send is measured.
const INITIAL_MICROS: u64 = 60_000;
/// What every path of an endpoint that hides its case waits at least: above what an SMS or an email
/// send usually takes (SNS and SES answer in tens of milliseconds).
pub const FLOOR: Duration = Duration::from_millis(100);

/// One estimate per endpoint that hides which case it served: each imitates its own slowest path.
#[derive(Debug, Default)]
pub struct SendLatencies {
    /// A new (or pending) signup: the account transaction and the code SMS.
    pub signup: LatencyEstimate,
    /// A resend to a pending signup.
    pub resend: LatencyEstimate,
    /// A reset code to an account's phone.
    pub forgot: LatencyEstimate,
    /// A reset code to an account's confirmed address.
    pub forgot_email: LatencyEstimate,
    /// An email-first signup code to an address no account has.
    pub signup_email: LatencyEstimate,
    /// A code to a phone being added to an account.
    pub phone_add: LatencyEstimate,
    /// A code to the new number of an account changing its phone.
    pub phone_change: LatencyEstimate,
    /// A code to an account's phone from the account deletion page.
    pub deletion: LatencyEstimate,
    /// A step-up code to a signed-in account's confirmed phone.
    pub step_up: LatencyEstimate,
}

#[derive(Debug)]
pub struct LatencyEstimate {
    micros: AtomicU64,
}

impl Default for LatencyEstimate {
    fn default() -> Self {
        LatencyEstimate { micros: AtomicU64::new(INITIAL_MICROS) }
    }
}

impl LatencyEstimate {
    /// Folds in one measured send: an exponential moving average (weight 1/4) of samples clamped to
    /// within a factor of two of the estimate, so one slow outlier cannot drag every padded request.
    pub fn record(&self, took: Duration) {
        let sample = took.as_micros().min(u128::from(u64::MAX)) as u64;
        let _ = self.micros.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
            let clamped = sample.clamp(old / 2, old.saturating_mul(2));
            Some((old * 3 + clamped) / 4)
        });
    }

    pub fn estimate(&self) -> Duration {
        Duration::from_micros(self.micros.load(Ordering::Relaxed))
    }

    /// How long every path of the endpoint takes at least: `FLOOR`, or 1.5 times the estimate where
    /// sends here are slower than that allows.
    pub fn target(&self) -> Duration {
        self.estimate().mul_f64(1.5).max(FLOOR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_outlier_moves_the_estimate_by_a_quarter_at_most() {
        let estimate = LatencyEstimate::default();
        estimate.record(Duration::from_secs(5));
        let ms = estimate.estimate().as_secs_f64() * 1000.0;
        assert!((74.9..75.1).contains(&ms), "{ms}");
    }

    #[test]
    fn sends_faster_than_the_floor_do_not_move_the_target() {
        // GIVEN a fresh estimate, and real sends of 30 to 60 ms
        let estimate = LatencyEstimate::default();
        let before = estimate.target();
        // WHEN they are folded in
        for ms in [30, 60, 45, 30] {
            estimate.record(Duration::from_millis(ms));
        }
        // THEN the next request waits what the first did: the floor
        assert_eq!((before, estimate.target()), (FLOOR, FLOOR));
    }

    #[test]
    fn sends_slower_than_the_floor_allows_raise_the_target() {
        let estimate = LatencyEstimate::default();
        for _ in 0..40 {
            estimate.record(Duration::from_millis(200));
        }
        let ms = estimate.target().as_secs_f64() * 1000.0;
        assert!((295.0..305.0).contains(&ms), "{ms}");
    }

    #[test]
    fn converges_on_what_sends_take() {
        let estimate = LatencyEstimate::default();
        for _ in 0..40 {
            estimate.record(Duration::from_millis(8));
        }
        let ms = estimate.estimate().as_secs_f64() * 1000.0;
        assert!((7.9..8.5).contains(&ms), "{ms}");
    }
}
