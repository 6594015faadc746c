//! `POST /v2/mobile/phone/confirm` `{phone, code}` → the token response; activates the account.
//!
//! An attempt is spent before the code is compared, so no burst of parallel guesses gets more than
//! five tries; the code is consumed in the same transaction that activates the account, so two
//! parallel confirms with the right code give exactly one success.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

use crate::App;
use crate::admission::{RateClass, admit};
use crate::domain::phone::PhoneNumber;
use crate::error::ApiError;
use crate::factors::assurance::Assurance;
use crate::http::request::{json_body, require_method};
use crate::http::response::finish;
use crate::ports::{Identifier, PhoneKey};
use crate::security::code::{CodePurpose, ConfirmationCode};

use super::codes::{check_code, consume_code};
use crate::security::tokens::TokenIssuer;
use crate::webhooks::event::{AccountEvent, EventRecord, Identifier as EventIdentifier};

use super::token::session_tokens::{access_token_for, new_session, token_response};

#[derive(Deserialize)]
struct ConfirmRequest {
    phone: String,
    code: String,
}

pub async fn handle(app: &App, issuer: &TokenIssuer, req: Request) -> Result<Response<Body>, Infallible> {
    finish("phone-confirm", &req, confirm(app, issuer, &req).await)
}

async fn confirm(app: &App, issuer: &TokenIssuer, req: &Request) -> Result<Response<Body>, ApiError> {
    require_method(req, Method::POST)?;
    let caller = admit(app, req, RateClass::Verify).await?;
    let body: ConfirmRequest = json_body(req)?;
    let phone = PhoneNumber::parse(&body.phone)?;
    let code = ConfirmationCode::parse(&body.code)?;
    let key = PhoneKey { merchant_id: caller.merchant_id().to_owned(), phone };
    let purpose = CodePurpose::PhoneSignup;
    let now = app.clock.now();

    let stored = check_code(&*app.store, &app.code_mac, Identifier::Phone(&key), purpose, &code, None, now).await?;

    let (refresh, session) = new_session(caller.headers.fingerprint.clone(), 0, Assurance::password(now), now);
    let access_token =
        access_token_for(issuer, &caller, &stored.user_id, &session.session_id, &session.assurance, now).await?;
    // The account's first event: nothing was reported about a pending account.
    let created = [EventRecord::new(
        AccountEvent::Created { identifier: EventIdentifier::Phone(key.phone.clone()) },
        &stored.user_id,
        &key.merchant_id,
        now,
        1,
    )];
    consume_code(&*app.store, Identifier::Phone(&key), purpose, &stored.code_id, || {
        app.store.activate_account(&key, &stored.code_id, &stored.user_id, session.clone(), now, &created)
    })
    .await?;
    tracing::info!(user_id = %stored.user_id, "phone confirmed; account active");
    Ok(token_response(access_token, &caller, &stored.user_id, &refresh))
}
