//! `PUT /v2/mobile/email/add` (bearer) `{email}` → `{"result":"ok"}` and a confirmation email.
//!
//! A confirmed address stays the account's email until the new one is confirmed. An address that
//! belongs to another account gets the same answer and becomes pending alike, and its owner gets a
//! notice instead of a link, so neither the answer, the profile nor a resend says who owns what.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

use super::email_delivery::{link_answer, send_link};
use super::signed_in::{SignedIn, signed_in_for};
use crate::App;
use crate::admission::{RateClass, rate_limit, recipients};
use crate::domain::email::EmailAddress;
use crate::error::ApiError;
use crate::factors::step_up::Guarded;
use crate::http::request::json_body;
use crate::http::response::{finish, json};
use crate::mail::Mailer;
use crate::ports::Recipient;
use crate::security::access_token::AccessTokenVerifier;

#[derive(Deserialize)]
struct AddEmailRequest {
    email: String,
}

pub async fn handle(
    app: &App,
    verifier: &AccessTokenVerifier,
    mailer: &Mailer,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    finish("email-add", &req, add(app, verifier, mailer, &req).await)
}

async fn add(
    app: &App,
    verifier: &AccessTokenVerifier,
    mailer: &Mailer,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let SignedIn { caller, account, .. } = signed_in_for(app, verifier, req, Method::PUT, Guarded::ChangeEmail).await?;
    rate_limit::check(app, &caller.client, RateClass::Contact).await?;
    let partner = &caller.partner;
    let body: AddEmailRequest = json_body(req)?;
    let email = EmailAddress::parse(&body.email)?;

    if account.email.as_deref() == Some(email.as_str()) {
        // Already this account's confirmed address: nothing to confirm.
        return Ok(json(200, &json!({ "result": "ok" })));
    }
    recipients::admit(app, &account.user_id, Recipient::Email(&email)).await?;
    let link = send_link(app, mailer, partner, &account, &email).await?;
    tracing::info!(user_id = %account.user_id, email = %email.masked(), "email confirmation sent");
    Ok(json(200, &link_answer(partner, link)))
}
