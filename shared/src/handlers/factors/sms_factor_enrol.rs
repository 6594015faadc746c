//! `POST /v2/customer/factors/sms` (bearer): makes codes by SMS to the account's confirmed phone its
//! second factor, and answers the ten recovery codes, once. From then on a right password answers
//! `mfa_required` offering `sms`; the app asks for the code (`POST /v2/mobile/sign-in/code`) and
//! completes the sign-in with `grant_type=mfa` and `sms_code`.
//!
//! No code to verify here: it needs `aal2` reached in the last five minutes (`factors::step_up`),
//! which on an account without a factor is a code to this very phone, and the phone must have
//! been the account's for a day (`PHONE_NOT_SETTLED`), as for any first enrolment.
//!
//! The stack's `SmsFactorEnrolment` parameter keeps it off (403 `SECOND_FACTOR_NOT_OFFERED`) until
//! every function that enforces codes by SMS is live (docs/factors.md, "Deploying these releases").
//!
//! An independent second element needs the password not to be reset by the same SIM: so the
//! account needs a confirmed email address (409 `EMAIL_NOT_SET` otherwise), and from then on a
//! reset by SMS is refused for it (`password_reset`). That is what it means for a phone-first
//! account too: its phone is also its identifier, which is no secret, and it may take codes by SMS
//! once it has an address to reset by. One second factor per account (409 `SECOND_FACTOR_ENROLLED`
//! if it has one). The factor, the recovery codes and the conditions that the account still has
//! no factor, and the phone and address read, are one write. The owner is told on every contact.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::super::notices::{SecurityEvent, confirmed_channels, notify};
use super::super::race_backoff;
use super::super::signed_in::{SignedIn, signed_in_to_enrol};
use super::sealed_recovery_set;
use crate::App;
use crate::admission::{RateClass, rate_limit};
use crate::domain::utc_time::UtcTime;
use crate::error::ApiError;
use crate::factors::step_up::Guarded;
use crate::http::response::{finish, json};
use crate::mail::Mailer;
use crate::ports::FactorKind;
use crate::ports::{AccountRecord, SmsEnrolment, StoreError};
use crate::security::access_token::AccessTokenVerifier;
use crate::security::random;
use crate::webhooks::event::{AccountEvent, EventRecord};

/// Whether the stack takes SMS-factor enrolments (`config::sms_factor_enrolment`): `Off` answers
/// 403 `SECOND_FACTOR_NOT_OFFERED`, as a partner's `off` policy does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsFactorSwitch {
    On,
    Off,
}

pub async fn handle(
    app: &App,
    verifier: &AccessTokenVerifier,
    mailer: &Mailer,
    switch: SmsFactorSwitch,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    finish("sms-factor-enrol", &req, enrol(app, verifier, mailer, switch, &req).await)
}

async fn enrol(
    app: &App,
    verifier: &AccessTokenVerifier,
    mailer: &Mailer,
    switch: SmsFactorSwitch,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    // The switch and the policy before the step-up is asked for: an app is not sent through a
    // step-up (and an SMS) for an enrolment it cannot have.
    let signed_in = signed_in_to_enrol(app, verifier, req, Method::POST).await?;
    rate_limit::check(app, &signed_in.caller.client, RateClass::Contact).await?;
    if switch == SmsFactorSwitch::Off || !signed_in.caller.partner.second_factor.allows_enrolment() {
        return Err(ApiError::SecondFactorNotOffered);
    }
    signed_in.allowed(app, Guarded::EnrolFactor)?;
    let SignedIn { caller, account, .. } = signed_in;
    if account.factors.has_second_factor() {
        return Err(ApiError::SecondFactorEnrolled);
    }
    let now = app.clock.now();
    let key = account.confirmed_phone_key().ok_or(ApiError::PhoneNotSet)?;
    account.phone_settled(now).map_err(|wait| ApiError::PhoneNotSettled { retry_after: wait.unsigned_abs() })?;
    // Every sign-in will send to it: a country the partner does not send to cannot be the factor.
    caller.partner.check_sms_country(&key.phone)?;
    let Some(email) = account.email.as_deref() else { return Err(ApiError::EmailNotSet) };
    let (set, shown) = sealed_recovery_set(app, &account, now).await?;
    let factor_id = random::id();
    let enrolment = SmsEnrolment {
        user_id: &account.user_id,
        factor_id: &factor_id,
        phone: &key,
        email,
        checked_hash: &account.password_hash,
        recovery: set,
        now,
        events: Vec::new(),
    };
    write(app, &account, enrolment).await?;
    tracing::info!(user_id = %account.user_id, factor_id = %factor_id, phone = %key.phone.masked(), "SMS factor enrolled");
    notify(app, mailer, &caller.partner, &confirmed_channels(&account), &SecurityEvent::SmsFactorAdded, now).await;
    let codes: Vec<&str> = shown.iter().map(|code| code.as_str()).collect();
    Ok(json(
        201,
        &json!({
            "factorId": factor_id,
            "type": "sms",
            "phone": key.phone.masked(),
            "createdAt": UtcTime(now).rfc3339(),
            "recoveryCodes": codes,
        }),
    ))
}

/// Enrolments that keep meeting transactions in flight on the account item before a 503.
const ENROL_TRIES: u64 = 3;

/// The enrolment written; `SECOND_FACTOR_ENROLLED` if a factor was enrolled meanwhile, 503 if the
/// phone, the address or the password moved after the read (the app asks again, which reads them
/// anew) or transactions in flight kept refusing it.
/// Each try numbers the partner's `account.factor_added` from the account as last read.
async fn write(app: &App, read: &AccountRecord, enrolment: SmsEnrolment<'_>) -> Result<(), ApiError> {
    let mut events_so_far = read.event_sequence;
    for round in 0..ENROL_TRIES {
        if round > 0 {
            race_backoff(round).await;
        }
        let added = AccountEvent::FactorAdded { factor: FactorKind::Sms };
        let events = vec![EventRecord::new(added, &read.user_id, &read.merchant_id, enrolment.now, events_so_far + 1)];
        let attempt = SmsEnrolment { recovery: enrolment.recovery.clone(), events, ..enrolment };
        match app.store.enrol_sms_factor(attempt).await {
            Ok(()) => return Ok(()),
            Err(StoreError::Conflict) => {
                let current = app.store.account(&read.user_id).await?;
                let Some(current) = current else { return Err(ApiError::Unavailable) };
                if current.factors.has_second_factor() {
                    return Err(ApiError::SecondFactorEnrolled);
                }
                let unchanged = current.status == read.status
                    && current.phone == read.phone
                    && current.email == read.email
                    && current.password_hash == read.password_hash;
                if !unchanged {
                    return Err(ApiError::Unavailable);
                }
                events_so_far = current.event_sequence;
            }
            Err(other) => return Err(other.into()),
        }
    }
    tracing::warn!(rounds = ENROL_TRIES, "SMS factor enrolment kept meeting transactions in flight");
    Err(ApiError::Unavailable)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::{Value, json};

    use super::*;
    use crate::handlers::{step_up_code, token};
    use crate::testing::{Reply, TestApp, bearer, request};

    const PHONE: &str = "+447871000071";
    const PASSWORD: &str = "Sms-factor-71";

    fn reply(response: Result<Response<Body>, Infallible>) -> Reply {
        match response {
            Ok(response) => Reply::from(response),
            Err(never) => match never {},
        }
    }

    /// A session of a phone-first account raised to `aal2` by a code to its phone.
    async fn stepped_up(t: &TestApp) -> Reply {
        let tokens = t.registered(PHONE, PASSWORD).await;
        t.clock.advance(61);
        let auth = bearer(&tokens);
        let ask =
            request(include_str!("../../../../events/step-up-code.json"), Value::Null, &[("authorization", &auth)]);
        assert_eq!(reply(step_up_code::handle(&t.app, &t.verifier, ask).await).status, 200);
        let refresh = tokens.body["refresh_token"].as_str().unwrap();
        let code = t.latest_code(PHONE);
        let body = json!({ "grant_type": "step_up", "refresh_token": refresh, "password": PASSWORD, "sms_code": code });
        let req = request(include_str!("../../../../events/token-password.json"), body, &[]);
        let raised = reply(token::handle(&t.app, &t.issuer, &t.mailer, req).await);
        assert_eq!(raised.status, 200, "{:?}", raised.body);
        raised
    }

    async fn enrol_with(t: &TestApp, tokens: &Reply, switch: SmsFactorSwitch) -> Reply {
        let auth = bearer(tokens);
        let req =
            request(include_str!("../../../../events/sms-factor-enrol.json"), Value::Null, &[("authorization", &auth)]);
        reply(handle(&t.app, &t.verifier, &t.mailer, switch, req).await)
    }

    #[tokio::test]
    async fn a_stack_that_has_not_turned_codes_by_sms_on_refuses_the_enrolment() {
        // GIVEN a session at aal2 by a code to the phone, on a stack whose SmsFactorEnrolment is off
        let t = TestApp::new().await;
        let raised = stepped_up(&t).await;
        // WHEN it asks for codes by SMS
        let refused = enrol_with(&t, &raised, SmsFactorSwitch::Off).await;
        // THEN it is told they are not offered, and the account has no factor
        assert_eq!((refused.status, &refused.body["error"]), (403, &json!("SECOND_FACTOR_NOT_OFFERED")));
        let user_id = t.store.account_for_phone(PHONE).await.unwrap();
        let account = crate::ports::Directory::account(&*t.store, &user_id).await.unwrap().unwrap();
        assert!(!account.factors.has_second_factor());
        // AND on a stack that has, the same account is told what it lacks (an address to reset by)
        let lacking = enrol_with(&t, &raised, SmsFactorSwitch::On).await;
        assert_eq!((lacking.status, &lacking.body["error"]), (409, &json!("EMAIL_NOT_SET")));
    }
}
