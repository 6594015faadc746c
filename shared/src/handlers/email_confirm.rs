//! `GET /v2/mobile/email/confirm?token=…`, the link in the email, and `POST` of the same (the
//! page's button). Opening the link changes nothing: mail providers' link scanners open every link,
//! so a person gets a page with one button that POSTs the token (no script needed), and only the
//! POST confirms. Apps that ask for `application/json` get JSON and confirm with either method. A
//! bad, missing, used or expired token is a 4xx page, never a 5xx. Opening the link again after it
//! worked says the address is confirmed rather than scolding the user. An address that replaces
//! another gets the old one told.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

use super::EMAIL_LINK_TTL_SECS;
use super::notices::{NoticeTo, SecurityEvent, notify};
use crate::App;
use crate::domain::email::EmailAddress;
use crate::domain::kyc::KycLevel;
use crate::error::ApiError;
use crate::http::request::{json_or_form_body, query_param, wants_json};
use crate::http::response::{finish, html, json};
use crate::mail::{Mailer, confirm_button_page, page};
use crate::ports::{AccountRecord, EmailConfirmation, EmailTokenRecord, StoreError};
use crate::security::tokens::EmailLinkToken;
use crate::webhooks::event::{AccountEvent, EventRecord};

const MAX_TOKEN_LEN: usize = 256;
const ATTEMPTS: usize = 3;

/// What opening or following the link came to.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// The link is good and waits for the button, which sends this token.
    Ready(String),
    Confirmed,
    AlreadyConfirmed,
}

pub async fn handle(app: &App, mailer: &Mailer, req: Request) -> Result<Response<Body>, Infallible> {
    let api_client = wants_json(&req);
    let result = match *req.method() {
        Method::GET | Method::POST => match link_token(&req) {
            Ok(token) if req.method() == Method::GET && !api_client => inspect(app, token).await,
            Ok(token) => confirm(app, mailer, &token).await,
            Err(err) => Err(err),
        },
        _ => Err(ApiError::MethodNotAllowed { allow: "GET, POST" }),
    };
    if api_client {
        return finish("email-confirm", &req, result.map(|_| json(200, &json!({ "result": "ok" }))));
    }
    let response = match &result {
        Ok(Outcome::Ready(token)) => confirm_button_page(token),
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
        &req,
        match (result, response) {
            (_, Ok(body)) => Ok(html(status, body)),
            (_, Err(render)) => Err(render),
        },
    )
}

#[derive(Deserialize)]
struct ButtonForm {
    token: Option<String>,
}

/// The token from the query string, or from the button's form (or an app's JSON) on a POST.
fn link_token(req: &Request) -> Result<String, ApiError> {
    let from_body = match *req.method() {
        Method::POST => json_or_form_body::<ButtonForm>(req).ok().and_then(|form| form.token),
        _ => None,
    };
    from_body
        .or_else(|| query_param(req, "token"))
        .filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN_LEN)
        .ok_or(ApiError::LinkInvalid)
}

/// Where a link stands, read only.
enum Standing {
    Done(Outcome),
    Usable(Box<(EmailTokenRecord, AccountRecord)>),
}

async fn standing(app: &App, hash: &str, now: i64) -> Result<Standing, ApiError> {
    let record = app.store.email_token(hash).await?.ok_or(ApiError::LinkInvalid)?;
    let account = app.store.account(&record.user_id).await?.ok_or(ApiError::LinkInvalid)?;
    if record.used_at.is_some() {
        return if account.email.as_deref() == Some(record.email.as_str()) {
            Ok(Standing::Done(Outcome::AlreadyConfirmed))
        } else {
            Err(ApiError::LinkInvalid)
        };
    }
    if record.expires_at <= now {
        return Err(ApiError::LinkExpired);
    }
    if account.pending_email_token.as_deref() != Some(hash) {
        // A newer link was sent; only the newest works.
        return Err(ApiError::LinkInvalid);
    }
    if account.factors.enrolled_since(record.expires_at - EMAIL_LINK_TTL_SECS) {
        // Sent before the account got its factor, so without the step-up the factor asks for.
        return Err(ApiError::LinkInvalid);
    }
    Ok(Standing::Usable(Box::new((record, account))))
}

/// What the page shows before the button: nothing is written.
async fn inspect(app: &App, token: String) -> Result<Outcome, ApiError> {
    let hash = EmailLinkToken::from_client(token.clone()).digest();
    match standing(app, &hash, app.clock.now()).await? {
        Standing::Done(outcome) => Ok(outcome),
        Standing::Usable(..) => Ok(Outcome::Ready(token)),
    }
}

async fn confirm(app: &App, mailer: &Mailer, token: &str) -> Result<Outcome, ApiError> {
    let hash = EmailLinkToken::from_client(token.to_owned()).digest();
    for _ in 0..ATTEMPTS {
        let now = app.clock.now();
        let (record, account) = match standing(app, &hash, now).await? {
            Standing::Done(outcome) => return Ok(outcome),
            Standing::Usable(usable) => *usable,
        };
        let kyc_level = KycLevel::of(account.phone_confirmed(), true, &account.details);
        let email = EmailAddress::parse(&record.email)?;
        let changed = AccountEvent::EmailChanged {
            email,
            previous: account.email.as_deref().and_then(|previous| EmailAddress::parse(previous).ok()),
        };
        let reported = [Some(changed), AccountEvent::kyc_change(&account, kyc_level)];
        let confirmation = EmailConfirmation {
            token_hash: &hash,
            user_id: &account.user_id,
            merchant_id: &account.merchant_id,
            email: &record.email,
            previous_email: account.email.as_deref(),
            kyc_level,
            expected_version: account.profile_version,
            issued_at: record.expires_at - EMAIL_LINK_TTL_SECS,
            now,
            events: EventRecord::after(&account, reported.into_iter().flatten(), now),
        };
        match app.store.confirm_email(confirmation).await {
            Ok(()) => {
                tracing::info!(user_id = %account.user_id, "email confirmed");
                tell_previous_address(app, mailer, &account, &record.email, now).await;
                return Ok(Outcome::Confirmed);
            }
            Err(StoreError::Conflict) => {
                let email = EmailAddress::parse(&record.email)?;
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

/// The address the new one replaced is told (to it, not to the new one, which just proved itself).
async fn tell_previous_address(app: &App, mailer: &Mailer, account: &AccountRecord, new_email: &str, now: i64) {
    let Some(previous) = account.email.as_deref().filter(|p| *p != new_email) else {
        return;
    };
    let (Ok(previous), Ok(new_email)) = (EmailAddress::parse(previous), EmailAddress::parse(new_email)) else {
        return;
    };
    match app.partners.get(&account.merchant_id).await {
        Ok(Some(partner)) => {
            let event = SecurityEvent::EmailChanged { new_email: new_email.masked() };
            notify(app, mailer, &partner, &[NoticeTo::Email(previous)], &event, now).await;
        }
        Ok(None) => tracing::warn!(user_id = %account.user_id, "no partner for an email change notice"),
        Err(err) => tracing::warn!(user_id = %account.user_id, error = %err, "email change notice not sent"),
    }
}
