//! `DELETE /v2/customer/sessions` (bearer) → 204: ends every session of the account but the
//! caller's ("sign out everywhere else"). Each one's refresh tokens give `invalid_grant` and its
//! access tokens 401 at once; the caller stays signed in.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};

use super::session_end::end_reported;
use super::sessions_list::live_sessions;
use super::signed_in::{SignedIn, signed_in_for};
use crate::App;
use crate::error::ApiError;
use crate::factors::step_up::Guarded;
use crate::http::response::{finish, no_content};
use crate::security::access_token::AccessTokenVerifier;
use crate::webhooks::event::SessionsEnded;

pub async fn handle(app: &App, verifier: &AccessTokenVerifier, req: Request) -> Result<Response<Body>, Infallible> {
    finish("sessions-end-others", &req, end_others(app, verifier, &req).await)
}

async fn end_others(app: &App, verifier: &AccessTokenVerifier, req: &Request) -> Result<Response<Body>, ApiError> {
    let SignedIn { principal, account, .. } =
        signed_in_for(app, verifier, req, Method::DELETE, Guarded::EndOtherSessions).await?;
    let now = app.clock.now();
    let others = live_sessions(&*app.store, &account, now).await?;
    let others: Vec<_> = others.iter().filter(|s| s.session_id != principal.session_id).collect();
    // Each revocation is idempotent, so a retry after a failure part way finishes the job. The
    // last one carries the partner's `account.sessions_ended`, so it is written once all ended.
    let Some((last, before_last)) = others.split_last() else { return Ok(no_content()) };
    for session in before_last {
        app.store.revoke_session(&account.user_id, &session.session_id, now).await?;
    }
    end_reported(app, &account, &last.session_id, SessionsEnded::Others, now).await?;
    let ended = others.len();
    tracing::info!(user_id = %account.user_id, ended, "other sessions ended by their user");
    Ok(no_content())
}
