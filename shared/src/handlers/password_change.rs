//! `PUT /v2/mobile/password` (bearer) `{oldPassword, newPassword}` → `{"result":"ok"}`. The old
//! password is verified under the sign-in back-off; the new one meets the policy and the history;
//! every other session is revoked and the caller's keeps working; the owner is told on every
//! confirmed channel.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

use super::new_password::{sessions_to_revoke, vet_new_password};
use super::notices::{SecurityEvent, confirmed_channels, notify};
use super::password_check::reauthenticate;
use super::signed_in::{SignedIn, signed_in_for};
use crate::App;
use crate::domain::password::Password;
use crate::error::ApiError;
use crate::factors::step_up::Guarded;
use crate::http::request::json_body;
use crate::http::response::{finish, json};
use crate::mail::Mailer;
use crate::ports::{PasswordChange, StoreError};
use crate::security::access_token::AccessTokenVerifier;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangeRequest {
    old_password: String,
    new_password: String,
}

pub async fn handle(
    app: &App,
    verifier: &AccessTokenVerifier,
    mailer: &Mailer,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    finish("password-change", &req, change(app, verifier, mailer, &req).await)
}

async fn change(
    app: &App,
    verifier: &AccessTokenVerifier,
    mailer: &Mailer,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let SignedIn { caller, principal, account } =
        signed_in_for(app, verifier, req, Method::PUT, Guarded::ChangePassword).await?;
    let body: ChangeRequest = json_body(req)?;
    let new = Password::new(body.new_password)?;
    let now = app.clock.now();
    reauthenticate(app, &account, body.old_password, "oldPassword").await?;
    let (new_hash, history) = vet_new_password(app, &caller.partner, &account, &new).await?;
    let change = PasswordChange {
        user_id: &account.user_id,
        expected_hash: &account.password_hash,
        new_hash,
        history,
        revoke_sessions: sessions_to_revoke(&*app.store, &account.user_id, Some(&principal.session_id)).await?,
        keep_session: Some(&principal.session_id),
        credential_version: account.credential_version + 1,
        reset_code: None,
        now,
    };
    match app.store.set_password(change).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => return Err(ApiError::Unavailable),
        Err(other) => return Err(other.into()),
    }
    tracing::info!(user_id = %account.user_id, "password changed; other sessions revoked");
    notify(app, mailer, &caller.partner, &confirmed_channels(&account), &SecurityEvent::PasswordChanged, now).await;
    Ok(json(200, &json!({ "result": "ok" })))
}
