//! A partner's Sumsub settings and the events Sumsub's webhooks carry.
//!
//! Modes: `off` (no `SumsubSettings`), `sandbox` (this service answers in Sumsub's place and never
//! calls it; the partner's tests send the webhooks) and `live` (SDK tokens come from Sumsub's API,
//! verdicts from its signed webhooks). A live partner may use a Sumsub sandbox app token (`sbx:`)
//! while it integrates; Sumsub then marks its events `sandboxMode: true`.

use std::fmt;

use serde::Deserialize;
use zeroize::Zeroizing;

use super::identity_review::{IdentityReview, ReviewStatus, parse_sumsub_time};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SumsubMode {
    Sandbox,
    Live,
}

impl SumsubMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SumsubMode::Sandbox => "sandbox",
            SumsubMode::Live => "live",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "sandbox" => Some(SumsubMode::Sandbox),
            "live" => Some(SumsubMode::Live),
            _ => None,
        }
    }
}

/// What the registry keeps about a partner's Sumsub integration. The app secret and the webhook
/// secret are not here: they live in a Secrets Manager secret, which `credentials_arn` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumsubSettings {
    pub mode: SumsubMode,
    /// The verification level users go through (`levelName` in Sumsub's dashboard).
    pub level_name: String,
    /// Sumsub's app token (`X-App-Token`); live mode only. It names the app, the secret proves it.
    pub app_token: Option<String>,
    pub credentials_arn: String,
}

pub const MAX_LEVEL_NAME_LEN: usize = 100;

impl SumsubSettings {
    pub fn validate(&self) -> Result<(), String> {
        let level = &self.level_name;
        if level.is_empty() || level.len() > MAX_LEVEL_NAME_LEN || !level.chars().all(|c| c.is_ascii_graphic()) {
            return Err(format!("Sumsub level name must be 1 to {MAX_LEVEL_NAME_LEN} visible ASCII characters"));
        }
        match (&self.app_token, self.mode) {
            (None, SumsubMode::Live) => Err("live Sumsub mode needs an app token (--app-token)".into()),
            (Some(token), _) if token.is_empty() || !token.chars().all(|c| c.is_ascii_graphic()) => {
                Err("the Sumsub app token must be visible ASCII characters".into())
            }
            _ if !self.credentials_arn.starts_with("arn:") => Err("the credentials secret must be an ARN".into()),
            _ => Ok(()),
        }
    }

    /// Whether the app token is one of Sumsub's sandbox tokens (`sbx:`), whose events are test events.
    pub fn uses_sumsub_sandbox(&self) -> bool {
        self.app_token.as_deref().is_some_and(|t| t.starts_with("sbx:"))
    }
}

/// The two secrets of a partner's integration, as its Secrets Manager secret holds them (JSON with
/// `appSecret` and `webhookSecret`). Never printed by `Debug`.
#[derive(Clone, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SumsubCredentials {
    /// Signs requests to Sumsub's API; absent in sandbox mode.
    #[serde(default)]
    pub app_secret: Option<Zeroizing<String>>,
    /// Signs Sumsub's webhooks to us (the "Secret key" of the webhook in Sumsub's dashboard).
    pub webhook_secret: Zeroizing<String>,
}

impl SumsubCredentials {
    /// The secret's JSON; `None` if it is not Sumsub credentials.
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}

impl fmt::Debug for SumsubCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SumsubCredentials(<redacted>)")
    }
}

/// A webhook's body, as far as this service reads it (Sumsub's user verification webhooks).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEvent {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub applicant_id: Option<String>,
    #[serde(default)]
    pub external_user_id: Option<String>,
    #[serde(default)]
    pub level_name: Option<String>,
    #[serde(default)]
    pub created_at_ms: Option<String>,
    #[serde(default)]
    pub sandbox_mode: Option<bool>,
    #[serde(default)]
    pub review_result: Option<ReviewResult>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewResult {
    pub review_answer: String,
    #[serde(default)]
    pub review_reject_type: Option<String>,
    #[serde(default)]
    pub reject_labels: Vec<String>,
}

/// Why an authentic event changes nothing. Each is answered 200, so Sumsub does not retry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// Not JSON, or not shaped as Sumsub's events are.
    Malformed,
    /// An event type this service does not act on (`applicantCreated`, `applicantOnHold`, ...).
    EventType,
    /// A review at another level than the partner's.
    OtherLevel,
    /// A Sumsub sandbox event sent to a live partner that uses a production app token.
    SandboxEvent,
    /// No account of this partner has the event's `externalUserId`.
    UnknownApplicant,
    /// The same event again, or one older than the verdict already recorded.
    Stale,
    /// Dated more than `FUTURE_ALLOWANCE_MS` ahead of this service's clock: a verdict from the
    /// future would outrank every real one after it (each must be newer than the recorded one).
    Future,
}

/// How far ahead of this service's clock a webhook's `createdAtMs` may be and still count: clocks
/// drift a little, a verdict never comes from later than that.
pub const FUTURE_ALLOWANCE_MS: i64 = 5 * 60 * 1000;

impl Ignored {
    pub fn as_str(self) -> &'static str {
        match self {
            Ignored::Malformed => "malformed",
            Ignored::EventType => "event_type",
            Ignored::OtherLevel => "other_level",
            Ignored::SandboxEvent => "sandbox_event",
            Ignored::UnknownApplicant => "unknown_applicant",
            Ignored::Stale => "stale",
            Ignored::Future => "future",
        }
    }
}

impl WebhookEvent {
    /// The verdict this event carries for `settings`' partner, or why it carries none; `now_ms` is
    /// this service's clock, which the event's time may not be far ahead of.
    pub fn review(&self, settings: &SumsubSettings, now_ms: i64) -> Result<IdentityReview, Ignored> {
        let status = match (self.kind.as_str(), &self.review_result) {
            ("applicantPending", _) => ReviewStatus::Pending,
            ("applicantReviewed", Some(result)) => {
                match (result.review_answer.as_str(), result.review_reject_type.as_deref()) {
                    ("GREEN", _) => ReviewStatus::Approved,
                    ("RED", Some("RETRY")) => ReviewStatus::Retry,
                    ("RED", Some("FINAL")) => ReviewStatus::Rejected,
                    _ => return Err(Ignored::Malformed),
                }
            }
            ("applicantReviewed", None) => return Err(Ignored::Malformed),
            _ => return Err(Ignored::EventType),
        };
        if self.level_name.as_deref() != Some(settings.level_name.as_str()) {
            return Err(Ignored::OtherLevel);
        }
        if settings.mode == SumsubMode::Live && self.sandbox_mode == Some(true) && !settings.uses_sumsub_sandbox() {
            return Err(Ignored::SandboxEvent);
        }
        let event_at_ms = self.created_at_ms.as_deref().and_then(parse_sumsub_time).ok_or(Ignored::Malformed)?;
        if event_at_ms > now_ms.saturating_add(FUTURE_ALLOWANCE_MS) {
            return Err(Ignored::Future);
        }
        let applicant_id = self.applicant_id.clone().filter(|id| !id.is_empty()).ok_or(Ignored::Malformed)?;
        let reject_labels = match (&self.review_result, status) {
            (Some(result), ReviewStatus::Retry | ReviewStatus::Rejected) => result.reject_labels.clone(),
            _ => Vec::new(),
        };
        Ok(IdentityReview { status, reject_labels, applicant_id, event_at_ms })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(mode: SumsubMode, token: Option<&str>) -> SumsubSettings {
        SumsubSettings {
            mode,
            level_name: "basic-kyc-level".into(),
            app_token: token.map(str::to_owned),
            credentials_arn: "arn:aws:secretsmanager:eu-west-1:1:secret:x".into(),
        }
    }

    fn event(json: &str) -> WebhookEvent {
        serde_json::from_str(json).expect("event")
    }

    const GREEN: &str = r#"{"applicantId":"5cb56e8e0a975a35f333cb83","inspectionId":"5cb56e8e0a975a35f333cb84",
        "correlationId":"req-a260b669","externalUserId":"usr:1","levelName":"basic-kyc-level",
        "type":"applicantReviewed","reviewResult":{"reviewAnswer":"GREEN"},"reviewStatus":"completed",
        "createdAtMs":"2020-02-21 13:23:19.321","sandboxMode":true}"#;

    /// 2026-12-02 12:00:00 UTC: after every event above.
    const NOW: i64 = 1_796_212_800_000;

    #[test]
    fn reviews_dated_ahead_of_the_clock_by_more_than_the_allowance_are_refused() {
        // GIVEN the service's clock at 12:00:00 and reviews dated around and far after it
        let sandbox = settings(SumsubMode::Sandbox, None);
        let at = |text: &str| event(&GREEN.replace("2020-02-21 13:23:19.321", text));
        assert_eq!(crate::domain::identity_review::parse_sumsub_time("2026-12-02 12:00:00.000"), Some(NOW));
        // THEN up to 5 minutes ahead counts, a millisecond more or the year 9999 does not
        assert!(at("2026-12-02 12:05:00.000").review(&sandbox, NOW).is_ok());
        assert_eq!(at("2026-12-02 12:05:00.001").review(&sandbox, NOW), Err(Ignored::Future));
        assert_eq!(at("9999-12-31 23:59:59.999").review(&sandbox, NOW), Err(Ignored::Future));
        // AND a clock at the end of time does not overflow
        assert!(at("9999-12-31 23:59:59.999").review(&sandbox, i64::MAX).is_ok());
    }

    #[test]
    fn reviews_map_to_verdicts() {
        let live = settings(SumsubMode::Live, Some("sbx:abc"));
        assert_eq!(event(GREEN).review(&live, NOW).map(|r| r.status), Ok(ReviewStatus::Approved));
        let red = GREEN.replace(
            r#"{"reviewAnswer":"GREEN"}"#,
            r#"{"reviewAnswer":"RED","reviewRejectType":"FINAL","rejectLabels":["FORGERY"]}"#,
        );
        let review = event(&red).review(&live, NOW).expect("review");
        assert_eq!((review.status, review.reject_labels), (ReviewStatus::Rejected, vec!["FORGERY".to_owned()]));
        let retry = red.replace("FINAL", "RETRY");
        assert_eq!(event(&retry).review(&live, NOW).map(|r| r.status), Ok(ReviewStatus::Retry));
        let pending = GREEN.replace("applicantReviewed", "applicantPending");
        assert_eq!(event(&pending).review(&live, NOW).map(|r| r.status), Ok(ReviewStatus::Pending));
    }

    #[test]
    fn events_that_cannot_apply_say_why() {
        let live = settings(SumsubMode::Live, Some("prd:abc"));
        assert_eq!(event(GREEN).review(&live, NOW), Err(Ignored::SandboxEvent));
        let sandbox = settings(SumsubMode::Sandbox, None);
        assert!(event(GREEN).review(&sandbox, NOW).is_ok());
        let other = GREEN.replace("basic-kyc-level", "advanced");
        assert_eq!(event(&other).review(&sandbox, NOW), Err(Ignored::OtherLevel));
        let created = GREEN.replace("applicantReviewed", "applicantCreated");
        assert_eq!(event(&created).review(&sandbox, NOW), Err(Ignored::EventType));
        let untimed = GREEN.replace("2020-02-21 13:23:19.321", "soon");
        assert_eq!(event(&untimed).review(&sandbox, NOW), Err(Ignored::Malformed));
        let yellow = GREEN.replace("GREEN", "YELLOW");
        assert_eq!(event(&yellow).review(&sandbox, NOW), Err(Ignored::Malformed));
    }

    #[test]
    fn settings_refuse_what_cannot_work() {
        assert!(settings(SumsubMode::Live, None).validate().is_err());
        assert!(settings(SumsubMode::Sandbox, None).validate().is_ok());
        assert!(SumsubSettings { level_name: "a b".into(), ..settings(SumsubMode::Sandbox, None) }.validate().is_err());
        let credentials = SumsubCredentials { app_secret: None, webhook_secret: Zeroizing::new("s3cret".into()) };
        assert!(!format!("{credentials:?}").contains("s3cret"));
    }
}
