//! `POST /v2/customer/factors/totp/verify` (bearer): `{factorId, code}`, a code from the app being
//! enrolled, makes it the account's second factor and answers the ten recovery codes, once.
//!
//! It needs the same recent `aal2` as the enrolment (decision 6 of docs/factors.md: what the start
//! checked is checked again here). The code is checked as every code is: an attempt spent before
//! it is compared (five per enrolment), a step the app's clock may be one off either way. The
//! factor is written only if the enrolment read is still the pending one, unexpired, and the
//! account still has no authenticator, so of two verifications in parallel exactly one succeeds
//! and the other answers `CODE_EXPIRED`. The owner is told on every confirmed contact.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

use super::super::notices::{SecurityEvent, confirmed_channels, notify};
use super::super::race_backoff;
use super::super::signed_in::{SignedIn, signed_in_to_enrol_for};
use super::sealed_recovery_set;
use crate::App;
use crate::admission::{RateClass, rate_limit};
use crate::domain::utc_time::UtcTime;
use crate::error::ApiError;
use crate::factors::step_up::Guarded;
use crate::factors::totp::{Authenticator, DIGITS, TotpSecret};
use crate::http::request::json_body;
use crate::http::response::{finish, json};
use crate::mail::Mailer;
use crate::ports::FactorKind;
use crate::ports::{AccountRecord, StoreError, TotpConfirmation};
use crate::security::access_token::AccessTokenVerifier;
use crate::webhooks::event::{AccountEvent, EventRecord};

/// Verifications that keep meeting transactions in flight on the account item before a 503.
const CONFIRM_TRIES: u64 = 3;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VerifyRequest {
    factor_id: String,
    code: String,
}

pub async fn handle(
    app: &App,
    verifier: &AccessTokenVerifier,
    mailer: &Mailer,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    finish("totp-verify", &req, verify(app, verifier, mailer, &req).await)
}

async fn verify(
    app: &App,
    verifier: &AccessTokenVerifier,
    mailer: &Mailer,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let SignedIn { caller, account, .. } =
        signed_in_to_enrol_for(app, verifier, req, Method::POST, Guarded::EnrolFactor).await?;
    rate_limit::check(app, &caller.client, RateClass::Verify).await?;
    let body: VerifyRequest = json_body(req)?;
    // As authenticator apps show it ("123 456"), or pasted with a line break.
    let code: String = body.code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::validation("code", "format", "The code is the 6 digits the authenticator app shows."));
    }
    if !caller.partner.second_factor.allows_enrolment() {
        return Err(ApiError::SecondFactorNotOffered);
    }
    if account.factors.has_second_factor() {
        return Err(ApiError::SecondFactorEnrolled);
    }
    let now = app.clock.now();
    let pending = account
        .factors
        .pending_totp
        .as_ref()
        .filter(|pending| pending.factor_id == body.factor_id && pending.expires_at > now)
        .ok_or(ApiError::CodeNoLongerValid)?;
    // Opened, and the recovery set sealed, before an attempt is spent: a KMS outage is not a wrong code.
    let secret = app.sealer.open(&account.user_id, &pending.sealed_secret).await?;
    let authenticator =
        Authenticator::new(&TotpSecret::from_bytes(&secret), "registration", "account").map_err(ApiError::Internal)?;
    let (set, shown) = sealed_recovery_set(app, &account, now).await?;
    let attempts_remaining = app
        .store
        .spend_enrolment_attempt(&account.user_id, &pending.factor_id, now)
        .await?
        .ok_or(ApiError::CodeNoLongerValid)?;
    let step = authenticator.accept(&code, now, None).ok_or(ApiError::CodeMismatch { attempts_remaining })?;
    confirm(app, &account, &pending.factor_id, step, set, now).await?;
    tracing::info!(user_id = %account.user_id, factor_id = %pending.factor_id, "authenticator enrolled");
    notify(app, mailer, &caller.partner, &confirmed_channels(&account), &SecurityEvent::AuthenticatorAdded, now).await;
    let codes: Vec<&str> = shown.iter().map(|code| code.as_str()).collect();
    Ok(json(
        200,
        &json!({
            "factorId": pending.factor_id,
            "type": "totp",
            "createdAt": UtcTime(now).rfc3339(),
            "recoveryCodes": codes,
        }),
    ))
}

/// The enrolment made the account's factor, with its recovery codes; `CODE_EXPIRED` if it is no
/// longer the pending one (verified in parallel, replaced, expired) or the account has one now.
async fn confirm(
    app: &App,
    account: &AccountRecord,
    factor_id: &str,
    step: i64,
    set: crate::ports::RecoverySet,
    now: i64,
) -> Result<(), ApiError> {
    // Each try numbers the partner's `account.factor_added` from the account as last read.
    let mut events_so_far = account.event_sequence;
    for round in 0..CONFIRM_TRIES {
        if round > 0 {
            race_backoff(round).await;
        }
        let added = AccountEvent::FactorAdded { factor: FactorKind::Totp };
        let events = vec![EventRecord::new(added, &account.user_id, &account.merchant_id, now, events_so_far + 1)];
        let recovery = Some(set.clone());
        let confirmation = TotpConfirmation { user_id: &account.user_id, factor_id, step, recovery, now, events };
        match app.store.confirm_totp(confirmation).await {
            Ok(()) => return Ok(()),
            Err(StoreError::Conflict) => {
                // Refused although the enrolment is still waiting: a transaction in flight on the
                // account item (a sign-in's challenge, a streak); worth another try.
                let current = app.store.account(&account.user_id).await?;
                let waiting = current.filter(|a| {
                    !a.factors.has_second_factor()
                        && a.factors
                            .pending_totp
                            .as_ref()
                            .is_some_and(|p| p.factor_id == factor_id && p.expires_at > now)
                });
                let Some(current) = waiting else { return Err(ApiError::CodeNoLongerValid) };
                events_so_far = current.event_sequence;
            }
            Err(other) => return Err(other.into()),
        }
    }
    tracing::warn!(rounds = CONFIRM_TRIES, "enrolment kept meeting transactions in flight");
    Err(ApiError::Unavailable)
}
