//! `POST /v2/webhooks/sumsub/{partnerId}`: Sumsub's user verification webhooks for one partner.
//!
//! Authentic means the body's digest (`X-Payload-Digest`, with the algorithm in
//! `X-Payload-Digest-Alg`) verifies, in constant time over the raw bytes, under the partner's
//! webhook secret. Anything else is 401 `WEBHOOK_SIGNATURE_INVALID` and changes nothing; so is a
//! partner that is unknown, disabled or without Sumsub, so the answer does not tell which.
//!
//! An authentic event answers 200, `{"result": "applied"}` or `{"result": "ignored", "reason"}`,
//! so Sumsub stops retrying it: a reason is malformed, an event type not acted on, another level,
//! a Sumsub sandbox event for a live partner, an applicant who is no user of this partner, a
//! stale event (the same one again, or older than the recorded verdict; see `identity_review`), or
//! one dated more than 5 minutes ahead of this service's clock (`future`: it would outrank every
//! real verdict after it).
//! `applicantReviewed` GREEN makes the account KYC_1 (if it is KYC_0), RED RETRY lets the user
//! resubmit, RED FINAL rejects; `applicantPending` shows the review under way.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;

use super::race_backoff;
use crate::App;
use crate::app::SumsubClients;
use crate::domain::sumsub::{Ignored, WebhookEvent};
use crate::error::ApiError;
use crate::http::request::require_method;
use crate::http::response::{finish, json};
use crate::ports::AccountRecord;
use crate::ports::StoreError;
use crate::security::sumsub_signature::{DigestAlgorithm, digest_matches};
use crate::webhooks::event::{AccountEvent, EventRecord};

/// Sumsub's payloads are a few kilobytes; anything far larger is not one of them.
pub const MAX_WEBHOOK_BYTES: usize = 64 * 1024;

pub async fn handle(app: &App, sumsub: &SumsubClients, req: Request) -> Result<Response<Body>, Infallible> {
    finish("sumsub-webhook", &req, webhook(app, sumsub, &req).await)
}

/// The `{partnerId}` of the path: API Gateway's path parameter, or the last segment where a local
/// router sends none.
fn partner_id(req: &Request) -> Option<String> {
    let parameter = req.path_parameters_ref().and_then(|p| p.first("partnerId")).map(str::to_owned);
    let text = parameter.or_else(|| req.uri().path().rsplit('/').next().map(str::to_owned))?;
    uuid::Uuid::try_parse(&text).ok().map(|u| u.hyphenated().to_string())
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn webhook(app: &App, sumsub: &SumsubClients, req: &Request) -> Result<Response<Body>, ApiError> {
    require_method(req, Method::POST)?;
    let body: &[u8] = req.body().as_ref();
    if body.len() > MAX_WEBHOOK_BYTES {
        return Err(ApiError::PayloadTooLarge { limit: MAX_WEBHOOK_BYTES });
    }
    let partner_id = partner_id(req).ok_or(ApiError::WebhookSignature("no partner id in the path"))?;
    let partner = app.partners.get(&partner_id).await?.ok_or(ApiError::WebhookSignature("unknown partner"))?;
    if !partner.is_active() {
        return Err(ApiError::WebhookSignature("partner disabled"));
    }
    let settings = partner.sumsub.as_ref().ok_or(ApiError::WebhookSignature("Sumsub is off for the partner"))?;
    let algorithm = DigestAlgorithm::parse(header(req, "X-Payload-Digest-Alg"))
        .ok_or(ApiError::WebhookSignature("missing or refused X-Payload-Digest-Alg"))?;
    let digest = header(req, "X-Payload-Digest").ok_or(ApiError::WebhookSignature("no X-Payload-Digest"))?;
    let credentials = sumsub.secrets.sumsub_credentials(&settings.credentials_arn).await.map_err(|err| {
        tracing::error!(merchant_id = %partner.id, error = %err, "Sumsub webhook secret unreadable");
        ApiError::Unavailable
    })?;
    if !digest_matches(&credentials.webhook_secret, algorithm, body, digest) {
        return Err(ApiError::WebhookSignature("digest mismatch"));
    }
    let outcome = apply(app, &partner.id, settings, body).await?;
    Ok(json(200, &outcome))
}

async fn apply(
    app: &App,
    merchant_id: &str,
    settings: &crate::domain::sumsub::SumsubSettings,
    body: &[u8],
) -> Result<serde_json::Value, ApiError> {
    let ignored = |reason: Ignored, kind: &str| {
        tracing::info!(merchant_id, event = kind, reason = reason.as_str(), "Sumsub webhook ignored");
        json!({ "result": "ignored", "reason": reason.as_str() })
    };
    let Ok(event) = serde_json::from_slice::<WebhookEvent>(body) else {
        return Ok(ignored(Ignored::Malformed, "-"));
    };
    let now_ms = app.clock.now().saturating_mul(1000);
    let review = match event.review(settings, now_ms) {
        Ok(review) => review,
        Err(reason) => return Ok(ignored(reason, &event.kind)),
    };
    let user_id = event.external_user_id.as_deref().and_then(|r| r.strip_prefix("usr:")).unwrap_or_default();
    if user_id.is_empty() {
        return Ok(ignored(Ignored::UnknownApplicant, &event.kind));
    }
    for round in 0..RECORD_TRIES {
        if round > 0 {
            race_backoff(round).await;
        }
        // Read on every try: the partner's `account.kyc_level_changed` (if the verdict moves the level
        // shown) is numbered from the account as read, and a newer verdict already kept makes this
        // one stale.
        let account = match app.store.account(user_id).await? {
            Some(account) if account.merchant_id == merchant_id => account,
            _ => return Ok(ignored(Ignored::UnknownApplicant, &event.kind)),
        };
        if account.identity_review.as_ref().is_some_and(|kept| kept.event_at_ms >= review.event_at_ms) {
            return Ok(ignored(Ignored::Stale, &event.kind));
        }
        let after = AccountRecord { identity_review: Some(review.clone()), ..account.clone() };
        let moved = (after.shown_kyc_level() != account.shown_kyc_level()).then(|| AccountEvent::KycLevelChanged {
            level: after.shown_kyc_level(),
            previous: account.shown_kyc_level(),
        });
        let events = EventRecord::after(&account, moved, app.clock.now());
        let version = account.profile_version;
        match app.store.record_identity_review(user_id, merchant_id, &review, version, &events).await {
            Ok(()) => {
                tracing::info!(merchant_id, user_id, event = %event.kind, verdict = review.status.as_str(), "Sumsub verdict recorded");
                return Ok(json!({ "result": "applied", "verification": review.status.as_str() }));
            }
            // A newer verdict, or another change to the account, landed since the read: read again.
            Err(StoreError::Conflict) => {}
            Err(other) => return Err(other.into()),
        }
    }
    // Still refused after reading anew each time: Sumsub retries a non-2xx answer later.
    Err(ApiError::Unavailable)
}

/// Tries to record a verdict while other changes to the account keep landing first.
const RECORD_TRIES: u64 = 3;
