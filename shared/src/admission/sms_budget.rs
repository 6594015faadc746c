//! Each partner's daily SMS budget: one atomic counter per partner per UTC day. A send is charged
//! before it happens and refunded if it does not, so a spent budget means no more SMS that day.

use crate::App;
use crate::domain::partner::Partner;
use crate::error::ApiError;
use crate::ports::CounterKey;

const DAY: i64 = 24 * 3600;

/// The counter for the partner's UTC day holding `now`, and the seconds until that day ends.
pub fn day_counter(partner: &Partner, now: i64) -> (CounterKey, u64) {
    let day = now.div_euclid(DAY);
    let ends = (day + 1) * DAY;
    (CounterKey { name: format!("sms:{}:{day}", partner.id), expires_at: ends + DAY }, (ends - now).max(1) as u64)
}

/// Charges one SMS to the partner's budget for today.
pub async fn charge(app: &App, partner: &Partner) -> Result<CounterKey, ApiError> {
    let (key, retry_after) = day_counter(partner, app.clock.now());
    if app.counters.increment_below(&key, partner.daily_sms_budget.into()).await? {
        Ok(key)
    } else {
        tracing::warn!(partner = %partner.id, budget = partner.daily_sms_budget, "daily SMS budget spent");
        Err(ApiError::SmsBudgetExhausted { retry_after })
    }
}

/// Gives back a charge for an SMS that was never sent.
pub async fn refund(app: &App, key: &CounterKey) {
    if let Err(err) = app.counters.decrement(key).await {
        tracing::warn!(error = %err, "could not refund an SMS budget charge");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::partner::test_partner;

    #[test]
    fn one_counter_per_partner_per_utc_day() {
        let partner = test_partner();
        let midnight = 20_000 * DAY;
        let (a, wait) = day_counter(&partner, midnight + 10);
        let (b, _) = day_counter(&partner, midnight + DAY - 1);
        let (c, _) = day_counter(&partner, midnight + DAY);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(wait, (DAY - 10) as u64);
    }
}
