//! A running estimate of how long a send takes in this process, so a request that must not reveal
//! whether it sent anything (forgot-password for an unknown phone) can take as long as one that did.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Until the first real send is measured.
const INITIAL_MICROS: u64 = 60_000;

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
    fn converges_on_what_sends_take() {
        let estimate = LatencyEstimate::default();
        for _ in 0..40 {
            estimate.record(Duration::from_millis(8));
        }
        let ms = estimate.estimate().as_secs_f64() * 1000.0;
        assert!((7.9..8.5).contains(&ms), "{ms}");
    }
}
