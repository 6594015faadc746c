//! Sumsub's verdict on an account's identity, as its webhooks report it, and the order in which
//! verdicts apply. Sumsub retries webhooks for up to a day and does not promise their order, so each
//! verdict carries the time Sumsub made it (`createdAtMs`) and only a strictly newer one replaces
//! the stored one: a retry of the same event, or an older review arriving after a newer one,
//! changes nothing.

/// Where an account's identity verification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewStatus {
    /// The user submitted documents and Sumsub is checking them (`applicantPending`).
    Pending,
    /// A final GREEN review: the account is KYC_1.
    Approved,
    /// RED with `reviewRejectType: RETRY`: the user may resubmit through the SDK.
    Retry,
    /// RED with `reviewRejectType: FINAL`: no further attempt through this service.
    Rejected,
}

impl ReviewStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Pending => "pending",
            ReviewStatus::Approved => "approved",
            ReviewStatus::Retry => "retry",
            ReviewStatus::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [ReviewStatus::Pending, ReviewStatus::Approved, ReviewStatus::Retry, ReviewStatus::Rejected]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// The newest verdict Sumsub sent for an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityReview {
    pub status: ReviewStatus,
    /// Sumsub's `rejectLabels` on a RED review (`UNSATISFACTORY_PHOTOS`, `FORGERY`, ...), kept as sent.
    pub reject_labels: Vec<String>,
    /// Sumsub's applicant id, to find the applicant in Sumsub's dashboard.
    pub applicant_id: String,
    /// When Sumsub made the verdict (the event's `createdAtMs`), in Unix milliseconds.
    pub event_at_ms: i64,
}

impl IdentityReview {
    /// The labels a user may see: only on a RETRY, where they say what to resubmit. A FINAL
    /// rejection's labels (`FORGERY`, `BLACKLIST`) are for the partner's staff, not for the
    /// person they describe; the account export carries them.
    pub fn labels_for_user(&self) -> &[String] {
        if self.status == ReviewStatus::Retry { &self.reject_labels } else { &[] }
    }
}

/// Sumsub's `createdAtMs`, `"2020-02-21 13:23:19.321"` (UTC, milliseconds optional), as Unix
/// milliseconds. `None` for anything else: an event that cannot be ordered is not applied.
pub fn parse_sumsub_time(text: &str) -> Option<i64> {
    let (date, time) = text.trim().split_once([' ', 'T'])?;
    let time = time.trim_end_matches('Z');
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, millis) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second) = (t.next()??, t.next()??, t.next()??);
    let millis: i64 = format!("{millis:0<3}").get(..3)?.parse().ok()?;
    let valid = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && (0..24).contains(&hour)
        && (0..60).contains(&minute)
        && (0..61).contains(&second);
    if !valid || !(1970..=9999).contains(&year) {
        return None;
    }
    Some((days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second) * 1000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sumsub_times_parse_to_unix_milliseconds() {
        assert_eq!(parse_sumsub_time("1970-01-01 00:00:00.000"), Some(0));
        assert_eq!(parse_sumsub_time("2020-02-21 13:23:19.321"), Some(1_582_291_399_321));
        assert_eq!(parse_sumsub_time("2020-02-21 13:23:19"), Some(1_582_291_399_000));
        assert_eq!(parse_sumsub_time("2020-02-21T13:23:19.3Z"), Some(1_582_291_399_300));
        for bad in ["", "yesterday", "2020-13-01 00:00:00", "2020-02-21", "2020-02-21 25:00:00", "1582291399321"] {
            assert_eq!(parse_sumsub_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_user_sees_reject_labels_only_when_they_may_resubmit() {
        let review = |status| IdentityReview {
            status,
            reject_labels: vec!["FORGERY".into()],
            applicant_id: "a".into(),
            event_at_ms: 1,
        };
        assert_eq!(review(ReviewStatus::Retry).labels_for_user(), ["FORGERY"]);
        assert!(review(ReviewStatus::Rejected).labels_for_user().is_empty());
    }
}
