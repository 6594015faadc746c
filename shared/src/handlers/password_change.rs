//! `PUT /v2/mobile/password` (bearer) `{oldPassword, newPassword}` → `{"result":"ok"}`. The old
//! password is verified under the sign-in back-off; the new one meets the policy and the history;
//! every other session is revoked and the caller's keeps working; the owner is told on every
//! confirmed channel.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

use super::new_password::{sessions_to_revoke, vet_new_password};
use super::notices::{SecurityEvent, confirmed_channels, notify};
use super::password_check::reauthenticate;
use super::race_backoff;
use super::signed_in::{SignedIn, signed_in_for};
use crate::App;
use crate::domain::password::Password;
use crate::error::ApiError;
use crate::factors::step_up::Guarded;
use crate::http::request::json_body;
use crate::http::response::{finish, json};
use crate::mail::Mailer;
use crate::ports::{PasswordChange, StoreError};
use crate::security::access_token::AccessTokenVerifier;
use crate::webhooks::event::{AccountEvent, EventRecord, PasswordChange as PasswordEvent};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangeRequest {
    old_password: String,
    new_password: String,
}

pub async fn handle(
    app: &App,
    verifier: &AccessTokenVerifier,
    mailer: &Mailer,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    finish("password-change", &req, change(app, verifier, mailer, &req).await)
}

async fn change(
    app: &App,
    verifier: &AccessTokenVerifier,
    mailer: &Mailer,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let SignedIn { caller, principal, account } =
        signed_in_for(app, verifier, req, Method::PUT, Guarded::ChangePassword).await?;
    let body: ChangeRequest = json_body(req)?;
    let new = Password::new(body.new_password)?;
    let now = app.clock.now();
    reauthenticate(app, &account, body.old_password, "oldPassword").await?;
    let (new_hash, history) = vet_new_password(app, &caller.partner, &account, &new).await?;
    let revoke_sessions = sessions_to_revoke(&*app.store, &account.user_id, Some(&principal.session_id)).await?;
    // Another change that reported an event (a session ended, details) moves the account's event
    // count on: the change is tried again with the count read anew, under the same password hash,
    // credential version and sessions, so a reset or another change since still refuses it.
    let mut events_so_far = account.event_sequence;
    for round in 0..CHANGE_TRIES {
        if round > 0 {
            race_backoff(round).await;
        }
        let changed = AccountEvent::PasswordChanged { how: PasswordEvent::Changed };
        let change = PasswordChange {
            user_id: &account.user_id,
            expected_hash: &account.password_hash,
            new_hash: new_hash.clone(),
            history: history.clone(),
            revoke_sessions: revoke_sessions.clone(),
            keep_session: Some(&principal.session_id),
            credential_version: account.credential_version + 1,
            reset_code: None,
            now,
            events: vec![EventRecord::new(changed, &account.user_id, &account.merchant_id, now, events_so_far + 1)],
        };
        match app.store.set_password(change).await {
            Ok(()) => {
                tracing::info!(user_id = %account.user_id, "password changed; other sessions revoked");
                let event = SecurityEvent::PasswordChanged;
                notify(app, mailer, &caller.partner, &confirmed_channels(&account), &event, now).await;
                return Ok(json(200, &json!({ "result": "ok" })));
            }
            Err(StoreError::Conflict) => match app.store.account(&account.user_id).await? {
                Some(current)
                    if current.password_hash == account.password_hash
                        && current.credential_version == account.credential_version
                        && current.event_sequence != events_so_far =>
                {
                    events_so_far = current.event_sequence;
                }
                _ => return Err(ApiError::Unavailable),
            },
            Err(other) => return Err(other.into()),
        }
    }
    Err(ApiError::Unavailable)
}

/// Tries of a change whose password still holds while other changes keep numbering their events
/// first.
const CHANGE_TRIES: u64 = 3;
