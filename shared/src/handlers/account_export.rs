//! `GET /v2/customer/export` (bearer): everything kept about the user, as one JSON document to
//! download (GDPR art. 15 and 20): identifiers and their state, KYC level, personal details, times,
//! and the live sessions. Never a password hash, code, token or token hash. No consents are kept by
//! this service, so there are none to export.

use std::convert::Infallible;

use lambda_http::http::{HeaderValue, Method, header};
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::sessions_list::live_sessions;
use super::signed_in::{SignedIn, signed_in_account};
use crate::App;
use crate::domain::utc_time::UtcTime;
use crate::error::ApiError;
use crate::http::response::{finish, json};
use crate::security::access_token::AccessTokenVerifier;
use crate::security::tokens::user_ref;

pub async fn handle(app: &App, verifier: &AccessTokenVerifier, req: Request) -> Result<Response<Body>, Infallible> {
    finish("account-export", export(app, verifier, &req).await)
}

async fn export(app: &App, verifier: &AccessTokenVerifier, req: &Request) -> Result<Response<Body>, ApiError> {
    let SignedIn { principal, account, .. } = signed_in_account(app, verifier, req, Method::GET).await?;
    let now = app.clock.now();
    let mut sessions = live_sessions(&*app.store, &account, now).await?;
    sessions.sort_by_key(|s| s.created_at);
    let sessions: Vec<_> = sessions
        .iter()
        .map(|s| {
            json!({
                "createdAt": UtcTime(s.created_at).rfc3339(),
                "lastUsedAt": UtcTime(s.last_used_at).rfc3339(),
                "fingerprint": s.fingerprint,
                "current": s.session_id == principal.session_id,
            })
        })
        .collect();
    let user = user_ref(&account.user_id);
    let document = json!({
        "exportedAt": UtcTime(now).rfc3339(),
        "userId": user,
        "partner": account.merchant_id,
        "phone": account.phone,
        "phoneVerified": account.phone_confirmed(),
        "email": account.email,
        "emailVerified": account.email.is_some(),
        "pendingEmail": account.pending_email,
        "kycLevel": account.kyc_level.as_str(),
        "personalDetails": account.details,
        "createdAt": UtcTime(account.created_at).rfc3339(),
        "updatedAt": UtcTime(account.updated_at).rfc3339(),
        "sessions": sessions,
        "consents": [],
    });
    let mut response = json(200, &document);
    let disposition = format!("attachment; filename=\"account-{}.json\"", account.user_id);
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
