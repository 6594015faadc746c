//! `GET /v2/customer/sessions` (bearer): where the account is signed in. Each live session family:
//! `id`, `createdAt`, `lastUsedAt` (its last refresh), `fingerprint` (`X-Fingerprint` at sign-in) and
//! `current: true` for the caller's own. Ended, expired and pre-reset sessions are not listed.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::signed_in::{SignedIn, signed_in_account};
use crate::App;
use crate::domain::personal_details::civil_date;
use crate::error::ApiError;
use crate::http::response::{finish, json};
use crate::ports::{AccountRecord, SessionRecord, Sessions};
use crate::security::access_token::AccessTokenVerifier;

pub async fn handle(app: &App, verifier: &AccessTokenVerifier, req: Request) -> Result<Response<Body>, Infallible> {
    finish("sessions-list", list(app, verifier, &req).await)
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
                "createdAt": rfc3339(s.created_at),
                "lastUsedAt": rfc3339(s.last_used_at),
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

/// `2026-12-02T08:31:23Z`.
fn rfc3339(unix_secs: i64) -> String {
    let (year, month, day) = civil_date(unix_secs);
    let secs = unix_secs.rem_euclid(86_400);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_rfc_3339_in_utc() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_796_200_283), "2026-12-02T08:31:23Z");
    }
}
