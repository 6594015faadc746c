//! `PUT /v2/mobile/email/add` (bearer) `{email}` → `{"result":"ok"}` and a confirmation email.
//!
//! A confirmed address stays the account's email until the new one is confirmed. An address that
//! belongs to another account gets the same answer, and its owner a notice instead of a link, so the
//! answer says nothing about who owns what.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

use super::email_delivery::{send_in_use_notice, send_link};
use crate::App;
use crate::auth::authenticate;
use crate::domain::email::EmailAddress;
use crate::error::ApiError;
use crate::http::request::{PartnerHeaders, json_body, require_method};
use crate::http::response::{finish, json};
use crate::mail::Mailer;
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
    finish("email-add", add(app, verifier, mailer, &req).await)
}

async fn add(
    app: &App,
    verifier: &AccessTokenVerifier,
    mailer: &Mailer,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    require_method(req, Method::PUT)?;
    let partner = PartnerHeaders::from_request(req)?;
    let principal = authenticate(app, verifier, req, &partner).await?;
    let body: AddEmailRequest = json_body(req)?;
    let email = EmailAddress::parse(&body.email)?;
    let account =
        app.store.account(&principal.user_id).await?.ok_or_else(|| ApiError::Unauthorized("account gone".into()))?;

    if account.email.as_deref() == Some(email.as_str()) {
        // Already this account's confirmed address: nothing to confirm.
        return Ok(json(200, &json!({ "result": "ok" })));
    }
    match app.store.email_owner(&partner.merchant_id, &email).await? {
        Some(owner) if owner != account.user_id => send_in_use_notice(app, mailer, &email).await?,
        _ => send_link(app, mailer, &account, &email).await?,
    }
    tracing::info!(user_id = %account.user_id, email = %email.masked(), "email confirmation sent");
    Ok(json(200, &json!({ "result": "ok" })))
}
