//! `POST /v2/mobile/signup/email` `{email, password, userType?, emailConfirmCode?}` (seed 003).
//!
//! Without `emailConfirmCode` it answers `{}` and mails a 6-digit code (10 minutes, 5 attempts, one
//! use, the same cooldown and caps as SMS codes). An address that already has an account gets the
//! same answer in the same time, and its owner a notice instead of a code. With the code, the
//! account is created with its address confirmed, and the answer is the token response.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

use super::codes::{check_code, consume_code};
use super::delivery::{Timing, decoy_code, deliver, new_code_for};
use super::token::session_tokens::{access_token_for, new_session, token_response};
use super::{Attempt, EMAIL_CODE_TTL_SECS, NO_USER, retry_races};
use crate::App;
use crate::admission::{Caller, RateClass, admit};
use crate::domain::email::EmailAddress;
use crate::domain::password::Password;
use crate::domain::password_policy::PasswordContext;
use crate::error::ApiError;
use crate::factors::assurance::Assurance;
use crate::http::request::{json_body, require_method};
use crate::http::response::{finish, json};
use crate::mail::Mailer;
use crate::ports::{EmailKey, Identifier, IssuedCode, NewEmailAccount, Recipient};
use crate::security::code::{CodePurpose, ConfirmationCode};
use crate::security::tokens::TokenIssuer;
use crate::webhooks::event::{AccountEvent, EventRecord, Identifier as EventIdentifier};

/// The only user type this service creates; the field exists for seed 003 clients.
const CUSTOMER: &str = "CUSTOMER";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EmailSignupRequest {
    email: String,
    password: String,
    #[serde(default)]
    user_type: Option<String>,
    #[serde(default)]
    email_confirm_code: Option<String>,
}

pub async fn handle(
    app: &App,
    issuer: &TokenIssuer,
    mailer: &Mailer,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    finish("signup-email", &req, signup(app, issuer, mailer, &req).await)
}

async fn signup(app: &App, issuer: &TokenIssuer, mailer: &Mailer, req: &Request) -> Result<Response<Body>, ApiError> {
    require_method(req, Method::POST)?;
    let confirming = peek_has_code(req);
    // Asking for a code sends mail; confirming one is a guess like any other code.
    let caller = admit(app, req, if confirming { RateClass::Verify } else { RateClass::Send }).await?;
    let body: EmailSignupRequest = json_body(req)?;
    let email = EmailAddress::parse(&body.email)?;
    let user_type = body.user_type.as_deref().unwrap_or(CUSTOMER);
    if user_type != CUSTOMER {
        return Err(ApiError::validation("userType", "oneOf", "userType must be CUSTOMER."));
    }
    let password = Password::new(body.password)?;
    caller.partner.password_policy().check(&password, &PasswordContext::for_email(email.as_str()))?;
    let key = EmailKey { merchant_id: caller.partner.id.clone(), email };

    match body.email_confirm_code {
        None => {
            retry_races(|| send_code(app, mailer, &caller, &key)).await?;
            Ok(json(200, &json!({})))
        }
        Some(code) => {
            let code = ConfirmationCode::parse(&code)?;
            create_account(app, issuer, &caller, &key, &code, &password, user_type).await
        }
    }
}

/// Whether the body carries a code, to pick the rate class before the body is validated.
fn peek_has_code(req: &Request) -> bool {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Peek {
        email_confirm_code: Option<serde_json::Value>,
    }
    serde_json::from_slice::<Peek>(req.body().as_ref()).is_ok_and(|p| p.email_confirm_code.is_some())
}

async fn send_code(app: &App, mailer: &Mailer, caller: &Caller, key: &EmailKey) -> Result<Attempt<()>, ApiError> {
    let partner = &caller.partner;
    let to = Recipient::Email(&key.email);
    let now = app.clock.now();
    if app.store.email_owner(&key.merchant_id, &key.email).await?.is_some() {
        let notice = mailer.signup_existing(partner, &key.email)?;
        let decoy = decoy_code(NO_USER, now + EMAIL_CODE_TTL_SECS);
        return deliver(
            app,
            partner,
            to,
            Timing::Imitates(&app.send_latency.signup_email),
            |send| async move {
                app.store
                    .issue_code(Identifier::Email(key), CodePurpose::EmailSignup, IssuedCode::Decoy(decoy), &send)
                    .await
            },
            || mailer.sender.send(&key.email, &notice),
        )
        .await;
    }
    // The account id is chosen now and bound into the code, so the code creates exactly this account.
    let user_id = uuid::Uuid::new_v4().to_string();
    let (code, stored) = new_code_for(
        app,
        partner,
        Identifier::Email(key),
        CodePurpose::EmailSignup,
        &user_id,
        now + EMAIL_CODE_TTL_SECS,
    );
    let message = mailer.signup_code(partner, &key.email, code.expose())?;
    let sent = deliver(
        app,
        partner,
        to,
        Timing::Sets(&app.send_latency.signup_email),
        |send| async move {
            app.store
                .issue_code(Identifier::Email(key), CodePurpose::EmailSignup, IssuedCode::Sent(stored), &send)
                .await
        },
        || mailer.sender.send(&key.email, &message),
    )
    .await?;
    if matches!(sent, Attempt::Done(())) {
        tracing::info!(email = %key.email.masked(), "email signup code sent");
    }
    Ok(sent)
}

async fn create_account(
    app: &App,
    issuer: &TokenIssuer,
    caller: &Caller,
    key: &EmailKey,
    code: &ConfirmationCode,
    password: &Password,
    user_type: &str,
) -> Result<Response<Body>, ApiError> {
    let now = app.clock.now();
    let who = Identifier::Email(key);
    let stored = check_code(&*app.store, &app.code_mac, who, CodePurpose::EmailSignup, code, None, now).await?;
    let password_hash = app.hasher.hash(password).await?;

    let (refresh, session) = new_session(caller.headers.fingerprint.clone(), 0, Assurance::password(now), now);
    let access_token =
        access_token_for(issuer, caller, &stored.user_id, &session.session_id, &session.assurance, now).await?;
    // The account's first event (the same id on every try: a retry of a commit is refused).
    let created = EventRecord::new(
        AccountEvent::Created { identifier: EventIdentifier::Email(key.email.clone()) },
        &stored.user_id,
        &key.merchant_id,
        now,
        1,
    );
    consume_code(&*app.store, who, CodePurpose::EmailSignup, &stored.code_id, || {
        let account = NewEmailAccount {
            user_id: stored.user_id.clone(),
            password_hash: password_hash.clone(),
            user_type: user_type.to_owned(),
            created_at: now,
            events: vec![created.clone()],
        };
        app.store.create_email_account(key, &stored.code_id, account, session.clone())
    })
    .await?;
    tracing::info!(user_id = %stored.user_id, email = %key.email.masked(), "email-first account created");
    Ok(token_response(access_token, caller, &stored.user_id, &refresh))
}
