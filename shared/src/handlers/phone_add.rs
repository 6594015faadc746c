//! `PUT /v2/mobile/phone/add` (bearer) for an account without a phone (an email-first account):
//! `{phone}` → `{"result":"ok"}` and an SMS code; the same call with `{phone, code}` confirms it →
//! `{"phone", "phoneVerified": true, "kycLevel"}`. KYC_0 then follows by the same rule as for a
//! phone-first account.
//!
//! A phone that belongs to another account gets the same answer in the same time, and its owner a
//! notice instead of a code, so a signed-in user cannot learn who has which number. A signup that
//! never confirmed the phone does not hold it against the person who proves they have it. The
//! account's confirmed address is told once the phone is added.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

use super::codes::{check_code, consume_code};
use super::delivery::code_to_new_phone;
use super::notices::{SecurityEvent, confirmed_channels, notify};
use super::signed_in::{SignedIn, signed_in_to_enrol};
use super::{SMS_CODE_TTL_SECS, events_so_far, retry_races};
use crate::App;
use crate::admission::{RateClass, rate_limit, recipients};
use crate::domain::kyc::KycLevel;
use crate::domain::phone::PhoneNumber;
use crate::error::ApiError;
use crate::factors::step_up::Guarded;
use crate::http::request::json_body;
use crate::http::response::{finish, json};
use crate::mail::Mailer;
use crate::ports::{AccountRecord, Identifier, PhoneAddition, PhoneKey, Recipient};
use crate::security::access_token::AccessTokenVerifier;
use crate::security::code::{CodePurpose, ConfirmationCode};
use crate::webhooks::event::{AccountEvent, EventRecord};

#[derive(Deserialize)]
struct AddPhoneRequest {
    phone: String,
    #[serde(default)]
    code: Option<String>,
}

/// `mailer` tells the account's confirmed address that a phone was added.
pub async fn handle(
    app: &App,
    verifier: &AccessTokenVerifier,
    mailer: &Mailer,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    finish("phone-add", &req, add(app, verifier, mailer, &req).await)
}

async fn add(
    app: &App,
    verifier: &AccessTokenVerifier,
    mailer: &Mailer,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    // A phone is what an account without one needs before it can enrol a factor, so a partner's
    // `required` policy lets it through (`signed_in_to_enrol`); an account with a phone is refused
    // below whatever the policy.
    let signed_in = signed_in_to_enrol(app, verifier, req, Method::PUT).await?;
    let body: AddPhoneRequest = json_body(req)?;
    if body.code.is_none() {
        signed_in.allowed(app, Guarded::ChangePhone)?;
    }
    let SignedIn { caller, account, .. } = signed_in;
    rate_limit::check(app, &caller.client, RateClass::Contact).await?;
    let partner = &caller.partner;
    let phone = PhoneNumber::parse(&body.phone)?;
    if account.phone.is_some() {
        return Err(ApiError::PhoneAlreadySet);
    }
    let key = PhoneKey { merchant_id: account.merchant_id.clone(), phone };
    match body.code {
        None => {
            partner.check_sms_country(&key.phone)?;
            recipients::admit(app, &account.user_id, Recipient::Phone(&key.phone)).await?;
            let estimate = &app.send_latency.phone_add;
            retry_races(|| code_to_new_phone(app, partner, &account.user_id, &key, CodePurpose::PhoneAdd, estimate))
                .await?;
            tracing::info!(user_id = %account.user_id, phone = %key.phone.masked(), "phone add code sent");
            Ok(json(200, &json!({ "result": "ok" })))
        }
        Some(code) => {
            let added = confirm(app, &account, &key, &ConfirmationCode::parse(&code)?).await?;
            // The owner hears of it where they already are: a phone signs in and gets every code,
            // and the first thing a password thief would add.
            let event = SecurityEvent::PhoneAdded { new_phone: key.phone.masked() };
            notify(app, mailer, partner, &confirmed_channels(&account), &event, app.clock.now()).await;
            Ok(added)
        }
    }
}

async fn confirm(
    app: &App,
    account: &AccountRecord,
    key: &PhoneKey,
    code: &ConfirmationCode,
) -> Result<Response<Body>, ApiError> {
    let now = app.clock.now();
    let who = Identifier::Phone(key);
    let stored =
        check_code(&*app.store, &app.code_mac, who, CodePurpose::PhoneAdd, code, Some(&account.user_id), now).await?;
    // A code sent before the account got its factor was sent without the step-up the factor asks for
    // (checked here, and again by the addition's condition: a factor enrolled meanwhile fails it).
    let issued_at = stored.expires_at - SMS_CODE_TTL_SECS;
    if account.factors.enrolled_since(issued_at) {
        return Err(ApiError::CodeNoLongerValid);
    }
    let kyc_level = KycLevel::of(true, account.email.is_some(), &account.details);
    // The partner's events are numbered anew from the account read again on a retry: another change
    // (a session ended) moves the count on without touching what the addition needs.
    let mut first_try = true;
    let code_id = stored.code_id.as_str();
    consume_code(&*app.store, who, CodePurpose::PhoneAdd, &stored.code_id, || {
        let read_again = !std::mem::take(&mut first_try);
        async move {
            let numbered =
                AccountRecord { event_sequence: events_so_far(app, account, read_again).await?, ..account.clone() };
            let added = AccountEvent::PhoneChanged { phone: key.phone.clone(), previous: None };
            let reported = [Some(added), AccountEvent::kyc_change(account, kyc_level)];
            let events = EventRecord::after(&numbered, reported.into_iter().flatten(), now);
            app.store
                .add_phone(PhoneAddition {
                    key,
                    code_id,
                    user_id: &account.user_id,
                    kyc_level,
                    expected_version: account.profile_version,
                    issued_at,
                    now,
                    events,
                })
                .await
        }
    })
    .await?;
    tracing::info!(user_id = %account.user_id, phone = %key.phone.masked(), "phone added and confirmed");
    Ok(json(
        200,
        &json!({ "phone": key.phone.e164(), "phoneVerified": true, "kycLevel": KycLevel::shown(kyc_level, account.identity_review.as_ref()).as_str() }),
    ))
}
