//! Sign-in back-off (docs/targets.md): after 5 failures in a row, each further failure doubles the wait,
//! from 30 s up to 15 minutes. The wait always ends, so nobody can lock an account for good by
//! guessing at it; a success clears it. One streak is kept per phone or address whether or not an
//! account exists, so unknown identifiers are throttled exactly like known ones, and one per
//! account (`handlers::password_check` counts every check in both).

pub const FREE_FAILURES: u32 = 5;
const FIRST_WAIT_SECS: i64 = 30;
pub const MAX_WAIT_SECS: i64 = 15 * 60;
/// A failure streak older than this is forgotten.
pub const STREAK_TTL_SECS: i64 = 24 * 3600;

/// The failure streak of one phone, with the version the store last wrote (0: never written).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SigninBackoff {
    pub failures: u32,
    pub blocked_until: i64,
    pub version: u64,
    /// When the streak is forgotten (0: never written). The table's TTL deletes late; this decides.
    pub forgotten_at: i64,
}

impl SigninBackoff {
    /// The streak as it stands at `now`: one whose last failure is a day old counts for nothing.
    pub fn as_of(self, now: i64) -> SigninBackoff {
        if self.forgotten_at != 0 && self.forgotten_at <= now {
            SigninBackoff { failures: 0, blocked_until: 0, ..self }
        } else {
            self
        }
    }

    /// Seconds to wait before another attempt may be checked, if any.
    pub fn wait(&self, now: i64) -> Option<u64> {
        (self.blocked_until > now).then(|| (self.blocked_until - now) as u64)
    }

    /// The streak after one more failure at `now`.
    pub fn after_failure(&self, now: i64) -> SigninBackoff {
        let failures = self.failures.saturating_add(1);
        let blocked_until = if failures >= FREE_FAILURES {
            let doublings = (failures - FREE_FAILURES).min(16);
            now + (FIRST_WAIT_SECS << doublings).min(MAX_WAIT_SECS)
        } else {
            0
        };
        SigninBackoff { failures, blocked_until, version: self.version + 1, forgotten_at: now + STREAK_TTL_SECS }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_failures_cost_nothing_the_fifth_blocks_for_30_seconds() {
        let mut streak = SigninBackoff::default();
        for _ in 0..4 {
            streak = streak.after_failure(1000);
            assert_eq!(streak.wait(1000), None);
        }
        streak = streak.after_failure(1000);
        assert_eq!(streak.wait(1000), Some(30));
        assert_eq!(streak.wait(1030), None);
    }

    #[test]
    fn waits_double_and_are_capped_at_fifteen_minutes() {
        let mut streak = SigninBackoff { failures: 5, blocked_until: 0, version: 5, forgotten_at: 0 };
        let mut waits = Vec::new();
        for _ in 0..8 {
            streak = streak.after_failure(0);
            waits.push(streak.wait(0).unwrap());
        }
        assert_eq!(waits, [60, 120, 240, 480, 900, 900, 900, 900]);
        assert_eq!(streak.version, 13);
    }

    #[test]
    fn a_day_without_failures_forgets_the_streak_but_keeps_the_version() {
        let mut streak = SigninBackoff::default();
        for _ in 0..7 {
            streak = streak.after_failure(0);
        }
        assert_eq!(streak.as_of(STREAK_TTL_SECS - 1).failures, 7);
        let forgotten = streak.as_of(STREAK_TTL_SECS);
        assert_eq!((forgotten.failures, forgotten.blocked_until, forgotten.version), (0, 0, 7));
        assert_eq!(forgotten.after_failure(STREAK_TTL_SECS).wait(STREAK_TTL_SECS), None);
    }
}
