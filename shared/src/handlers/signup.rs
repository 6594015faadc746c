//! `POST /v2/mobile/signup` `{phone, password, analyticsCallback?}` → `{"result":"ok"}`.
//!
//! A new phone gets a pending account and an SMS code. A pending phone gets its password replaced and a
//! new code (whoever holds the phone wins). A phone with an account answers the same and changes
//! nothing; its owner gets a notice instead of a code. All three send one SMS under the same limits,
//! and the notice waits out the time a new signup's transaction takes here, so neither the answer
//! nor its timing says which case it was.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

use super::delivery::{EXISTING_ACCOUNT_NOTICE, Timing, code_text, new_code, send_with};
use super::{Attempt, PENDING_ACCOUNT_TTL_SECS, retry_races};
use crate::App;
use crate::admission::{RateClass, admit};
use crate::domain::partner::Partner;
use crate::domain::password::Password;
use crate::domain::password_policy::PasswordContext;
use crate::domain::phone::PhoneNumber;
use crate::error::ApiError;
use crate::http::request::{json_body, require_method};
use crate::http::response::{finish, json};
use crate::ports::{AccountStatus, NewPendingAccount, PhoneKey};
use crate::security::code::CodePurpose;

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
    finish("signup", signup(app, &req).await)
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

    retry_races(|| attempt(app, partner, &key, &password_hash)).await?;
    Ok(json(200, &json!({ "result": "ok" })))
}

async fn attempt(app: &App, partner: &Partner, key: &PhoneKey, password_hash: &str) -> Result<Attempt<()>, ApiError> {
    let now = app.clock.now();
    let claim = app.store.phone_claim(key).await?.filter(|claim| claim.is_live(now));
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
            let sent = send_with(
                app,
                partner,
                key,
                &code_text(&code),
                Timing::Sets(&app.send_latency.signup),
                |sms| async move { app.store.create_pending_account(key, account, stored, &sms).await },
            )
            .await?;
            if matches!(sent, Attempt::Done(())) {
                tracing::info!(user_id = %user_id, phone = %key.phone.masked(), "pending account created");
            }
            Ok(sent)
        }
        Some(claim) if claim.status == AccountStatus::Pending => {
            let (code, stored) = new_code(app, partner, key, CodePurpose::PhoneSignup, &claim.user_id, now);
            let hash = password_hash.to_owned();
            send_with(app, partner, key, &code_text(&code), Timing::Sets(&app.send_latency.signup), |sms| async move {
                app.store.replace_pending_password(key, &claim.user_id, hash, stored, &sms).await
            })
            .await
        }
        Some(_) => {
            send_with(
                app,
                partner,
                key,
                EXISTING_ACCOUNT_NOTICE,
                Timing::Imitates(&app.send_latency.signup),
                |sms| async move { app.store.record_send(&sms).await },
            )
            .await
        }
    }
}
