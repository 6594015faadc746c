//! `POST /v2/mobile/password/forgot` `{phone}` → always `{"result":"ok"}`. A confirmed account gets
//! an SMS reset code; any other phone gets nothing, but the request records a send under the same
//! limits, stores a decoy code and waits as long as a send takes here, so status, body, limits,
//! time and the answers to the codes guessed next are the same.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use zeroize::Zeroizing;

use super::delivery::{Timing, deliver, new_code, send_nothing_alike};
use super::retry_races;
use crate::App;
use crate::admission::{RateClass, admit};
use crate::domain::phone::PhoneNumber;
use crate::error::ApiError;
use crate::http::request::{json_body, require_method};
use crate::http::response::{finish, json};
use crate::ports::{AccountStatus, Identifier, IssuedCode, PhoneKey, Recipient};
use crate::security::code::CodePurpose;

#[derive(Deserialize)]
struct ForgotRequest {
    phone: String,
}

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, Infallible> {
    finish("password-forgot", forgot(app, &req).await)
}

async fn forgot(app: &App, req: &Request) -> Result<Response<Body>, ApiError> {
    require_method(req, Method::POST)?;
    let caller = admit(app, req, RateClass::Send).await?;
    let partner = &*caller.partner;
    let body: ForgotRequest = json_body(req)?;
    let key = &PhoneKey { merchant_id: partner.id.clone(), phone: PhoneNumber::parse(&body.phone)? };
    partner.check_sms_country(&key.phone)?;
    let to = Recipient::Phone(&key.phone);
    retry_races(|| async move {
        let now = app.clock.now();
        let claim = app.store.phone_claim(key).await?.filter(|c| c.is_live(now) && c.status == AccountStatus::Active);
        match claim {
            Some(claim) => {
                let (code, stored) = new_code(app, partner, key, CodePurpose::PasswordReset, &claim.user_id, now);
                let text = Zeroizing::new(format!(
                    "{} is your password reset code. It expires in 5 minutes. If you did not ask to reset your password, ignore this message.",
                    code.expose()
                ));
                let text = &text;
                deliver(
                    app,
                    partner,
                    to,
                    Timing::Sets(&app.send_latency.forgot),
                    |send| async move { app.store.issue_code(Identifier::Phone(key), CodePurpose::PasswordReset, IssuedCode::Sent(stored), &send).await },
                    || app.sms.send(&key.phone, text),
                )
                .await
            }
            None => {
                send_nothing_alike(app, partner, key, CodePurpose::PasswordReset, &app.send_latency.forgot).await
            }
        }
    })
    .await?;
    Ok(json(200, &json!({ "result": "ok" })))
}
