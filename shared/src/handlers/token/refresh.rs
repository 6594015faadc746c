//! `grant_type=refresh_token`: every use rotates the token. The presented token stays usable for a
//! short grace after its first rotation, so a client that lost a response, or two requests racing
//! with one token, are not logged out; use after the grace means the token leaked, and the whole
//! family (every token from the same sign-in) is revoked.

use lambda_http::{Body, Response};

use super::session_tokens::token_response;
use crate::App;
use crate::admission::Caller;
use crate::error::ApiError;
use crate::ports::{AccountStatus, Rotation, StoreError};
use crate::security::tokens::{RefreshToken, TokenIssuer};

pub const REFRESH_GRACE_SECS: i64 = 10;
/// Real tokens are 43 characters; anything much longer is not one of ours.
const MAX_TOKEN_LEN: usize = 256;

fn invalid_token() -> ApiError {
    ApiError::invalid_grant("The refresh token is invalid, expired or revoked. Sign in again.")
}

pub(super) async fn refresh_grant(
    app: &App,
    issuer: &TokenIssuer,
    caller: &Caller,
    token: String,
) -> Result<Response<Body>, ApiError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(invalid_token());
    }
    let presented = RefreshToken::from_client(token);
    let hash = presented.digest();
    let now = app.clock.now();
    let record = app.store.refresh_token(&hash).await?.ok_or_else(invalid_token)?;
    if record.merchant_id != caller.merchant_id() || record.expires_at <= now {
        return Err(invalid_token());
    }
    if let Some(rotated_at) = record.rotated_at
        && now - rotated_at > REFRESH_GRACE_SECS
    {
        app.store.revoke_session(&record.user_id, &record.session_id, now).await?;
        tracing::warn!(user_id = %record.user_id, session_id = %record.session_id, "refresh token reused after rotation; session family revoked");
        return Err(invalid_token());
    }
    let (session, account) =
        tokio::join!(app.store.session(&record.user_id, &record.session_id), app.store.account(&record.user_id));
    let account = account?.filter(|a| a.status == AccountStatus::Active).ok_or_else(invalid_token)?;
    let session = session?
        .filter(|s| s.is_live(now, account.credential_version) && s.created_at >= account.valid_after)
        .ok_or_else(invalid_token)?;

    let next = RefreshToken::generate();
    let rotation = Rotation {
        presented_hash: &hash,
        user_id: &record.user_id,
        merchant_id: &record.merchant_id,
        session_id: &record.session_id,
        new_hash: next.digest(),
        now,
        rotated_not_before: now - REFRESH_GRACE_SECS,
        expires_at: session.expires_at,
    };
    match app.store.rotate_refresh_token(rotation).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => return Err(invalid_token()),
        Err(other) => return Err(other.into()),
    }
    token_response(issuer, caller, &record.user_id, &record.session_id, &next, now)
}
