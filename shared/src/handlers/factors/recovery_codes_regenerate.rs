//! `POST /v2/customer/factors/recovery-codes` (bearer): ten new recovery codes, shown once, which
//! replace the whole set (the old codes stop working at once). For an account with a second
//! factor; one without gets 404 `FACTOR_NOT_FOUND` (its codes come with its first factor).
//!
//! It needs `aal2` reached in the last five minutes with the factor or a recovery code, like every
//! factor operation. The set is replaced only if it is still the one read; one that changed
//! meanwhile (a parallel regeneration) is read again and replaced in turn, so of two regenerations
//! in parallel both answer codes and only those of the one that wrote last work (each is
//! harmless: the owner asked for new codes twice, and is told twice). The owner is
//! told on every confirmed contact.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::super::notices::{SecurityEvent, confirmed_channels, notify};
use super::super::race_backoff;
use super::super::signed_in::{SignedIn, signed_in_for};
use super::sealed_recovery_set;
use crate::App;
use crate::domain::utc_time::UtcTime;
use crate::error::ApiError;
use crate::factors::step_up::Guarded;
use crate::http::response::{finish, json};
use crate::mail::Mailer;
use crate::ports::StoreError;
use crate::security::access_token::AccessTokenVerifier;
use crate::webhooks::event::{AccountEvent, EventRecord};

/// Replacements that keep meeting a set changed meanwhile or transactions in flight before a 503.
const REPLACE_TRIES: u64 = 3;

pub async fn handle(
    app: &App,
    verifier: &AccessTokenVerifier,
    mailer: &Mailer,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    finish("recovery-codes-regenerate", &req, regenerate(app, verifier, mailer, &req).await)
}

async fn regenerate(
    app: &App,
    verifier: &AccessTokenVerifier,
    mailer: &Mailer,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let SignedIn { caller, mut account, .. } =
        signed_in_for(app, verifier, req, Method::POST, Guarded::RegenerateRecoveryCodes).await?;
    let now = app.clock.now();
    for round in 0..REPLACE_TRIES {
        if round > 0 {
            race_backoff(round).await;
        }
        if !account.factors.has_second_factor() {
            return Err(ApiError::FactorNotFound);
        }
        let (set, shown) = sealed_recovery_set(app, &account, now).await?;
        let replaced = account.factors.recovery.as_ref().map(|set| set.set_id.as_str());
        let events = EventRecord::after(&account, [AccountEvent::RecoveryCodesReplaced], now);
        match app.store.replace_recovery_set(&account.user_id, replaced, &set, &events).await {
            Ok(()) => {
                tracing::info!(user_id = %account.user_id, set_id = %set.set_id, "recovery codes replaced");
                let event = SecurityEvent::RecoveryCodesReplaced;
                notify(app, mailer, &caller.partner, &confirmed_channels(&account), &event, now).await;
                let codes: Vec<&str> = shown.iter().map(|code| code.as_str()).collect();
                return Ok(json(200, &json!({ "createdAt": UtcTime(now).rfc3339(), "recoveryCodes": codes })));
            }
            // The set changed (a code used, a parallel regeneration), the factor went, or a
            // transaction in flight: read the account again and make the set for what is there.
            Err(StoreError::Conflict) => {
                account = app.store.account(&account.user_id).await?.ok_or(ApiError::FactorNotFound)?;
            }
            Err(other) => return Err(other.into()),
        }
    }
    tracing::warn!(rounds = REPLACE_TRIES, "recovery codes kept changing under a regeneration");
    Err(ApiError::Unavailable)
}
