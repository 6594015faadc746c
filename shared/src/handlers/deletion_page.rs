//! `GET /v2/account/delete?partner=<merchant id>` and `POST` of its forms: the web page a partner
//! links from Google Play, where a person deletes their account without the app. The page asks
//! for the phone number, sends an SMS code (5 minutes, 5 attempts, single use, bound to the deletion
//! purpose), and deletes the account when the code is entered, as the app's delete does.
//!
//! An account with a second factor is not deleted here: the page proves the phone only, and such
//! an account's deletion needs the factor too (in the app, after a step-up).
//!
//! It follows forgot-password's rules: per-IP limits, the per-number send limits, the partner's
//! countries and budget, and no enumeration: a number without an account gets the same page, in
//! the same time, and a decoy code that answers guesses as a real one does. Plain HTML forms, no
//! script, the strict CSP of every page here; the partner is named by the query, not by headers.
//! Its forms post only to itself, so a post another site's page made a browser send
//! (`Sec-Fetch-Site`, `Origin`) is refused with a 403 page before anything is read or sent.

use std::convert::Infallible;

use lambda_http::http::{HeaderValue, Method};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
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
use crate::mail::{DeletionStep, Mailer, deletion_page, origin_of};
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
    finish(
        "deletion-page",
        &req,
        page.map(|body| {
            let mut response = html(shown.status, body);
            // `no-referrer` makes browsers send `Origin: null` with the page's own forms, which the
            // page refuses as cross-site; `same-origin` sends the real origin to this site only.
            response.headers_mut().insert("referrer-policy", HeaderValue::from_static("same-origin"));
            response
        }),
    )
}

/// Whether a POST was sent from another site than this page's, and which header says so:
/// `Sec-Fetch-Site` other than `same-origin` or `none` (a person typing or a bookmark), or an
/// `Origin` that is not the page's own (`null` included: sandboxed frames and opaque origins send
/// it, unless the browser's `Sec-Fetch-Site` says the form came from this origin). The page posts
/// only to itself, so a browser sending its forms sends neither; a request with neither header (a
/// client that is no browser, an old one) is not refused here, as no web page can make a browser
/// send one.
fn cross_site(req: &Request, mailer: &Mailer, partner: &Partner) -> Option<&'static str> {
    let header = |name: &str| req.headers().get(name).map(|v| v.to_str().unwrap_or("").trim().to_ascii_lowercase());
    let site = header("sec-fetch-site");
    if let Some(site) = &site
        && site != "same-origin"
        && site != "none"
    {
        return Some("Sec-Fetch-Site");
    }
    let origin = header("origin")?;
    // A browser told to send no referrer (by its own settings or an extension) sends `Origin: null`
    // with a page's own forms; its `Sec-Fetch-Site: same-origin`, which no page can set, says so.
    if origin == "null" && site.as_deref() == Some("same-origin") {
        return None;
    }
    let own = own_origins(req, mailer, partner);
    (!own.contains(&origin)).then_some("Origin")
}

/// The origins this request can have come from if the page sent it: the host API Gateway (or the
/// local router) was asked for, by the scheme it was asked over, and the public base URLs the pages
/// are published under (behind CloudFront, API Gateway sees its own host, the browser CloudFront's).
fn own_origins(req: &Request, mailer: &Mailer, partner: &Partner) -> Vec<String> {
    let mut own = mailer.page_origins(partner);
    let proto = req.headers().get("x-forwarded-proto").and_then(|v| v.to_str().ok()).map(str::to_ascii_lowercase);
    let schemes: &[&str] = match proto.as_deref() {
        Some("https") => &["https"],
        Some("http") => &["http"],
        // No proxy said: a local router serving plain HTTP, or a test.
        _ => &["https", "http"],
    };
    let mut hosts: Vec<String> =
        req.headers().get("host").and_then(|v| v.to_str().ok()).map(str::to_owned).into_iter().collect();
    if let RequestContext::ApiGatewayV2(ctx) = req.request_context()
        && let Some(domain) = ctx.domain_name
    {
        hosts.push(domain);
    }
    for host in hosts.iter().filter(|h| !h.is_empty()) {
        own.extend(schemes.iter().filter_map(|scheme| origin_of(&format!("{scheme}://{host}"))));
    }
    own
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
            if let Some(header) = cross_site(req, mailer, partner) {
                // Another site's page made the person's browser send this: nothing is sent, and the
                // page shows its own form, which the person can send from here if they meant to.
                tracing::info!(header, "deletion page post from another site refused");
                return Ok(Shown::ask_phone(
                    403,
                    "Send this form from this page",
                    format!(
                        "This request came from another website, so nothing was sent and nothing was changed. \
To delete your {} account, enter your phone number below, on this page, and send it from here.",
                        partner.name
                    ),
                ));
            }
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
    // A code to the phone is the one element this page proves: on an account with a second factor
    // that is what a SIM swap gives, and the app's deletion asks for the factor as well
    // (`factors::step_up`). Only whoever holds the phone reads this answer.
    // `erase` checks it again on the account it reads, under a condition on the factor as read.
    if account.as_ref().is_some_and(|a| a.factors.has_second_factor()) {
        return Ok(factor_protected(partner));
    }
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
        // A factor enrolled after the account was read above.
        Err(ApiError::InsufficientAuthentication(_)) => Ok(factor_protected(partner)),
        Err(other) => Err(other),
    }
}

/// The answer for an account with a second factor: not deleted here.
fn factor_protected(partner: &Partner) -> Shown {
    Shown::end(
        403,
        "Delete this account in the app",
        format!(
            "This {} account is protected by an authenticator app, so it cannot be deleted with a code by SMS alone. Sign in to the app with the app's code and delete it there, or ask {}'s support.",
            partner.name, partner.name
        ),
        None,
    )
}
