//! `POST /v2/customer/factors/totp` (bearer): starts enrolling an authenticator app. The answer
//! carries, once, the new secret as an `otpauth://` URI, as a QR code (SVG) the app can show, and
//! in base32 for typing; the enrolment counts only after `POST /v2/customer/factors/totp/verify`
//! with a code from the app, within ten minutes. A new enrolment replaces one not yet verified.
//!
//! It needs `aal2` reached in the last five minutes (`factors::step_up`): on an account without a
//! factor, by a code to its confirmed phone (`step-up-code`), so a thief with the password alone
//! cannot put a factor of their own on the account and lock the owner out. An account that has an
//! authenticator gets 409 `SECOND_FACTOR_ENROLLED`: one per account, removed before another.
//! The secret is kept only sealed by KMS under the factor key, for this account.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::super::signed_in::{SignedIn, signed_in_to_enrol_for};
use crate::App;
use crate::admission::{RateClass, rate_limit};
use crate::error::ApiError;
use crate::factors::step_up::Guarded;
use crate::factors::totp::{Authenticator, TotpSecret, qr_svg};
use crate::http::response::{finish, json};
use crate::ports::{ENROLMENT_ATTEMPTS, PendingTotp, StoreError};
use crate::security::access_token::AccessTokenVerifier;
use crate::security::random;

/// How long an enrolment waits for its first code: time to install an app and scan.
pub const ENROLMENT_TTL_SECS: i64 = 600;

pub async fn handle(app: &App, verifier: &AccessTokenVerifier, req: Request) -> Result<Response<Body>, Infallible> {
    finish("totp-enrol", &req, enrol(app, verifier, &req).await)
}

async fn enrol(app: &App, verifier: &AccessTokenVerifier, req: &Request) -> Result<Response<Body>, ApiError> {
    let SignedIn { caller, account, .. } =
        signed_in_to_enrol_for(app, verifier, req, Method::POST, Guarded::EnrolFactor).await?;
    rate_limit::check(app, &caller.client, RateClass::Contact).await?;
    if !caller.partner.second_factor.allows_enrolment() {
        return Err(ApiError::SecondFactorNotOffered);
    }
    if account.factors.has_second_factor() {
        return Err(ApiError::SecondFactorEnrolled);
    }
    let now = app.clock.now();
    let secret = TotpSecret::generate();
    // The app lists it as "<partner>: <masked phone or address>": the owner's own, never in full.
    let label = account.sign_in_identifier().map(|id| id.masked()).unwrap_or_default();
    let authenticator = Authenticator::new(&secret, &caller.partner.name, &label).map_err(ApiError::Internal)?;
    let uri = authenticator.uri();
    let qr_code = qr_svg(&uri).map_err(ApiError::Internal)?;
    let pending = PendingTotp {
        factor_id: random::id(),
        sealed_secret: app.sealer.seal(&account.user_id, secret.expose()).await?,
        expires_at: now + ENROLMENT_TTL_SECS,
        attempts_left: ENROLMENT_ATTEMPTS,
    };
    match app.store.start_totp_enrolment(&account.user_id, &pending).await {
        Ok(()) => {}
        // An authenticator was verified meanwhile (the account was active a moment ago).
        Err(StoreError::Conflict) => return Err(ApiError::SecondFactorEnrolled),
        Err(other) => return Err(other.into()),
    }
    tracing::info!(user_id = %account.user_id, factor_id = %pending.factor_id, "authenticator enrolment started");
    Ok(json(
        201,
        &json!({
            "factorId": pending.factor_id,
            "type": "totp",
            "otpauthUri": uri.as_str(),
            "qrCodeSvg": qr_code,
            "secret": authenticator.secret_base32().as_str(),
            "expiresIn": ENROLMENT_TTL_SECS,
        }),
    ))
}
