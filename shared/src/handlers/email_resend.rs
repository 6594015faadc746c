//! `POST /v2/mobile/email/verify/resend` (bearer) → `{"result":"ok"}`: a new link for the address
//! waiting for confirmation; the previous link dies. Same cooldown and caps as SMS codes. A new link
//! is a new email change: on an account with a second factor it needs the step-up email add needs
//! (else an address added before the factor, whose old link the factor voids, could be confirmed
//! through a fresh one).

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};

use super::email_delivery::{link_answer, send_link};
use super::signed_in::{SignedIn, signed_in_for};
use crate::App;
use crate::admission::{RateClass, rate_limit};
use crate::domain::email::EmailAddress;
use crate::error::ApiError;
use crate::factors::step_up::Guarded;
use crate::http::response::{finish, json};
use crate::mail::Mailer;
use crate::security::access_token::AccessTokenVerifier;

pub async fn handle(
    app: &App,
    verifier: &AccessTokenVerifier,
    mailer: &Mailer,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    finish("email-resend", &req, resend(app, verifier, mailer, &req).await)
}

async fn resend(
    app: &App,
    verifier: &AccessTokenVerifier,
    mailer: &Mailer,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let SignedIn { caller, account, .. } =
        signed_in_for(app, verifier, req, Method::POST, Guarded::ChangeEmail).await?;
    rate_limit::check(app, &caller.client, RateClass::Contact).await?;
    let pending = account.pending_email.as_deref().ok_or_else(|| {
        ApiError::validation(
            "email",
            "no_pending_email",
            "There is no email address waiting for confirmation. Add one first.",
        )
    })?;
    let email = EmailAddress::parse(pending)?;
    let link = send_link(app, mailer, &caller.partner, &account, &email).await?;
    Ok(json(200, &link_answer(&caller.partner, link)))
}
