//! `DELETE /v2/customer/sessions/{id}` (bearer) → 204: ends one of the account's sessions (signing
//! a lost device out). Its refresh tokens give `invalid_grant` and its access tokens 401 at once. An
//! id that is not one of the caller's live sessions (unknown, ended, another account's or another
//! partner's) is one 404, so ids of others tell nothing.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, RequestExt, Response};

use super::sessions_list::live_sessions;
use super::signed_in::{SignedIn, signed_in_account};
use crate::App;
use crate::error::ApiError;
use crate::factors::step_up::{self, Guarded};
use crate::http::response::{finish, no_content};
use crate::security::access_token::AccessTokenVerifier;

pub async fn handle(app: &App, verifier: &AccessTokenVerifier, req: Request) -> Result<Response<Body>, Infallible> {
    finish("session-end", &req, end(app, verifier, &req).await)
}

/// The `{id}` of the path: API Gateway's path parameter, or the last segment where a local router
/// sends none.
fn session_id(req: &Request) -> Option<String> {
    let parameter = req.path_parameters_ref().and_then(|p| p.first("id")).map(str::to_owned);
    parameter.or_else(|| req.uri().path().rsplit('/').next().map(str::to_owned)).filter(|id| !id.is_empty())
}

async fn end(app: &App, verifier: &AccessTokenVerifier, req: &Request) -> Result<Response<Body>, ApiError> {
    let SignedIn { principal, account, .. } = signed_in_account(app, verifier, req, Method::DELETE).await?;
    let id = session_id(req).ok_or(ApiError::SessionNotFound)?;
    let now = app.clock.now();
    // Ending another of the account's sessions is what ending the others is, one at a time: on an
    // account with a factor it needs the step-up (a stolen session must not sign the owner out).
    // Ending one's own is signing out, always allowed.
    if id != principal.session_id {
        let enrolled = account.factors.enrolled_methods();
        step_up::check(&principal.assurance, Guarded::EndOtherSessions, &enrolled, now)
            .map_err(ApiError::InsufficientAuthentication)?;
    }
    let live = live_sessions(&*app.store, &account, now).await?;
    let session = live.iter().find(|s| s.session_id == id).ok_or(ApiError::SessionNotFound)?;
    app.store.revoke_session(&account.user_id, &session.session_id, now).await?;
    tracing::info!(user_id = %account.user_id, session_id = %session.session_id, "session ended by its user");
    Ok(no_content())
}
