//! Starting a session family and answering with the token response (seeds 002 and 003): used by
//! phone confirmation, sign-in and refresh alike.

use lambda_http::{Body, Response};

use crate::admission::Caller;
use crate::error::ApiError;
use crate::http::response::json;
use crate::ports::NewSession;
use crate::security::random;
use crate::security::tokens::{
    ACCESS_TOKEN_TTL_SECS, DEFAULT_SCOPE, REFRESH_FAMILY_TTL_SECS, RefreshToken, Subject, TokenIssuer, TokenResponse,
    user_ref,
};

/// A new session family and its first refresh token; the family ends 30 days from now, whatever
/// the rotations.
pub(in crate::handlers) fn new_session(
    fingerprint: Option<String>,
    credential_version: u64,
    now: i64,
) -> (RefreshToken, NewSession) {
    let refresh = RefreshToken::generate();
    let session = NewSession {
        session_id: random::id(),
        refresh_token_hash: refresh.digest(),
        created_at: now,
        expires_at: now + REFRESH_FAMILY_TTL_SECS,
        fingerprint,
        credential_version,
    };
    (refresh, session)
}

/// The token response for a session of `user_id` at the caller's partner (sandbox or live alike).
pub(in crate::handlers) fn token_response(
    issuer: &TokenIssuer,
    caller: &Caller,
    user_id: &str,
    session_id: &str,
    refresh: &RefreshToken,
    now: i64,
) -> Result<Response<Body>, ApiError> {
    let subject = &Subject { user_id, merchant_id: caller.merchant_id(), session_id, sandbox: caller.partner.sandbox };
    Ok(json(
        200,
        &TokenResponse {
            access_token: issuer.access_token(subject, now)?,
            token_type: "Bearer",
            refresh_token: refresh.expose().to_owned(),
            expires_in: ACCESS_TOKEN_TTL_SECS,
            scope: DEFAULT_SCOPE,
            user_id: user_ref(subject.user_id),
            sandbox: subject.sandbox,
        },
    ))
}
