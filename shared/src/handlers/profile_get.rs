//! `GET /v2/customer/profile` (bearer): the account as its owner sees it.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

use super::signed_in::{SignedIn, signed_in_account};
use crate::App;
use crate::error::ApiError;
use crate::http::response::{finish, json};
use crate::ports::AccountRecord;
use crate::security::access_token::AccessTokenVerifier;
use crate::security::tokens::user_ref;

pub async fn handle(app: &App, verifier: &AccessTokenVerifier, req: Request) -> Result<Response<Body>, Infallible> {
    finish("profile-get", &req, profile(app, verifier, &req).await)
}

async fn profile(app: &App, verifier: &AccessTokenVerifier, req: &Request) -> Result<Response<Body>, ApiError> {
    let SignedIn { account, .. } = signed_in_account(app, verifier, req, Method::GET).await?;
    let mut body = identity(&account);
    if let (Value::Object(body), Ok(Value::Object(details))) = (&mut body, serde_json::to_value(&account.details)) {
        body.extend(details);
    }
    Ok(json(200, &body))
}

/// Who the account is and how far it is verified, as the profile and the export both show it.
pub(super) fn identity(account: &AccountRecord) -> Value {
    json!({
        "userId": user_ref(&account.user_id),
        "phone": account.phone,
        "phoneVerified": account.phone_confirmed(),
        "email": account.email,
        "emailVerified": account.email.is_some(),
        "pendingEmail": account.pending_email,
        "kycLevel": account.shown_kyc_level().as_str(),
        "identityVerification": verification(account),
    })
}

/// Where identity verification with Sumsub stands, as the user may see it: `not_started`,
/// `pending`, `approved`, `retry` (with the labels that say what to resubmit) or `rejected`.
fn verification(account: &AccountRecord) -> Value {
    match &account.identity_review {
        None => json!({ "provider": "sumsub", "status": "not_started", "rejectLabels": [] }),
        Some(review) => json!({
            "provider": "sumsub",
            "status": review.status.as_str(),
            "rejectLabels": review.labels_for_user(),
        }),
    }
}
