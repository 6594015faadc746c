//! `POST /v2/customer/step-up/code` (bearer): a 6-digit code by SMS to the account's confirmed
//! phone, which `grant_type=step_up` takes as `sms_code` (with the refresh token and the password)
//! to raise the session to `aal2`. It is the second element of an account that has no second
//! factor yet, which its first enrolment needs (`factors::step_up`): whoever holds the confirmed
//! phone could reset the password anyway, so the owner loses nothing, and a thief with the
//! password alone cannot enrol a factor of their own.
//!
//! An account whose factor is codes by SMS steps up with them: this sends its code. An account with
//! an authenticator app gets 409 `SECOND_FACTOR_ENROLLED`: it steps up with that factor, never
//! with its phone (a SIM swap and the password would otherwise stand in for the factor). One
//! without a confirmed phone gets 409 `PHONE_NOT_SET`; one whose phone was added or moved less than
//! a day ago, 409 `PHONE_NOT_SETTLED` with `retryAfter`: the password alone moves a phone, so a
//! thief who moved it must not enrol a factor of their own before the owner, told on the old
//! number, can react. The code lives five minutes, takes five tries, and is sent under the same
//! per-recipient limits as every code; a send that fails answers 503 (nothing to hide here).

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use zeroize::Zeroizing;

use super::super::delivery::{OwnPhone, OwnPhoneLog, code_to_own_phone};
use super::super::signed_in::{SignedIn, signed_in_to_enrol};
use super::super::{SMS_CODE_TTL_SECS, retry_races};
use crate::App;
use crate::admission::{RateClass, rate_limit};
use crate::error::ApiError;
use crate::http::response::{finish, json};
use crate::security::access_token::AccessTokenVerifier;
use crate::security::code::{CodePurpose, ConfirmationCode};

pub async fn handle(app: &App, verifier: &AccessTokenVerifier, req: Request) -> Result<Response<Body>, Infallible> {
    finish("step-up-code", &req, send(app, verifier, &req).await)
}

async fn send(app: &App, verifier: &AccessTokenVerifier, req: &Request) -> Result<Response<Body>, ApiError> {
    let SignedIn { caller, account, .. } = signed_in_to_enrol(app, verifier, req, Method::POST).await?;
    rate_limit::check(app, &caller.client, RateClass::Contact).await?;
    // The SMS factor's codes go to its phone, which moves only at `aal2`: no day to wait, and they
    // are sent whatever the partner's policy became since (an enrolled factor is always asked for).
    let sms_factor = account.factors.sms.is_some();
    if !sms_factor && !caller.partner.second_factor.allows_enrolment() {
        return Err(ApiError::SecondFactorNotOffered);
    }
    if account.factors.has_second_factor() && !sms_factor {
        return Err(ApiError::SecondFactorEnrolled);
    }
    let key = account.confirmed_phone_key().ok_or(ApiError::PhoneNotSet)?;
    if !sms_factor {
        account
            .phone_settled(app.clock.now())
            .map_err(|wait| ApiError::PhoneNotSettled { retry_after: wait.unsigned_abs() })?;
    }
    let partner = &caller.partner;
    // An enrolled factor is served whatever countries the partner allows since.
    if !sms_factor {
        partner.check_sms_country(&key.phone)?;
    }
    let estimate = &app.send_latency.step_up;
    let user_id = &account.user_id;
    let log = if sms_factor { OwnPhoneLog::Account } else { OwnPhoneLog::Number };
    let own = OwnPhone { user_id, key: &key, log };
    retry_races(|| code_to_own_phone(app, partner, own, CodePurpose::StepUp, step_up_text, estimate)).await?;
    tracing::info!(user_id = %account.user_id, phone = %key.phone.masked(), "step-up code sent");
    Ok(json(200, &json!({ "result": "ok", "expiresIn": SMS_CODE_TTL_SECS })))
}

/// One SMS part: GSM-7 and under 160 characters (docs/capacity.md, "SMS parts").
fn step_up_text(code: &ConfirmationCode) -> Zeroizing<String> {
    Zeroizing::new(format!(
        "{} is your code to confirm it is you for a security change. It expires in 5 minutes. Never share it. Not you? Change your password.",
        code.expose()
    ))
}
