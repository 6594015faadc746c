//! `POST /v2/mobile/password/reset` `{phone, code, password}` → `{"result":"ok"}`. The code is checked
//! first (single use, five attempts, five minutes; only a reset code), so nobody without it learns
//! anything about the account's passwords. Then the full policy and the history apply, and every
//! session and access token issued before the reset stops working.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

use super::codes::{check_code, consume_code};
use super::new_password::{sessions_to_revoke, vet_new_password};
use crate::App;
use crate::admission::{RateClass, admit};
use crate::domain::password::Password;
use crate::domain::phone::PhoneNumber;
use crate::error::ApiError;
use crate::http::request::{json_body, require_method};
use crate::http::response::{finish, json};
use crate::ports::{AccountStatus, Identifier, PasswordChange, PhoneKey};
use crate::security::code::{CodePurpose, ConfirmationCode};

#[derive(Deserialize)]
struct ResetRequest {
    phone: String,
    code: String,
    password: String,
}

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, Infallible> {
    finish("password-reset", reset(app, &req).await)
}

async fn reset(app: &App, req: &Request) -> Result<Response<Body>, ApiError> {
    require_method(req, Method::POST)?;
    let caller = admit(app, req, RateClass::Verify).await?;
    let body: ResetRequest = json_body(req)?;
    let phone = PhoneNumber::parse(&body.phone)?;
    let code = ConfirmationCode::parse(&body.code)?;
    let password = Password::new(body.password)?;
    let key = PhoneKey { merchant_id: caller.merchant_id().to_owned(), phone };
    let now = app.clock.now();

    let stored =
        check_code(&*app.store, &app.code_mac, Identifier::Phone(&key), CodePurpose::PasswordReset, &code, None, now)
            .await?;
    let account = app
        .store
        .account(&stored.user_id)
        .await?
        .filter(|a| a.status == AccountStatus::Active)
        .ok_or(ApiError::CodeNoLongerValid)?;
    let (new_hash, history) = vet_new_password(app, &caller.partner, &account, &password).await?;
    let revoke_sessions = sessions_to_revoke(&*app.store, &account.user_id, None).await?;
    // The same values on every try; a changed password (expected_hash) fails each one, as it should.
    consume_code(&*app.store, Identifier::Phone(&key), CodePurpose::PasswordReset, &stored.code_id, || {
        app.store.set_password(PasswordChange {
            user_id: &account.user_id,
            expected_hash: &account.password_hash,
            new_hash: new_hash.clone(),
            history: history.clone(),
            revoke_sessions: revoke_sessions.clone(),
            keep_session: None,
            credential_version: account.credential_version + 1,
            reset_code: Some((&key, &stored.code_id)),
            now,
        })
    })
    .await?;
    tracing::info!(user_id = %account.user_id, "password reset; every session revoked");
    Ok(json(200, &json!({ "result": "ok" })))
}
