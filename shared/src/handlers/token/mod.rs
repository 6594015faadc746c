//! `POST /oauth/token`, the OAuth 2.0 token endpoint (RFC 6749): `grant_type=password` (the username
//! is the phone, in any spelling signup accepts, or a confirmed email address) and
//! `grant_type=refresh_token`, `grant_type=mfa` (the second step of a sign-in on an account with a
//! second factor) and `grant_type=step_up` (both elements again, inside a session, for operations
//! that ask for a recent `aal2`), as JSON or as a form. Errors carry the RFC 6749 section 5.2 code
//! in `error`, inside the usual envelope. One module per grant (`password`, `refresh`, `mfa`,
//! `step_up`), the check of a second element two of them share (`second_element`), and the session
//! start and token response they and the signup confirmations share (`session_tokens`).

mod mfa;
mod new_device;
mod password;
mod refresh;
mod second_element;
pub(in crate::handlers) mod session_tokens;
mod step_up;
#[cfg(test)]
mod step_up_by_sms_tests;

pub(in crate::handlers) use mfa::token_digest as mfa_token_digest;
pub use refresh::REFRESH_GRACE_SECS;

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

use crate::App;
use crate::admission::{RateClass, identify, rate_limit};
use crate::error::{ApiError, OAuthError};
use crate::http::request::{json_or_form_body, require_method};
use crate::http::response::finish;
use crate::mail::Mailer;
use crate::security::tokens::TokenIssuer;
use second_element::SecondElement;

#[derive(Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    username: Option<String>,
    password: Option<String>,
    refresh_token: Option<String>,
    mfa_token: Option<String>,
    otp: Option<String>,
    recovery_code: Option<String>,
    sms_code: Option<String>,
}

/// `mailer` tells users of partners with new-device notices about a sign-in from a new device.
pub async fn handle(
    app: &App,
    issuer: &TokenIssuer,
    mailer: &Mailer,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    finish("token", &req, token(app, issuer, mailer, &req).await)
}

async fn token(app: &App, issuer: &TokenIssuer, mailer: &Mailer, req: &Request) -> Result<Response<Body>, ApiError> {
    require_method(req, Method::POST)?;
    let caller = identify(app, req).await?;
    let body: TokenRequest = json_or_form_body(req).map_err(|err| match err {
        ApiError::MalformedBody { .. } => {
            ApiError::invalid_request("The body must be JSON or a form with grant_type and its parameters.")
        }
        other => other,
    })?;
    let class =
        if body.grant_type.as_deref() == Some("refresh_token") { RateClass::Refresh } else { RateClass::Verify };
    rate_limit::check(app, &caller.client, class).await?;
    match body.grant_type.as_deref() {
        Some("password") => match (body.username, body.password) {
            (Some(username), Some(password)) => {
                password::password_grant(app, issuer, mailer, &caller, &username, password).await
            }
            _ => Err(ApiError::invalid_request("grant_type=password needs username and password.")),
        },
        Some("refresh_token") => match body.refresh_token {
            Some(token) => refresh::refresh_grant(app, issuer, &caller, token).await,
            None => Err(ApiError::invalid_request("grant_type=refresh_token needs refresh_token.")),
        },
        Some("mfa") => {
            let element = second_element_of(body.otp, body.recovery_code, body.sms_code);
            match (body.mfa_token, element) {
                (Some(token), Some(element)) => mfa::mfa_grant(app, issuer, mailer, &caller, &token, element).await,
                _ => Err(ApiError::invalid_request(
                    "grant_type=mfa needs mfa_token and one of otp, recovery_code or sms_code.",
                )),
            }
        }
        Some("step_up") => {
            let element = second_element_of(body.otp, body.recovery_code, body.sms_code);
            match (body.refresh_token, body.password, element) {
                (Some(token), Some(password), Some(element)) => {
                    step_up::step_up_grant(app, issuer, mailer, &caller, token, password, element).await
                }
                _ => Err(ApiError::invalid_request(
                    "grant_type=step_up needs refresh_token, password and one of otp, recovery_code or sms_code.",
                )),
            }
        }
        Some(_) => Err(ApiError::OAuth {
            error: OAuthError::UnsupportedGrantType,
            message: "Supported grant types are password, refresh_token, mfa and step_up.",
        }),
        None => Err(ApiError::invalid_request("grant_type is required.")),
    }
}

/// The one second element a grant carries (`None`: none, or more than one).
fn second_element_of(otp: Option<String>, recovery: Option<String>, sms: Option<String>) -> Option<SecondElement> {
    match (otp, recovery, sms) {
        (Some(otp), None, None) => Some(SecondElement::Otp(otp)),
        (None, Some(code), None) => Some(SecondElement::RecoveryCode(code)),
        (None, None, Some(code)) => Some(SecondElement::PhoneCode(code)),
        _ => None,
    }
}
