//! `POST /v2/mobile/password/reset` `{phone or email, code, password}` → `{"result":"ok"}`. The code
//! is checked first (single use, five attempts; only a reset code, only for that phone or address),
//! so nobody without it learns anything about the account's passwords. Then the full policy and the
//! history apply, every session and access token issued before the reset stops working, and the
//! owner is told on every confirmed channel. An account whose second factor is codes by SMS is
//! reset by email only (`password_forgot`).

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

use super::codes::{check_code, consume_code};
use super::events_so_far;
use super::new_password::{sessions_to_revoke, vet_new_password};
use super::notices::{SecurityEvent, confirmed_channels, notify};
use super::recovery_identifier::phone_or_email;
use crate::App;
use crate::admission::{RateClass, admit};
use crate::domain::password::Password;
use crate::error::ApiError;
use crate::http::request::{json_body, require_method};
use crate::http::response::{finish, json};
use crate::mail::Mailer;
use crate::ports::{AccountStatus, OwnedIdentifier, PasswordChange};
use crate::security::code::{CodePurpose, ConfirmationCode};
use crate::webhooks::event::{AccountEvent, EventRecord, PasswordChange as PasswordEvent};

#[derive(Deserialize)]
struct ResetRequest {
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    email: Option<String>,
    code: String,
    password: String,
}

pub async fn handle(app: &App, mailer: &Mailer, req: Request) -> Result<Response<Body>, Infallible> {
    finish("password-reset", &req, reset(app, mailer, &req).await)
}

async fn reset(app: &App, mailer: &Mailer, req: &Request) -> Result<Response<Body>, ApiError> {
    require_method(req, Method::POST)?;
    let caller = admit(app, req, RateClass::Verify).await?;
    let body: ResetRequest = json_body(req)?;
    let identifier = phone_or_email(caller.merchant_id(), body.phone.as_deref(), body.email.as_deref())?;
    let who = identifier.as_ref();
    let code = ConfirmationCode::parse(&body.code)?;
    let password = Password::new(body.password)?;
    let now = app.clock.now();

    let stored = check_code(&*app.store, &app.code_mac, who, CodePurpose::PasswordReset, &code, None, now).await?;
    let account = app
        .store
        .account(&stored.user_id)
        .await?
        .filter(|a| a.status == AccountStatus::Active)
        .ok_or(ApiError::CodeNoLongerValid)?;
    // Codes by SMS became its second factor after this code was sent (the enrolment deleted the
    // code too; this read may predate it): the SIM that passes the second step must not also choose
    // the password. Said only to whoever holds the right code.
    if identifier_is_phone(&identifier) && account.factors.sms.is_some() {
        return Err(ApiError::CodeNoLongerValid);
    }
    let (new_hash, history) = vet_new_password(app, &caller.partner, &account, &password).await?;
    let revoke_sessions = sessions_to_revoke(&*app.store, &account.user_id, None).await?;
    // The same values on every try; a changed password (expected_hash) fails each one, as it should.
    // Only the partner's event is numbered anew from the account read again: another change to the
    // account (details, a session ended) moves its count on without touching what the reset needs.
    let mut first_try = true;
    let (account, new_hash, history, revoke_sessions) = (&account, &new_hash, &history, &revoke_sessions);
    let code_id = stored.code_id.as_str();
    consume_code(&*app.store, who, CodePurpose::PasswordReset, &stored.code_id, || {
        let read_again = !std::mem::take(&mut first_try);
        async move {
            let so_far = events_so_far(app, account, read_again).await?;
            let reset = AccountEvent::PasswordChanged { how: PasswordEvent::Reset };
            let events = vec![EventRecord::new(reset, &account.user_id, &account.merchant_id, now, so_far + 1)];
            app.store
                .set_password(PasswordChange {
                    user_id: &account.user_id,
                    expected_hash: &account.password_hash,
                    new_hash: new_hash.clone(),
                    history: history.clone(),
                    revoke_sessions: revoke_sessions.clone(),
                    keep_session: None,
                    credential_version: account.credential_version + 1,
                    reset_code: Some((who, code_id)),
                    now,
                    events,
                })
                .await
        }
    })
    .await?;
    tracing::info!(user_id = %account.user_id, "password reset; every session revoked");
    notify(app, mailer, &caller.partner, &confirmed_channels(account), &SecurityEvent::PasswordReset, now).await;
    Ok(json(200, &json!({ "result": "ok" })))
}

fn identifier_is_phone(identifier: &OwnedIdentifier) -> bool {
    matches!(identifier, OwnedIdentifier::Phone(_))
}
