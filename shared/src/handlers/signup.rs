//! `POST /v2/mobile/signup` `{phone, password, analyticsCallback?}` → `{"result":"ok"}`.
//!
//! A new phone gets a pending account and an SMS code. A pending phone signed up again with the same
//! password gets a new code. Signed up with another password, the signup is contested: its
//! password is withdrawn (nobody can know it), and whoever confirms with the SMS code sets one with
//! an SMS reset code. So a person who never receives an SMS for the number can never know the
//! password of an account confirmed from it, in whatever order the signups came. A phone with an
//! account answers the same and changes nothing; its owner gets a notice instead of a code, and a
//! decoy code stands where a code would. Every case sends one SMS under the same limits, reads one
//! account and verifies one password, and the notice waits out the time a new signup's
//! transaction takes here, so neither the answer, its timing nor the next request says which case
//! it was.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

use super::delivery::{
    EXISTING_ACCOUNT_NOTICE, Timing, code_text, contested_code_text, decoy_code, new_code, send_with,
};
use super::{Attempt, NO_USER, PENDING_ACCOUNT_TTL_SECS, SMS_CODE_TTL_SECS, retry_races};
use crate::App;
use crate::admission::{RateClass, admit};
use crate::domain::partner::Partner;
use crate::domain::password::Password;
use crate::domain::password_policy::PasswordContext;
use crate::domain::phone::PhoneNumber;
use crate::error::ApiError;
use crate::http::request::{json_body, require_method};
use crate::http::response::{finish, json};
use crate::ports::{AccountStatus, Identifier, IssuedCode, NewPendingAccount, PhoneKey};
use crate::security::code::CodePurpose;
use crate::security::password_hash::UNUSABLE_HASH;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignupRequest {
    phone: String,
    password: String,
    /// Accepted for compatibility with seed 002 clients; not stored.
    #[serde(default)]
    #[allow(dead_code)]
    analytics_callback: Option<serde_json::Value>,
}

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, Infallible> {
    finish("signup", &req, signup(app, &req).await)
}

async fn signup(app: &App, req: &Request) -> Result<Response<Body>, ApiError> {
    require_method(req, Method::POST)?;
    let caller = admit(app, req, RateClass::Send).await?;
    let partner = &caller.partner;
    let body: SignupRequest = json_body(req)?;
    let phone = PhoneNumber::parse(&body.phone)?;
    partner.check_sms_country(&phone)?;
    let password = Password::new(body.password)?;
    partner.password_policy().check(&password, &PasswordContext::for_phone(&phone))?;
    // Hashed whatever the phone's state, so every case costs the same time.
    let password_hash = app.hasher.hash(&password).await?;
    let key = PhoneKey { merchant_id: partner.id.clone(), phone };

    retry_races(|| attempt(app, partner, &key, &password, &password_hash)).await?;
    Ok(json(200, &json!({ "result": "ok" })))
}

async fn attempt(
    app: &App,
    partner: &Partner,
    key: &PhoneKey,
    password: &Password,
    password_hash: &str,
) -> Result<Attempt<()>, ApiError> {
    let now = app.clock.now();
    let claim = app.store.phone_claim(key).await?.filter(|claim| claim.is_live(now));
    // Whether this is the password the number was signed up with. Only a pending signup needs to
    // know, but every case reads an account and verifies once, so none is faster than another.
    let account = app.store.account(claim.as_ref().map_or(NO_USER, |claim| claim.user_id.as_str())).await?;
    let stored_hash = account.as_ref().map_or(UNUSABLE_HASH, |account| account.password_hash.as_str());
    let same_password = app.hasher.verify(password, stored_hash).await?;
    let estimate = &app.send_latency.signup;
    match claim {
        None => {
            let user_id = uuid::Uuid::new_v4().to_string();
            let (code, stored) = new_code(app, partner, key, CodePurpose::PhoneSignup, &user_id, now);
            let account = NewPendingAccount {
                user_id: user_id.clone(),
                password_hash: password_hash.to_owned(),
                created_at: now,
                expires_at: now + PENDING_ACCOUNT_TTL_SECS,
            };
            let sent = send_with(app, partner, key, &code_text(&code), Timing::Sets(estimate), |sms| async move {
                app.store.create_pending_account(key, account, stored, &sms).await
            })
            .await?;
            if matches!(sent, Attempt::Done(())) {
                tracing::info!(user_id = %user_id, phone = %key.phone.masked(), "pending account created");
            }
            Ok(sent)
        }
        Some(claim) if claim.status == AccountStatus::Pending && same_password => {
            // The same person again: a new code, the password stays.
            let (code, stored) = new_code(app, partner, key, CodePurpose::PhoneSignup, &claim.user_id, now);
            send_with(app, partner, key, &code_text(&code), Timing::Sets(estimate), |sms| async move {
                app.store
                    .issue_code(Identifier::Phone(key), CodePurpose::PhoneSignup, IssuedCode::Sent(stored), &sms)
                    .await
            })
            .await
        }
        Some(claim) if claim.status == AccountStatus::Pending => {
            // Contested: two passwords for one number. Whoever confirms proves they hold the number,
            // but nothing proves which password is theirs, so the account gets neither: the code's
            // SMS tells the owner to set one with an SMS reset code.
            let (code, stored) = new_code(app, partner, key, CodePurpose::PhoneSignup, &claim.user_id, now);
            let user_id = &claim.user_id;
            let sent =
                send_with(app, partner, key, &contested_code_text(&code), Timing::Sets(estimate), |sms| async move {
                    app.store.replace_pending_password(key, user_id, UNUSABLE_HASH.to_owned(), stored, &sms).await
                })
                .await?;
            if matches!(sent, Attempt::Done(())) {
                tracing::info!(user_id = %claim.user_id, "pending signup contested; its password is withdrawn");
            }
            Ok(sent)
        }
        Some(_) => {
            // An account has the number: its owner gets a notice, and a decoy stands where a code
            // would, so the next guesses answer as for a new number.
            let decoy = decoy_code(NO_USER, now + SMS_CODE_TTL_SECS);
            send_with(app, partner, key, EXISTING_ACCOUNT_NOTICE, Timing::Imitates(estimate), |sms| async move {
                app.store
                    .issue_code(Identifier::Phone(key), CodePurpose::PhoneSignup, IssuedCode::Decoy(decoy), &sms)
                    .await
            })
            .await
        }
    }
}
