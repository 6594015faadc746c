//! `POST /v2/mobile/password/forgot` `{phone}` or `{email}` → always `{"result":"ok"}`. A confirmed
//! account gets a reset code: by SMS to its phone (5 minutes), or by email to its confirmed address
//! (10 minutes), so an email-first account without a phone is never locked out. An account whose
//! second factor is codes by SMS is reset by email only. Any other phone or
//! address gets nothing, but the request records a send under the same limits, stores a decoy code
//! and waits as long as a send takes here, so status, body, limits, time and the answers to the
//! codes guessed next are the same.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use zeroize::Zeroizing;

use super::delivery::{Timing, code_to_account_phone, deliver, new_code_for, send_nothing_alike};
use super::recovery_identifier::phone_or_email;
use super::{Attempt, EMAIL_CODE_TTL_SECS, NO_USER, retry_races};
use crate::App;
use crate::admission::{RateClass, admit};
use crate::domain::partner::Partner;
use crate::error::ApiError;
use crate::http::request::{json_body, require_method};
use crate::http::response::{finish, json};
use crate::latency::LatencyEstimate;
use crate::mail::Mailer;
use crate::ports::{AccountStatus, EmailKey, Identifier, IssuedCode, OwnedIdentifier, PhoneKey, Recipient};
use crate::security::code::{CodePurpose, ConfirmationCode};

#[derive(Deserialize)]
struct ForgotRequest {
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

pub async fn handle(app: &App, mailer: &Mailer, req: Request) -> Result<Response<Body>, Infallible> {
    finish("password-forgot", &req, forgot(app, mailer, &req).await)
}

async fn forgot(app: &App, mailer: &Mailer, req: &Request) -> Result<Response<Body>, ApiError> {
    require_method(req, Method::POST)?;
    let caller = admit(app, req, RateClass::Send).await?;
    let partner = &*caller.partner;
    let body: ForgotRequest = json_body(req)?;
    match phone_or_email(&partner.id, body.phone.as_deref(), body.email.as_deref())? {
        OwnedIdentifier::Phone(key) => {
            partner.check_sms_country(&key.phone)?;
            let estimate = &app.send_latency.forgot;
            retry_races(|| by_phone(app, partner, &key, estimate)).await?;
        }
        OwnedIdentifier::Email(key) => retry_races(|| by_email(app, mailer, partner, &key)).await?,
    }
    Ok(json(200, &json!({ "result": "ok" })))
}

/// A confirmed account's phone gets the code, unless the account's second factor is codes by SMS:
/// its password is reset by email only (the SIM that passes the second step must not also choose
/// the password), and its phone gets what an unknown number gets. Every number makes the same
/// reads (its claim, an account) before the send or the decoy.
async fn by_phone(
    app: &App,
    partner: &Partner,
    key: &PhoneKey,
    estimate: &LatencyEstimate,
) -> Result<Attempt<()>, ApiError> {
    let now = app.clock.now();
    let claim = app.store.phone_claim(key).await?.filter(|c| c.is_live(now) && c.status == AccountStatus::Active);
    let owner = app.store.account(claim.as_ref().map_or(NO_USER, |c| c.user_id.as_str())).await?;
    if owner.is_some_and(|account| claim.is_some() && account.factors.sms.is_some()) {
        // The claim read again, as `code_to_account_phone` reads it on the other paths.
        app.store.phone_claim(key).await?;
        let who = Identifier::Phone(key);
        return send_nothing_alike(app, partner, who, CodePurpose::PasswordReset, estimate).await;
    }
    code_to_account_phone(app, partner, key, CodePurpose::PasswordReset, reset_text, estimate).await
}

fn reset_text(code: &ConfirmationCode) -> Zeroizing<String> {
    Zeroizing::new(format!(
        "{} is your password reset code. It expires in 5 minutes. If you did not ask to reset your password, ignore this message.",
        code.expose()
    ))
}

/// The address must be an account's confirmed one (its claim); a pending address gets nothing.
async fn by_email(app: &App, mailer: &Mailer, partner: &Partner, key: &EmailKey) -> Result<Attempt<()>, ApiError> {
    let now = app.clock.now();
    let who = Identifier::Email(key);
    let estimate = &app.send_latency.forgot_email;
    // An unknown address reads an account too (none), so both cases make the same reads.
    let owner_id = app.store.email_owner(&key.merchant_id, &key.email).await?;
    let owner = app
        .store
        .account(owner_id.as_deref().unwrap_or(NO_USER))
        .await?
        .filter(|a| owner_id.is_some() && a.status == AccountStatus::Active);
    let Some(account) = owner else {
        return send_nothing_alike(app, partner, who, CodePurpose::PasswordReset, estimate).await;
    };
    let expires_at = now + EMAIL_CODE_TTL_SECS;
    let (code, stored) = new_code_for(app, partner, who, CodePurpose::PasswordReset, &account.user_id, expires_at);
    let message = mailer.reset_code(partner, &key.email, code.expose())?;
    deliver(
        app,
        partner,
        Recipient::Email(&key.email),
        Timing::Hides(estimate),
        |send| async move { app.store.issue_code(who, CodePurpose::PasswordReset, IssuedCode::Sent(stored), &send).await },
        || mailer.sender.send(&key.email, &message),
    )
    .await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use async_trait::async_trait;
    use serde_json::json;

    use super::handle;
    use crate::domain::phone::PhoneNumber;
    use crate::ports::{SendError, SmsSender};
    use crate::testing::{Reply, TestApp, request};

    /// The recorded sender, taking as long as a send over the network would.
    struct SlowSms(Arc<dyn SmsSender>);

    #[async_trait]
    impl SmsSender for SlowSms {
        async fn send(&self, to: &PhoneNumber, text: &str) -> Result<(), SendError> {
            tokio::time::sleep(Duration::from_millis(30)).await;
            self.0.send(to, text).await
        }
    }

    /// SNS refusing every publish (throttled, a number it will not send to, the SMS sandbox).
    struct RefusingSms;

    #[async_trait]
    impl SmsSender for RefusingSms {
        async fn send(&self, _to: &PhoneNumber, _text: &str) -> Result<(), SendError> {
            Err(SendError("Throttling: rate exceeded".into()))
        }
    }

    async fn forgot_answers(t: &TestApp, phone: &str) -> Reply {
        let req = request(include_str!("../../../events/password-forgot.json"), json!({ "phone": phone }), &[]);
        Reply::from(handle(&t.app, &t.mailer, req).await.unwrap_or_else(|never| match never {}))
    }

    #[tokio::test]
    async fn a_send_that_fails_answers_as_an_unknown_number_does_now_and_on_the_retry() {
        // GIVEN an account, and SNS refusing every SMS
        let mut t = TestApp::new().await;
        t.registered("+447871000041", "Harbour-Kestrel-42").await;
        t.clock.advance(61);
        t.app.sms = Arc::new(RefusingSms);
        // WHEN forgot-password is asked for its number and for an unknown one, and again 2 s later
        let first = (forgot_answers(&t, "+447871000041").await, forgot_answers(&t, "+447871000042").await);
        t.clock.advance(2);
        let retry = (forgot_answers(&t, "+447871000041").await, forgot_answers(&t, "+447871000042").await);
        // THEN both answer 200 first and the same cooldown after: a failed send says no account is there
        assert_eq!((first.0.status, first.1.status), (200, 200), "{:?} / {:?}", first.0.body, first.1.body);
        assert_eq!((retry.0.status, retry.1.status), (429, 429));
        assert_eq!(retry.0.body, retry.1.body);
    }

    async fn forgot_takes(t: &TestApp, phone: &str) -> Duration {
        let req = request(include_str!("../../../events/password-forgot.json"), json!({ "phone": phone }), &[]);
        let started = tokio::time::Instant::now();
        let reply = Reply::from(handle(&t.app, &t.mailer, req).await.unwrap_or_else(|never| match never {}));
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        started.elapsed()
    }

    #[tokio::test]
    async fn a_new_environment_answers_a_known_and_an_unknown_number_after_the_same_time() {
        // GIVEN a fresh environment (nothing measured yet) whose SMS take 30 ms, and one account
        let mut t = TestApp::new().await;
        t.registered("+447871000031", "Harbour-Kestrel-42").await;
        t.app.sms = Arc::new(SlowSms(t.sms.clone()));
        t.clock.advance(61); // past the signup code's cooldown
        // WHEN its first forgot-password requests, for that account's number and for an unknown one,
        // run on tokio's paused clock (the store answers at once; only the send and the padding take time)
        tokio::time::pause();
        let unknown_first = forgot_takes(&t, "+447871000032").await;
        let known = forgot_takes(&t, "+447871000031").await;
        let unknown_after = forgot_takes(&t, "+447871000033").await;
        // THEN all took exactly as long: the real send was padded to what the decoy waits, and it
        // did not change what the request after it waits
        assert_eq!(t.sms.to("+447871000031").len(), 2, "signup code, then the reset code");
        assert_eq!((known, unknown_after), (unknown_first, unknown_first));
    }
}
