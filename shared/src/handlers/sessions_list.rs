//! `GET /v2/customer/sessions` (bearer): where the account is signed in. Each live session family:
//! `id`, `createdAt`, `lastUsedAt` (its last refresh), `fingerprint` (`X-Fingerprint` at sign-in) and
//! `current: true` for the caller's own. Ended, expired and pre-reset sessions are not listed.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::signed_in::{SignedIn, signed_in_account};
use crate::App;
use crate::domain::utc_time::UtcTime;
use crate::error::ApiError;
use crate::http::response::{finish, json};
use crate::ports::{AccountRecord, SessionRecord, Sessions};
use crate::security::access_token::AccessTokenVerifier;

pub async fn handle(app: &App, verifier: &AccessTokenVerifier, req: Request) -> Result<Response<Body>, Infallible> {
    finish("sessions-list", &req, list(app, verifier, &req).await)
}

async fn list(app: &App, verifier: &AccessTokenVerifier, req: &Request) -> Result<Response<Body>, ApiError> {
    let SignedIn { principal, account, .. } = signed_in_account(app, verifier, req, Method::GET).await?;
    let mut sessions = live_sessions(&*app.store, &account, app.clock.now()).await?;
    sessions.sort_by_key(|s| std::cmp::Reverse(s.last_used_at));
    let listed: Vec<_> = sessions
        .iter()
        .map(|s| {
            json!({
                "id": s.session_id,
                "createdAt": UtcTime(s.created_at).rfc3339(),
                "lastUsedAt": UtcTime(s.last_used_at).rfc3339(),
                "fingerprint": s.fingerprint,
                "current": s.session_id == principal.session_id,
            })
        })
        .collect();
    Ok(json(200, &json!({ "sessions": listed })))
}

/// The account's sessions that still work: not ended, not expired, made with today's password.
pub(super) async fn live_sessions(
    sessions: &dyn Sessions,
    account: &AccountRecord,
    now: i64,
) -> Result<Vec<SessionRecord>, ApiError> {
    let all = sessions.sessions(&account.user_id).await?;
    Ok(all
        .into_iter()
        .filter(|s| s.merchant_id == account.merchant_id && s.is_live(now, account.credential_version))
        .collect())
}
