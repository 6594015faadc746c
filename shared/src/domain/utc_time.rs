//! A moment in UTC as a person reads it in a notice ("2 December 2026 at 14:05 UTC") and as an API
//! writes it (RFC 3339), from Unix seconds.

use std::fmt;

use super::personal_details::civil_date;

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
    /// `2026-12-02T08:31:23Z`, for APIs and exports.
    pub fn rfc3339(self) -> String {
        let (year, month, day) = civil_date(self.0);
        let secs = self.0.rem_euclid(86_400);
        format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
    }
}

impl fmt::Display for UtcTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day) = civil_date(self.0);
        let seconds = self.0.rem_euclid(86_400);
        let month = MONTHS.get((month as usize).saturating_sub(1)).copied().unwrap_or("?");
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

    #[test]
    fn rfc_3339_in_utc() {
        assert_eq!(UtcTime(0).rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(UtcTime(1_796_200_283).rfc3339(), "2026-12-02T08:31:23Z");
    }
}
