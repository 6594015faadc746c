//! `GET /v2/account/delete?partner=<merchant id>` and `POST` of its forms: the web page a partner
//! links from Google Play, where a person deletes their account without the app. The page asks
//! for the phone number, sends an SMS code (5 minutes, 5 attempts, single use, bound to the deletion
//! purpose), and deletes the account when the code is entered, as the app's delete does.
//!
//! It follows forgot-password's rules: per-IP limits, the per-number send limits, the partner's
//! countries and budget, and no enumeration: a number without an account gets the same page, in
//! the same time, and a decoy code that answers guesses as a real one does. Plain HTML forms, no
//! script, the strict CSP of every page here; the partner is named by the query, not by headers.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::codes::check_code;
use super::delivery::code_to_account_phone;
use super::erasure::erase;
use super::retry_races;
use crate::App;
use crate::admission::{RateClass, rate_limit};
use crate::domain::partner::Partner;
use crate::domain::phone::PhoneNumber;
use crate::error::ApiError;
use crate::http::request::{json_or_form_body, query_param};
use crate::http::response::{finish, html};
use crate::mail::{DeletionStep, Mailer, deletion_page};
use crate::ports::{AccountStatus, DeletionChannel, Identifier, PhoneKey};
use crate::security::code::{CodePurpose, ConfirmationCode};

#[derive(Deserialize)]
struct DeletionForm {
    phone: Option<String>,
    code: Option<String>,
}

/// What the page shows next.
struct Shown {
    status: u16,
    ok: bool,
    done: bool,
    title: &'static str,
    message: String,
    next: Option<String>,
    ask_code_for: Option<String>,
    ask_phone: bool,
}

impl Shown {
    fn ask_phone(status: u16, title: &'static str, message: String) -> Shown {
        Shown { status, ok: status < 400, done: false, title, message, next: None, ask_code_for: None, ask_phone: true }
    }

    fn ask_code(status: u16, title: &'static str, message: String, phone: &PhoneNumber) -> Shown {
        let ask_code_for = Some(phone.e164().to_owned());
        Shown { status, ok: status < 400, done: false, title, message, next: None, ask_code_for, ask_phone: false }
    }

    fn end(status: u16, title: &'static str, message: String, next: Option<String>) -> Shown {
        Shown {
            status,
            ok: status < 400,
            done: status < 400,
            title,
            message,
            next,
            ask_code_for: None,
            ask_phone: false,
        }
    }
}

pub async fn handle(app: &App, mailer: &Mailer, req: Request) -> Result<Response<Body>, Infallible> {
    let shown = match show(app, mailer, &req).await {
        Ok(shown) => shown,
        Err(err) => problem(&err),
    };
    let step = match (&shown.ask_code_for, shown.ask_phone) {
        (Some(phone), _) => DeletionStep::Code(phone),
        (None, true) => DeletionStep::Phone,
        (None, false) => DeletionStep::None,
    };
    let page = deletion_page(shown.ok, shown.done, shown.title, &shown.message, shown.next.as_deref(), step);
    finish("deletion-page", &req, page.map(|body| html(shown.status, body)))
}

/// A failure the person can act on, as a page.
fn problem(err: &ApiError) -> Shown {
    match err {
        ApiError::TooManyRequests { retry_after } | ApiError::SmsBudgetExhausted { retry_after } => Shown::end(
            429,
            "Please wait",
            match retry_after.div_ceil(60) {
                0 | 1 => "Too many tries for now. Try again in a minute.".to_owned(),
                minutes => format!("Too many tries for now. Try again in {minutes} minutes."),
            },
            None,
        ),
        ApiError::MethodNotAllowed { .. } => {
            Shown::end(405, "Not available", "This page only takes its own forms.".to_owned(), None)
        }
        _ if err.status() < 500 => Shown::ask_phone(err.status(), "Delete your account", err.public_message()),
        _ => Shown::end(
            err.status(),
            "Something went wrong",
            "We could not do this right now. Nothing was deleted.".to_owned(),
            Some("Try again in a minute.".to_owned()),
        ),
    }
}

async fn show(app: &App, mailer: &Mailer, req: &Request) -> Result<Shown, ApiError> {
    let partner = match query_param(req, "partner").map(|id| id.trim().to_ascii_lowercase()) {
        Some(id) if !id.is_empty() && id.len() <= 64 => app.partners.get(&id).await?.filter(|p| p.is_active()),
        _ => None,
    };
    let Some(partner) = partner else {
        return Ok(Shown::end(404, "This page is not available", "The link names no app we serve.".to_owned(), None));
    };
    let partner = &*partner;
    match *req.method() {
        Method::GET => Ok(Shown::ask_phone(
            200,
            "Delete your account",
            format!(
                "Enter the phone number of your {} account. We will send it a code by SMS to check that it is yours.",
                partner.name
            ),
        )),
        Method::POST => {
            let form: DeletionForm = json_or_form_body(req)?;
            let phone = form.phone.as_deref().unwrap_or_default();
            match form.code.filter(|c| !c.trim().is_empty()) {
                None => ask_for_code(app, req, partner, phone).await,
                Some(code) => delete(app, mailer, req, partner, phone, &code).await,
            }
        }
        _ => Err(ApiError::MethodNotAllowed { allow: "GET, POST" }),
    }
}

async fn ask_for_code(app: &App, req: &Request, partner: &Partner, phone: &str) -> Result<Shown, ApiError> {
    rate_limit::check(app, &rate_limit::client_address(req), RateClass::Send).await?;
    let key = PhoneKey { merchant_id: partner.id.clone(), phone: PhoneNumber::parse(phone)? };
    partner.check_sms_country(&key.phone)?;
    let estimate = &app.send_latency.deletion;
    retry_races(|| code_to_account_phone(app, partner, &key, CodePurpose::AccountDelete, deletion_text, estimate))
        .await?;
    Ok(Shown::ask_code(
        200,
        "Check your messages",
        format!(
            "If {} has a {} account, we sent it a 6-digit code. It works for 5 minutes.",
            key.phone.e164(),
            partner.name
        ),
        &key.phone,
    ))
}

fn deletion_text(code: &ConfirmationCode) -> Zeroizing<String> {
    Zeroizing::new(format!(
        "{} is your code to delete your account. It expires in 5 minutes. If you did not ask for this, ignore this message: nothing will change.",
        code.expose()
    ))
}

async fn delete(
    app: &App,
    mailer: &Mailer,
    req: &Request,
    partner: &Partner,
    phone: &str,
    code: &str,
) -> Result<Shown, ApiError> {
    rate_limit::check(app, &rate_limit::client_address(req), RateClass::Verify).await?;
    let key = PhoneKey { merchant_id: partner.id.clone(), phone: PhoneNumber::parse(phone)? };
    let retry = |message: String| Shown::ask_code(400, "Check the code", message, &key.phone);
    let Ok(code) = ConfirmationCode::parse(code) else {
        return Ok(retry("The code is the 6 digits from the SMS.".to_owned()));
    };
    let now = app.clock.now();
    let stored = match check_code(
        &*app.store,
        &app.code_mac,
        Identifier::Phone(&key),
        CodePurpose::AccountDelete,
        &code,
        None,
        now,
    )
    .await
    {
        Ok(stored) => stored,
        Err(ApiError::CodeMismatch { attempts_remaining }) => {
            return Ok(retry(format!("That code is not right. {attempts_remaining} tries left.")));
        }
        Err(ApiError::CodeNoLongerValid) => {
            return Ok(Shown::ask_phone(
                400,
                "This code no longer works",
                "Codes work once, for 5 minutes, and for 5 tries. Ask for a new one.".to_owned(),
            ));
        }
        Err(other) => return Err(other),
    };
    let account = app.store.account(&stored.user_id).await?.filter(|a| {
        a.status == AccountStatus::Active && a.merchant_id == partner.id && a.phone.as_deref() == Some(key.phone.e164())
    });
    let deleted = match account {
        Some(account) => erase(app, mailer, partner, &account, DeletionChannel::Web).await,
        None => Err(ApiError::Unauthorized("account gone".into())),
    };
    match deleted {
        // Gone already: a parallel request (or the app) deleted it; the person's wish is met.
        Ok(()) | Err(ApiError::Unauthorized(_)) => Ok(Shown::end(
            200,
            "Your account was deleted",
            format!("Your {} account and what was kept about it were deleted. You can close this page.", partner.name),
            Some("If you sign up again later, it will be a new account.".to_owned()),
        )),
        Err(other) => Err(other),
    }
}
