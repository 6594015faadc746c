//! `POST /v2/mobile/sign-in/code` `{mfaToken}`: sends the SMS factor's code for a sign-in that
//! answered `mfa_required` offering `sms`, to the account's confirmed phone; `grant_type=mfa` with
//! the token and `sms_code` completes the sign-in. Asked for, not sent with the `mfa_required`
//! answer, so an account that also keeps recovery codes is not sent an SMS it will not use.
//!
//! Only the holder of the password's answer has the token (256 random bits, found by its digest):
//! an unknown, expired or another partner's token answers `invalid_grant` as the second grant
//! does, a challenge whose account has no SMS factor 404 `FACTOR_NOT_FOUND`. The code lives five minutes
//! and takes five tries, under the send limits of every code, counted for the account
//! (`Recipient::AccountPhone`: strangers filling the number's own log cannot hold the sign-in
//! back); a send that fails answers 503.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use zeroize::Zeroizing;

use super::super::delivery::{OwnPhone, OwnPhoneLog, code_to_own_phone};
use super::super::token::mfa_token_digest;
use super::super::{SMS_CODE_TTL_SECS, retry_races};
use crate::App;
use crate::admission::{RateClass, admit};
use crate::error::ApiError;
use crate::http::request::{json_body, require_method};
use crate::http::response::{finish, json};
use crate::ports::AccountStatus;
use crate::security::code::{CodePurpose, ConfirmationCode};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CodeRequest {
    mfa_token: String,
}

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, Infallible> {
    finish("sign-in-code", &req, send(app, &req).await)
}

async fn send(app: &App, req: &Request) -> Result<Response<Body>, ApiError> {
    require_method(req, Method::POST)?;
    let caller = admit(app, req, RateClass::Send).await?;
    let body: CodeRequest = json_body(req)?;
    let now = app.clock.now();
    // As `grant_type=mfa` answers the same token (`invalid_grant`): the app signs in again.
    let expired = || ApiError::invalid_grant("The sign-in has expired or the code is not correct.");
    let challenge = app.store.mfa_challenge(&mfa_token_digest(&body.mfa_token)).await?;
    let challenge = challenge
        .filter(|c| c.merchant_id == caller.merchant_id() && c.expires_at > now && c.attempts_left > 0)
        .ok_or_else(expired)?;
    let account = app.store.account(&challenge.user_id).await?;
    let account = account
        .filter(|a| a.status == AccountStatus::Active && a.credential_version == challenge.credential_version)
        .ok_or_else(expired)?;
    if account.factors.sms.is_none() {
        return Err(ApiError::FactorNotFound);
    }
    let key = account
        .confirmed_phone_key()
        .ok_or_else(|| ApiError::Internal(format!("account {} has an SMS factor and no phone", account.user_id)))?;
    // No country check: the phone was allowed when it became the factor, and a partner that drops
    // its country since must not lock its owner out (an enrolled factor is always served).
    let partner = &caller.partner;
    let estimate = &app.send_latency.step_up;
    let user_id = &account.user_id;
    let own = OwnPhone { user_id, key: &key, log: OwnPhoneLog::Account };
    let sent = retry_races(|| code_to_own_phone(app, partner, own, CodePurpose::StepUp, sign_in_text, estimate));
    // The account deleted meanwhile answers as a spent sign-in does.
    sent.await.map_err(|err| if matches!(err, ApiError::Unauthorized(_)) { expired() } else { err })?;
    tracing::info!(user_id = %account.user_id, phone = %key.phone.masked(), "sign-in code sent");
    Ok(json(200, &json!({ "result": "ok", "expiresIn": SMS_CODE_TTL_SECS })))
}

/// One SMS part: GSM-7 and under 160 characters (docs/capacity.md, "SMS parts").
fn sign_in_text(code: &ConfirmationCode) -> Zeroizing<String> {
    Zeroizing::new(format!(
        "{} is your sign-in code. It expires in 5 minutes. Never share it. Not you? Someone has your password: change it.",
        code.expose()
    ))
}
