//! `POST /oauth/token`, the OAuth 2.0 token endpoint (RFC 6749): `grant_type=password` (the username
//! is the phone, in any spelling signup accepts, or a confirmed email address) and
//! `grant_type=refresh_token`, and `grant_type=mfa` (the second step of a sign-in on an account
//! with a second factor), as JSON or as a form. Errors carry the RFC 6749 section 5.2 code in
//! `error`, inside the usual envelope. One module per grant (`password`, `refresh`, `mfa`), and the
//! session start and token response they and the signup confirmations share (`session_tokens`).

mod mfa;
mod new_device;
mod password;
mod refresh;
pub(in crate::handlers) mod session_tokens;

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

#[derive(Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    username: Option<String>,
    password: Option<String>,
    refresh_token: Option<String>,
    mfa_token: Option<String>,
    otp: Option<String>,
    recovery_code: Option<String>,
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
        Some("mfa") => match (body.mfa_token, body.otp, body.recovery_code) {
            (Some(token), Some(otp), None) => {
                mfa::mfa_grant(app, issuer, mailer, &caller, &token, mfa::SecondElement::Otp(otp)).await
            }
            (Some(token), None, Some(code)) => {
                mfa::mfa_grant(app, issuer, mailer, &caller, &token, mfa::SecondElement::RecoveryCode(code)).await
            }
            _ => Err(ApiError::invalid_request("grant_type=mfa needs mfa_token and one of otp or recovery_code.")),
        },
        Some(_) => Err(ApiError::OAuth {
            error: OAuthError::UnsupportedGrantType,
            message: "Supported grant types are password, refresh_token and mfa.",
        }),
        None => Err(ApiError::invalid_request("grant_type is required.")),
    }
}
