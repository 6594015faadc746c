//! `DELETE /v2/customer/factors/{id}` (bearer): removes the second factor `id` (the authenticator
//! app, or the codes by SMS) and, with it, the recovery codes (they stand in for a factor the
//! account no longer has); the password alone signs in again. 204, or 404 `FACTOR_NOT_FOUND` for an
//! id that is not the account's.
//!
//! It needs `aal2` reached in the last five minutes with that factor or a recovery code (on an
//! authenticator's account a code to the phone is not enough: a SIM swap and the password would
//! remove the factor). A user who lost
//! the app steps up with a recovery code, removes it and enrols anew. The deletion page's code,
//! which the page refused because of the factor and left unused, dies with it: it would delete
//! the account on an SMS code alone once the factor is gone. The owner is told on every contact.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};

use super::super::notices::{SecurityEvent, confirmed_channels, notify};
use super::super::race_backoff;
use super::super::signed_in::{SignedIn, signed_in_for};
use crate::App;
use crate::error::ApiError;
use crate::factors::step_up::Guarded;
use crate::http::request::path_id;
use crate::http::response::{finish, no_content};
use crate::mail::Mailer;
use crate::ports::{FactorKind, FactorRemoval, StoreError};
use crate::security::access_token::AccessTokenVerifier;
use crate::webhooks::event::{AccountEvent, EventRecord, RemovedBy};

/// Removals that keep meeting transactions in flight on the account item before a 503.
const REMOVE_TRIES: u64 = 3;

pub async fn handle(
    app: &App,
    verifier: &AccessTokenVerifier,
    mailer: &Mailer,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    finish("factor-remove", &req, remove(app, verifier, mailer, &req).await)
}

async fn remove(
    app: &App,
    verifier: &AccessTokenVerifier,
    mailer: &Mailer,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let SignedIn { caller, account, .. } =
        signed_in_for(app, verifier, req, Method::DELETE, Guarded::RemoveFactor).await?;
    let id = path_id(req).ok_or(ApiError::FactorNotFound)?;
    let Some((kind, factor_id)) = account.factors.enrolled().filter(|(_, factor_id)| *factor_id == id) else {
        return Err(ApiError::FactorNotFound);
    };
    let phone = account.confirmed_phone_key();
    // Each try numbers the partner's event from the account as last read.
    let mut events_so_far = account.event_sequence;
    for round in 0..REMOVE_TRIES {
        if round > 0 {
            race_backoff(round).await;
        }
        let removed = AccountEvent::FactorRemoved { factor: kind, by: RemovedBy::User };
        let events =
            vec![EventRecord::new(removed, &account.user_id, &account.merchant_id, app.clock.now(), events_so_far + 1)];
        let removal =
            FactorRemoval { user_id: &account.user_id, kind, factor_id, phone: phone.as_ref(), record: None, events };
        match app.store.remove_factor(removal).await {
            Ok(()) => {
                let now = app.clock.now();
                tracing::info!(user_id = %account.user_id, factor_id, kind = kind.as_str(), "second factor removed");
                let event = match kind {
                    FactorKind::Totp => SecurityEvent::AuthenticatorRemoved,
                    FactorKind::Sms => SecurityEvent::SmsFactorRemoved,
                };
                notify(app, mailer, &caller.partner, &confirmed_channels(&account), &event, now).await;
                return Ok(no_content());
            }
            // Removed in parallel (or the account deleted): nothing left to remove. Otherwise a
            // transaction in flight on the account item refused it; worth another try.
            Err(StoreError::Conflict) => match app.store.account(&account.user_id).await? {
                Some(current) if current.factors.enrolled() == Some((kind, factor_id)) => {
                    events_so_far = current.event_sequence;
                }
                _ => return Err(ApiError::FactorNotFound),
            },
            Err(other) => return Err(other.into()),
        }
    }
    tracing::warn!(rounds = REMOVE_TRIES, "factor removal kept meeting transactions in flight");
    Err(ApiError::Unavailable)
}
