//! How often one phone may be sent an SMS: a cooldown between sends and caps per hour and per day
//! (docs/targets.md). Pure arithmetic over the send log; the store makes reservations atomic.

/// The defaults are docs/targets.md's: 60 s cooldown, 5 an hour, 10 a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendLimits {
    pub cooldown_secs: i64,
    pub per_hour: usize,
    pub per_day: usize,
}

impl Default for SendLimits {
    fn default() -> Self {
        SendLimits { cooldown_secs: 60, per_hour: 5, per_day: 10 }
    }
}

const HOUR: i64 = 3600;
pub const DAY: i64 = 24 * HOUR;

/// The sends to one phone in the last day, with the version the store last wrote (0: never written).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendLog {
    /// Which log this is: a recipient's, or a sandbox partner's own log of that recipient.
    pub key: String,
    pub sent_at: Vec<i64>,
    pub version: u64,
}

/// A send that fits the limits, to be written only if the log is still at `expected_version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReservation {
    /// The log this send is written to.
    pub log: String,
    pub sent_at: Vec<i64>,
    pub expected_version: u64,
    pub at: i64,
}

impl SendReservation {
    pub fn new_version(&self) -> u64 {
        self.expected_version + 1
    }

    /// The log as it was before this send, for undoing it when the SMS could not be sent.
    pub fn released(&self) -> Vec<i64> {
        let mut sent = self.sent_at.clone();
        if let Some(pos) = sent.iter().rposition(|t| *t == self.at) {
            sent.remove(pos);
        }
        sent
    }
}

impl SendLog {
    /// A reservation for a send at `now`, or the seconds until one would fit.
    pub fn reserve(&self, now: i64, limits: &SendLimits) -> Result<SendReservation, u64> {
        let mut recent: Vec<i64> = self.sent_at.iter().copied().filter(|t| *t > now - DAY && *t <= now).collect();
        recent.sort_unstable();
        let wait = [
            recent.last().map_or(0, |last| last + limits.cooldown_secs - now),
            window_wait(&recent, now, HOUR, limits.per_hour),
            window_wait(&recent, now, DAY, limits.per_day),
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        if wait > 0 {
            return Err(wait as u64);
        }
        recent.push(now);
        Ok(SendReservation { log: self.key.clone(), sent_at: recent, expected_version: self.version, at: now })
    }
}

/// Seconds until fewer than `cap` sends fall inside the window ending at `now`.
fn window_wait(sorted: &[i64], now: i64, window: i64, cap: usize) -> i64 {
    let inside: Vec<i64> = sorted.iter().copied().filter(|t| *t > now - window).collect();
    if inside.len() < cap {
        return 0;
    }
    // The send that must age out is the one that leaves cap - 1 sends inside.
    inside[inside.len() - cap] + window - now
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000;

    fn send_all(times: &[i64]) -> SendLog {
        SendLog { key: "SMS:+447871234567".into(), sent_at: times.to_vec(), version: times.len() as u64 }
    }

    #[test]
    fn first_send_fits() {
        let r = SendLog::default().reserve(T0, &SendLimits::default()).unwrap();
        assert_eq!(r.sent_at, vec![T0]);
        assert_eq!(r.expected_version, 0);
        assert_eq!(r.new_version(), 1);
    }

    #[test]
    fn cooldown_says_how_long_to_wait() {
        let log = send_all(&[T0]);
        assert_eq!(log.reserve(T0 + 15, &SendLimits::default()), Err(45));
        assert!(log.reserve(T0 + 60, &SendLimits::default()).is_ok());
    }

    #[test]
    fn sixth_send_in_an_hour_waits_for_the_first_to_age_out() {
        let log = send_all(&[T0, T0 + 100, T0 + 200, T0 + 300, T0 + 400]);
        assert_eq!(log.reserve(T0 + 500, &SendLimits::default()), Err(3100));
        assert!(log.reserve(T0 + 3600, &SendLimits::default()).is_ok());
    }

    #[test]
    fn eleventh_send_in_a_day_waits_for_the_day_window() {
        let times: Vec<i64> = (0..10).map(|i| T0 + i * 2 * HOUR).collect();
        let log = send_all(&times);
        let now = T0 + 20 * HOUR;
        assert_eq!(log.reserve(now, &SendLimits::default()), Err(4 * HOUR as u64));
    }

    #[test]
    fn sends_older_than_a_day_are_dropped() {
        let log = send_all(&[T0 - DAY - 1, T0 - 10 * 60]);
        assert_eq!(log.reserve(T0, &SendLimits::default()).unwrap().sent_at, vec![T0 - 10 * 60, T0]);
    }

    #[test]
    fn release_undoes_only_this_send() {
        let r = send_all(&[T0]).reserve(T0 + 60, &SendLimits::default()).unwrap();
        assert_eq!(r.released(), vec![T0]);
    }
}
