//! `POST /v2/mobile/phone/verify/resend` `{phone}` → `{"result":"ok"}`: a new code for a pending
//! signup; the old code dies with it. A phone without a pending signup gets the same answer, under
//! the same limits and in the same time, and no SMS.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

use super::delivery::{Timing, code_text, new_code, send_nothing_alike, send_with};
use super::{Attempt, retry_races};
use crate::App;
use crate::admission::{RateClass, admit};
use crate::domain::partner::Partner;
use crate::domain::phone::PhoneNumber;
use crate::error::ApiError;
use crate::http::request::{json_body, require_method};
use crate::http::response::{finish, json};
use crate::ports::{AccountStatus, Identifier, IssuedCode, PhoneKey};
use crate::security::code::CodePurpose;

#[derive(Deserialize)]
struct ResendRequest {
    phone: String,
}

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, Infallible> {
    finish("phone-resend", &req, resend(app, &req).await)
}

async fn resend(app: &App, req: &Request) -> Result<Response<Body>, ApiError> {
    require_method(req, Method::POST)?;
    let caller = admit(app, req, RateClass::Send).await?;
    let partner = &caller.partner;
    let body: ResendRequest = json_body(req)?;
    let key = PhoneKey { merchant_id: partner.id.clone(), phone: PhoneNumber::parse(&body.phone)? };
    partner.check_sms_country(&key.phone)?;
    retry_races(|| attempt(app, partner, &key)).await?;
    Ok(json(200, &json!({ "result": "ok" })))
}

async fn attempt(app: &App, partner: &Partner, key: &PhoneKey) -> Result<Attempt<()>, ApiError> {
    let now = app.clock.now();
    let pending =
        app.store.phone_claim(key).await?.filter(|claim| claim.is_live(now) && claim.status == AccountStatus::Pending);
    let Some(claim) = pending else {
        // No pending signup: the same limits and the same time as a send, and nothing sent.
        return send_nothing_alike(
            app,
            partner,
            Identifier::Phone(key),
            CodePurpose::PhoneSignup,
            &app.send_latency.resend,
        )
        .await;
    };
    let (code, stored) = new_code(app, partner, key, CodePurpose::PhoneSignup, &claim.user_id, now);
    send_with(app, partner, key, &code_text(&code), Timing::Hides(&app.send_latency.resend), |sms| async move {
        app.store.issue_code(Identifier::Phone(key), CodePurpose::PhoneSignup, IssuedCode::Sent(stored), &sms).await
    })
    .await
}
