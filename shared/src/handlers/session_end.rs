//! `DELETE /v2/customer/sessions/{id}` (bearer) → 204: ends one of the account's sessions (signing
//! a lost device out). Its refresh tokens give `invalid_grant` and its access tokens 401 at once. An
//! id that is not one of the caller's live sessions (unknown, ended, another account's or another
//! partner's) is one 404, so ids of others tell nothing.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};

use super::race_backoff;
use super::sessions_list::live_sessions;
use super::signed_in::{SignedIn, held_back, signed_in_to_enrol};
use crate::App;
use crate::error::ApiError;
use crate::factors::step_up::{self, Guarded};
use crate::http::request::path_id;
use crate::http::response::{finish, no_content};
use crate::ports::{AccountRecord, StoreError};
use crate::security::access_token::AccessTokenVerifier;
use crate::webhooks::event::{AccountEvent, EventRecord, SessionsEnded};

pub async fn handle(app: &App, verifier: &AccessTokenVerifier, req: Request) -> Result<Response<Body>, Infallible> {
    finish("session-end", &req, end(app, verifier, &req).await)
}

async fn end(app: &App, verifier: &AccessTokenVerifier, req: &Request) -> Result<Response<Body>, ApiError> {
    // Signing out is always allowed, under a partner's `required` policy too.
    let SignedIn { caller, principal, account } = signed_in_to_enrol(app, verifier, req, Method::DELETE).await?;
    let id = path_id(req).ok_or(ApiError::SessionNotFound)?;
    let now = app.clock.now();
    // Ending another of the account's sessions is what ending the others is, one at a time: on an
    // account with a factor it needs the step-up (a stolen session must not sign the owner out).
    // Ending one's own is signing out, always allowed.
    if id != principal.session_id {
        held_back(&caller, &account)?;
        let enrolled = account.factors.enrolled_methods();
        step_up::check(&principal.assurance, Guarded::EndOtherSessions, &enrolled, now)
            .map_err(ApiError::InsufficientAuthentication)?;
    }
    let live = live_sessions(&*app.store, &account, now).await?;
    let session = live.iter().find(|s| s.session_id == id).ok_or(ApiError::SessionNotFound)?;
    end_reported(app, &account, &session.session_id, SessionsEnded::One, now).await?;
    tracing::info!(user_id = %account.user_id, session_id = %session.session_id, "session ended by its user");
    Ok(no_content())
}

/// Tries to end a live session before a 503 when other changes to the account keep numbering
/// their events first.
const END_TRIES: u64 = 3;

/// Ends `session_id` with the partner's `account.sessions_ended` (`which`) in one transaction,
/// numbered from the account as last read. A session that another request ended meanwhile is
/// ended: that request reported it (or a password reset did). A session is never left live with
/// a success answer: if the account's other changes keep winning, the answer is 503.
pub(super) async fn end_reported(
    app: &App,
    account: &AccountRecord,
    session_id: &str,
    which: SessionsEnded,
    now: i64,
) -> Result<(), ApiError> {
    let mut events_so_far = account.event_sequence;
    for round in 0..END_TRIES {
        if round > 0 {
            race_backoff(round).await;
        }
        let ended = AccountEvent::SessionsEnded { which };
        let events = [EventRecord::new(ended, &account.user_id, &account.merchant_id, now, events_so_far + 1)];
        match app.store.end_session_reported(&account.user_id, session_id, now, &events).await {
            Ok(()) => return Ok(()),
            Err(StoreError::Conflict) => {
                let session = app.store.session(&account.user_id, session_id).await?;
                if session.is_none_or(|session| session.revoked) {
                    return Ok(());
                }
                let current = app.store.account(&account.user_id).await?;
                events_so_far = current.ok_or(ApiError::Unavailable)?.event_sequence;
            }
            Err(other) => return Err(other.into()),
        }
    }
    tracing::warn!(rounds = END_TRIES, "session end kept meeting other changes to the account");
    Err(ApiError::Unavailable)
}
