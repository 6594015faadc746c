//! `PUT /v2/mobile/password` (bearer) `{oldPassword, newPassword}` → `{"result":"ok"}`. The old
//! password is verified under the sign-in back-off; the new one meets the policy and the history;
//! every other session is revoked and the caller's keeps working.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

use crate::App;
use crate::auth::authenticate;
use crate::domain::password::Password;
use crate::domain::password_policy::{PasswordContext, next_history};
use crate::domain::phone::PhoneNumber;
use crate::error::ApiError;
use crate::http::request::{PartnerHeaders, json_body, require_method};
use crate::http::response::{finish, json};
use crate::ports::{PasswordChange, PhoneKey, StoreError};
use crate::security::access_token::AccessTokenVerifier;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangeRequest {
    old_password: String,
    new_password: String,
}

pub async fn handle(app: &App, verifier: &AccessTokenVerifier, req: Request) -> Result<Response<Body>, Infallible> {
    finish("password-change", change(app, verifier, &req).await)
}

async fn change(app: &App, verifier: &AccessTokenVerifier, req: &Request) -> Result<Response<Body>, ApiError> {
    require_method(req, Method::PUT)?;
    let partner = PartnerHeaders::from_request(req)?;
    let principal = authenticate(app, verifier, req, &partner).await?;
    let body: ChangeRequest = json_body(req)?;
    let wrong_old = || ApiError::validation("oldPassword", "incorrect", "The current password is not correct.");
    let old = Password::new(body.old_password).map_err(|_| wrong_old())?;
    let new = Password::new(body.new_password)?;
    let account =
        app.store.account(&principal.user_id).await?.ok_or_else(|| ApiError::Unauthorized("account gone".into()))?;
    let key = PhoneKey { merchant_id: account.merchant_id.clone(), phone: PhoneNumber::parse(&account.phone)? };
    let now = app.clock.now();

    // The same back-off as sign-in: a stolen access token does not buy unlimited password guesses.
    let backoff = app.store.signin_backoff(&key).await?.as_of(now);
    if let Some(retry_after) = backoff.wait(now) {
        return Err(ApiError::TooManyRequests { retry_after });
    }
    if !app.hasher.verify(&old, &account.password_hash).await? {
        match app.store.record_signin_failure(&key, &backoff.after_failure(now)).await {
            Ok(()) | Err(StoreError::Conflict) => {}
            Err(other) => return Err(other.into()),
        }
        return Err(wrong_old());
    }
    let policy = app.policies.for_merchant(&key.merchant_id);
    let context =
        PasswordContext { phone: &key.phone, details: Some(&account.details), email: account.email.as_deref() };
    policy.check(&new, &context)?;
    policy.check_not_reused(&app.hasher, &new, &account.password_history).await?;
    let new_hash = app.hasher.hash(&new).await?;

    let others = app.store.sessions(&account.user_id).await?;
    let change = PasswordChange {
        key: &key,
        user_id: &account.user_id,
        expected_hash: &account.password_hash,
        history: next_history(new_hash.clone(), &account.password_history),
        new_hash,
        revoke_sessions: others
            .into_iter()
            .filter(|s| !s.revoked && s.session_id != principal.session_id)
            .map(|s| s.session_id)
            .collect(),
        reset_code_id: None,
        now,
    };
    match app.store.set_password(change).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => return Err(ApiError::Unavailable),
        Err(other) => return Err(other.into()),
    }
    tracing::info!(user_id = %account.user_id, "password changed; other sessions revoked");
    Ok(json(200, &json!({ "result": "ok" })))
}
