//! `GET /v2/mobile/email/confirm?token=…`: the link in the email. A person gets a small page saying
//! what happened and what to do next; a client that asks for `application/json` gets JSON. A bad,
//! missing, used or expired token is a 4xx page, never a 5xx. Opening the link again after it worked
//! says the address is confirmed rather than scolding the user.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use crate::App;
use crate::domain::kyc::KycLevel;
use crate::error::ApiError;
use crate::http::request::{query_param, require_method, wants_json};
use crate::http::response::{finish, html, json};
use crate::mail::page;
use crate::ports::{EmailConfirmation, StoreError};
use crate::security::tokens::EmailLinkToken;

const MAX_TOKEN_LEN: usize = 256;
const ATTEMPTS: usize = 3;

/// What following the link came to.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Confirmed,
    AlreadyConfirmed,
}

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, Infallible> {
    let result = confirm(app, &req).await;
    if wants_json(&req) {
        return finish("email-confirm", result.map(|_| json(200, &json!({ "result": "ok" }))));
    }
    let response = match &result {
        Ok(Outcome::Confirmed) => {
            page(true, "Your email is confirmed", "Thank you. You can close this page and go back to the app.", None)
        }
        Ok(Outcome::AlreadyConfirmed) => {
            page(true, "Your email is confirmed", "This address was already confirmed. You can close this page.", None)
        }
        Err(err @ (ApiError::LinkInvalid | ApiError::LinkExpired)) => page(
            false,
            if matches!(err, ApiError::LinkExpired) { "This link has expired" } else { "This link is not valid" },
            "Links work once, for 24 hours, and only the newest one works.",
            Some("Open the app and ask for a new confirmation email."),
        ),
        Err(ApiError::EmailInUse) => page(
            false,
            "This address is already in use",
            "Another account already uses this email address.",
            Some("Open the app and add a different address."),
        ),
        Err(_) => page(
            false,
            "Something went wrong",
            "We could not confirm your email right now.",
            Some("Try the link again in a minute."),
        ),
    };
    let status = result.as_ref().map_or_else(ApiError::status, |_| 200);
    finish(
        "email-confirm",
        match (result, response) {
            (_, Ok(body)) => Ok(html(status, body)),
            (_, Err(render)) => Err(render),
        },
    )
}

async fn confirm(app: &App, req: &Request) -> Result<Outcome, ApiError> {
    require_method(req, Method::GET)?;
    let token =
        query_param(req, "token").filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN_LEN).ok_or(ApiError::LinkInvalid)?;
    let hash = EmailLinkToken::from_client(token).digest();
    for _ in 0..ATTEMPTS {
        let record = app.store.email_token(&hash).await?.ok_or(ApiError::LinkInvalid)?;
        let account = app.store.account(&record.user_id).await?.ok_or(ApiError::LinkInvalid)?;
        if record.used_at.is_some() {
            return if account.email.as_deref() == Some(record.email.as_str()) {
                Ok(Outcome::AlreadyConfirmed)
            } else {
                Err(ApiError::LinkInvalid)
            };
        }
        let now = app.clock.now();
        if record.expires_at <= now {
            return Err(ApiError::LinkExpired);
        }
        if account.pending_email_token.as_deref() != Some(hash.as_str()) {
            // A newer link was sent; only the newest works.
            return Err(ApiError::LinkInvalid);
        }
        let confirmation = EmailConfirmation {
            token_hash: &hash,
            user_id: &account.user_id,
            merchant_id: &account.merchant_id,
            email: &record.email,
            previous_email: account.email.as_deref(),
            kyc_level: KycLevel::of(account.phone_confirmed(), true, &account.details),
            expected_version: account.profile_version,
            now,
        };
        match app.store.confirm_email(confirmation).await {
            Ok(()) => {
                tracing::info!(user_id = %account.user_id, "email confirmed");
                return Ok(Outcome::Confirmed);
            }
            Err(StoreError::Conflict) => {
                let email = crate::domain::email::EmailAddress::parse(&record.email)?;
                let owner = app.store.email_owner(&account.merchant_id, &email).await?;
                if owner.is_some_and(|owner| owner != account.user_id) {
                    return Err(ApiError::EmailInUse);
                }
                // The token was used or the profile changed meanwhile: look again.
            }
            Err(other) => return Err(other.into()),
        }
    }
    Err(ApiError::Unavailable)
}
