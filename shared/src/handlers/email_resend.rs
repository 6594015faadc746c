//! `POST /v2/mobile/email/verify/resend` (bearer) → `{"result":"ok"}`: a new link for the address
//! waiting for confirmation; the previous link dies. Same cooldown and caps as SMS codes.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::email_delivery::send_link;
use crate::App;
use crate::auth::authenticate;
use crate::domain::email::EmailAddress;
use crate::error::ApiError;
use crate::http::request::{PartnerHeaders, require_method};
use crate::http::response::{finish, json};
use crate::mail::Mailer;
use crate::security::access_token::AccessTokenVerifier;

pub async fn handle(
    app: &App,
    verifier: &AccessTokenVerifier,
    mailer: &Mailer,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    finish("email-resend", resend(app, verifier, mailer, &req).await)
}

async fn resend(
    app: &App,
    verifier: &AccessTokenVerifier,
    mailer: &Mailer,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    require_method(req, Method::POST)?;
    let partner = PartnerHeaders::from_request(req)?;
    let principal = authenticate(app, verifier, req, &partner).await?;
    let account =
        app.store.account(&principal.user_id).await?.ok_or_else(|| ApiError::Unauthorized("account gone".into()))?;
    let pending = account.pending_email.as_deref().ok_or_else(|| {
        ApiError::validation(
            "email",
            "no_pending_email",
            "There is no email address waiting for confirmation. Add one first.",
        )
    })?;
    let email = EmailAddress::parse(pending)?;
    send_link(app, mailer, &account, &email).await?;
    Ok(json(200, &json!({ "result": "ok" })))
}
