//! `GET /v2/customer/export` (bearer): everything kept about the user, as one JSON document to
//! download (GDPR art. 15 and 20): identifiers and their state, KYC level, personal details, times,
//! the live sessions and the second factors (type, made, last used). Never a password hash, code,
//! token, token hash or factor secret. No consents are kept by this service, so there are none to
//! export.

use std::convert::Infallible;

use lambda_http::http::{HeaderValue, Method, header};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

use super::factors_shown;
use super::profile_get::identity;
use super::sessions_list::live_sessions;
use super::signed_in::{SignedIn, signed_in_account};
use crate::App;
use crate::domain::utc_time::UtcTime;
use crate::error::ApiError;
use crate::http::response::{finish, json};
use crate::security::access_token::AccessTokenVerifier;

pub async fn handle(app: &App, verifier: &AccessTokenVerifier, req: Request) -> Result<Response<Body>, Infallible> {
    finish("account-export", &req, export(app, verifier, &req).await)
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
    let mut document = identity(&account);
    let more = json!({
        "exportedAt": UtcTime(now).rfc3339(),
        "partner": account.merchant_id,
        "personalDetails": account.details,
        "createdAt": UtcTime(account.created_at).rfc3339(),
        "updatedAt": UtcTime(account.updated_at).rfc3339(),
        "sessions": sessions,
        "factors": factors_shown(&account.factors),
        "consents": [],
        // Everything Sumsub's verdict said about the person, final labels included (GDPR art. 15).
        "identityReview": account.identity_review.as_ref().map(|r| json!({
            "status": r.status.as_str(),
            "rejectLabels": r.reject_labels,
            "sumsubApplicantId": r.applicant_id,
            "decidedAt": UtcTime(r.event_at_ms.div_euclid(1000)).rfc3339(),
        })),
    });
    if let (Value::Object(document), Value::Object(more)) = (&mut document, more) {
        document.extend(more);
    }
    let mut response = json(200, &document);
    let disposition = format!("attachment; filename=\"account-{}.json\"", account.user_id);
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
