//! A moment as a person reads it in a notice ("2 December 2026 at 14:05 UTC"), from Unix seconds,
//! without a calendar crate: the civil-from-days conversion of the proleptic Gregorian calendar.

use std::fmt;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A Unix time shown in UTC, to the minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcTime(pub i64);

impl UtcTime {
    /// (year, month 1-12, day 1-31) of the day holding this time (Howard Hinnant's `civil_from_days`).
    fn date(self) -> (i64, usize, i64) {
        let z = self.0.div_euclid(86_400) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        (year, month as usize, day)
    }
}

impl fmt::Display for UtcTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day) = self.date();
        let seconds = self.0.rem_euclid(86_400);
        let month = MONTHS.get(month.saturating_sub(1)).copied().unwrap_or("?");
        write!(f, "{day} {month} {year} at {:02}:{:02} UTC", seconds / 3600, seconds % 3600 / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::UtcTime;

    #[test]
    fn reads_like_a_calendar() {
        assert_eq!(UtcTime(0).to_string(), "1 January 1970 at 00:00 UTC");
        assert_eq!(UtcTime(951_782_400).to_string(), "29 February 2000 at 00:00 UTC");
        // 2026-12-02T14:05:59Z
        assert_eq!(UtcTime(1_796_220_359).to_string(), "2 December 2026 at 14:05 UTC");
        assert_eq!(UtcTime(4_133_980_740).to_string(), "31 December 2100 at 23:59 UTC");
    }
}
