//! Starting a session family and answering with the token response (seeds 002 and 003): used by
//! phone confirmation, sign-in and refresh alike.

use lambda_http::{Body, Response};

use crate::admission::Caller;
use crate::error::ApiError;
use crate::factors::assurance::Assurance;
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
    assurance: Assurance,
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
        assurance,
    };
    (refresh, session)
}

/// The access token for a session of `user_id` at the caller's partner. Signed before the session
/// is written, so a signer that is down leaves nothing half made: no session without its tokens,
/// no refresh token rotated away with nothing in its place.
pub(in crate::handlers) async fn access_token_for(
    issuer: &TokenIssuer,
    caller: &Caller,
    user_id: &str,
    session_id: &str,
    assurance: &Assurance,
    now: i64,
) -> Result<String, ApiError> {
    let sandbox = caller.partner.sandbox;
    let subject = &Subject { user_id, merchant_id: caller.merchant_id(), session_id, sandbox, assurance };
    issuer.access_token(subject, now).await
}

/// The token response (sandbox or live alike), once the session it names is written.
pub(in crate::handlers) fn token_response(
    access_token: String,
    caller: &Caller,
    user_id: &str,
    refresh: &RefreshToken,
) -> Response<Body> {
    json(
        200,
        &TokenResponse {
            access_token,
            token_type: "Bearer",
            refresh_token: refresh.expose().to_owned(),
            expires_in: ACCESS_TOKEN_TTL_SECS,
            scope: DEFAULT_SCOPE,
            user_id: user_ref(user_id),
            sandbox: caller.partner.sandbox,
        },
    )
}
