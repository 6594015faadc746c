//! Per-source-IP limits (docs/targets.md, after Supabase): fixed five-minute windows counted atomically in
//! the table. The count is taken before the request is looked at, so it is the same for known and
//! unknown phone numbers.

use std::net::IpAddr;

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::App;
use crate::error::ApiError;
use crate::ports::CounterKey;

/// Which budget a request draws on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateClass {
    /// Signup, resend, forgot: each may send an SMS.
    Send,
    /// Phone confirm, password reset, sign-in: each checks a secret.
    Verify,
    /// Refresh and revoke.
    Refresh,
    /// Phone add, email add and email resend: a signed-in user sending to a phone or a mailbox.
    Contact,
}

impl RateClass {
    fn as_str(self) -> &'static str {
        match self {
            RateClass::Send => "send",
            RateClass::Verify => "verify",
            RateClass::Refresh => "refresh",
            RateClass::Contact => "contact",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub window_secs: i64,
    pub send: u64,
    pub verify: u64,
    pub refresh: u64,
    pub contact: u64,
    /// Different phones one account may be sent codes to in a UTC day (phone add).
    pub phones_per_account: u64,
    /// Different mailboxes one account may be sent links to in a UTC day (email add).
    pub emails_per_account: u64,
}

impl Default for RateLimits {
    /// Per IP per 5 minutes: 30 sends, 30 verifications, 150 refreshes (after Supabase), and 10
    /// sends by signed-in users to new contacts. Per account per day: 3 new phones, 3 new mailboxes,
    /// so one account can neither spend a partner's SMS budget nor burn the sender's reputation.
    fn default() -> Self {
        RateLimits {
            window_secs: 300,
            send: 30,
            verify: 30,
            refresh: 150,
            contact: 10,
            phones_per_account: 3,
            emails_per_account: 3,
        }
    }
}

impl RateLimits {
    fn limit(&self, class: RateClass) -> u64 {
        match class {
            RateClass::Send => self.send,
            RateClass::Verify => self.verify,
            RateClass::Refresh => self.refresh,
            RateClass::Contact => self.contact,
        }
    }

    /// The counter for `class` from `client` in the window holding `now`, and when that window ends.
    pub fn window(&self, class: RateClass, client: &str, now: i64) -> (CounterKey, i64) {
        let index = now.div_euclid(self.window_secs);
        let ends = (index + 1) * self.window_secs;
        let key = CounterKey { name: format!("ip:{}:{client}:{index}", class.as_str()), expires_at: ends + 60 };
        (key, ends)
    }
}

/// The caller's address as API Gateway saw it, as `address_key` counts it.
pub fn client_address(req: &Request) -> String {
    let source = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        _ => None,
    };
    match source.as_deref().map(str::parse::<IpAddr>) {
        Some(Ok(ip)) => address_key(ip),
        _ => "unknown".to_owned(),
    }
}

/// What the limits count for `ip`. IPv6 clients are counted per /64, the block one subscriber
/// usually holds, so rotating addresses inside it does not reset the count.
pub fn address_key(ip: IpAddr) -> String {
    // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is its IPv4 client, not one of a shared /64.
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// Counts this request of `client` (`Caller::client`, or `client_address` where no partner is
/// identified) against its class; 429 with the seconds left in the window when over.
pub async fn check(app: &App, client: &str, class: RateClass) -> Result<(), ApiError> {
    let now = app.clock.now();
    let (key, ends) = app.rate_limits.window(class, client, now);
    if app.counters.increment_below(&key, app.rate_limits.limit(class)).await? {
        Ok(())
    } else {
        tracing::info!(class = class.as_str(), "per-IP rate limit reached");
        Err(ApiError::TooManyRequests { retry_after: (ends - now).max(1) as u64 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_aligned_and_say_when_they_end() {
        let limits = RateLimits::default();
        let (a, ends) = limits.window(RateClass::Send, "192.0.2.1", 1_000_000_001);
        let (b, _) = limits.window(RateClass::Send, "192.0.2.1", 1_000_000_199);
        let (c, _) = limits.window(RateClass::Send, "192.0.2.1", 1_000_000_200);
        let (d, _) = limits.window(RateClass::Verify, "192.0.2.1", 1_000_000_001);
        assert_eq!(ends, 1_000_000_200);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a.name, d.name);
    }

    fn request_from(ip: &str) -> Request {
        let event = include_str!("../../../events/signup.json").replace("203.0.113.10", ip);
        lambda_http::request::from_str(&event).unwrap()
    }

    #[test]
    fn ipv6_clients_count_per_64() {
        assert_eq!(client_address(&request_from("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
        assert_eq!(client_address(&request_from("2001:db8:1:2:bbbb::9")), "2001:db8:1:2::/64");
        assert_eq!(client_address(&request_from("203.0.113.9")), "203.0.113.9");
        assert_eq!(client_address(&request_from("not an ip")), "unknown");
    }

    #[test]
    fn an_ipv4_mapped_address_is_counted_as_its_ipv4_client() {
        assert_eq!(client_address(&request_from("::ffff:203.0.113.9")), "203.0.113.9");
        assert_ne!(
            client_address(&request_from("::ffff:198.51.100.1")),
            client_address(&request_from("::ffff:203.0.113.9"))
        );
    }
}
