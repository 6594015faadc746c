//! `grant_type=refresh_token`: every use rotates the token. The presented token stays usable for a
//! short grace after its first rotation, so a client that lost a response, or two requests racing
//! with one token, are not logged out; use after the grace means the token leaked, and the whole
//! family (every token from the same sign-in) is revoked.

use lambda_http::{Body, Response};

use super::session_tokens::{access_token_for, token_response};
use crate::App;
use crate::admission::Caller;
use crate::error::ApiError;
use crate::handlers::race_backoff;
use crate::ports::{AccountRecord, AccountStatus, RefreshRecord, Rotation, SessionRecord, StoreError};
use crate::security::tokens::{RefreshToken, TokenIssuer};

pub const REFRESH_GRACE_SECS: i64 = 10;
/// Real tokens are 43 characters; anything much longer is not one of ours.
const MAX_TOKEN_LEN: usize = 256;

pub(super) fn invalid_token() -> ApiError {
    ApiError::invalid_grant("The refresh token is invalid, expired or revoked. Sign in again.")
}

/// A presented refresh token, and the live session and active account it belongs to.
pub(super) struct Presented {
    /// The token's digest, as stored.
    pub hash: String,
    pub record: RefreshRecord,
    pub session: SessionRecord,
    pub account: AccountRecord,
}

/// The session `token` belongs to, if the token is this partner's, unexpired, not rotated longer
/// than the grace ago (a reuse after it revokes the whole family: the token leaked), and its
/// session and account are live.
pub(super) async fn presented_session(
    app: &App,
    caller: &Caller,
    token: String,
    now: i64,
) -> Result<Presented, ApiError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(invalid_token());
    }
    let presented = RefreshToken::from_client(token);
    let hash = presented.digest();
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
    Ok(Presented { hash, record, session, account })
}

pub(super) async fn refresh_grant(
    app: &App,
    issuer: &TokenIssuer,
    caller: &Caller,
    token: String,
) -> Result<Response<Body>, ApiError> {
    let now = app.clock.now();
    let Presented { hash, record, session, .. } = presented_session(app, caller, token, now).await?;
    // What the token's chain proved (its sign-in, or the step-up that minted it), never more: a
    // refresh proves the token, not a factor.
    let assurance = record.assurance.clone().unwrap_or_else(|| session.assurance.clone());
    let access_token = access_token_for(issuer, caller, &record.user_id, &record.session_id, &assurance, now).await?;
    for round in 0..ROTATION_TRIES {
        if round > 0 {
            race_backoff(round).await;
        }
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
            assurance: &assurance,
        };
        match app.store.rotate_refresh_token(rotation).await {
            Ok(()) => return Ok(token_response(access_token, caller, &record.user_id, &next)),
            // The token was rotated past its grace or the session ended meanwhile; otherwise the
            // rotation met another transaction in flight on the same items (a parallel refresh or
            // step-up), and tries again.
            Err(StoreError::Conflict) => {
                if !still_rotatable(app, &hash, &record, now).await? {
                    return Err(invalid_token());
                }
            }
            Err(other) => return Err(other.into()),
        }
    }
    tracing::warn!(rounds = ROTATION_TRIES, "refresh kept meeting transactions in flight");
    Err(ApiError::Unavailable)
}

/// Rotations that keep meeting transactions in flight (not a spent token) before a 503.
const ROTATION_TRIES: u64 = 3;

/// Whether the presented token may still be rotated (unrotated, or inside its grace) and its
/// session is still unrevoked and unexpired.
pub(super) async fn still_rotatable(app: &App, hash: &str, record: &RefreshRecord, now: i64) -> Result<bool, ApiError> {
    let usable = |t: RefreshRecord| t.rotated_at.is_none_or(|at| at >= now - REFRESH_GRACE_SECS);
    if !app.store.refresh_token(hash).await?.is_some_and(usable) {
        return Ok(false);
    }
    let session = app.store.session(&record.user_id, &record.session_id).await?;
    Ok(session.is_some_and(|s| !s.revoked && s.expires_at > now))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::REFRESH_GRACE_SECS;
    use crate::testing::{Reply, TestApp};

    fn refresh_token(reply: &Reply) -> String {
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        reply.body["refresh_token"].as_str().unwrap().to_owned()
    }

    #[tokio::test]
    async fn a_retry_inside_the_grace_gets_a_successor_and_a_reuse_after_it_ends_the_family() {
        // GIVEN a signed-in user whose first refresh token was rotated
        let t = TestApp::new().await;
        let first = refresh_token(&t.registered("+447871000001", "Grace-pass-41").await);
        let second = refresh_token(&t.refresh(&first).await);
        // WHEN the client retries the first token at the end of the grace
        t.clock.advance(REFRESH_GRACE_SECS);
        let third = refresh_token(&t.refresh(&first).await);
        // THEN it gets a working successor; once the grace is over the first token is a leak
        t.clock.advance(1);
        assert_eq!(t.refresh(&first).await.body["error"], "invalid_grant");
        // AND the whole family is gone, its newest tokens included
        assert_eq!(t.refresh(&third).await.body["error"], "invalid_grant");
        assert_eq!(t.refresh(&second).await.body["error"], "invalid_grant");
    }

    #[tokio::test]
    async fn an_unrotated_token_keeps_working_and_a_revoked_session_refreshes_no_more() {
        let t = TestApp::new().await;
        let tokens = t.registered("+447871000002", "Grace-pass-42").await;
        t.clock.advance(3600);
        let next = refresh_token(&t.refresh(&refresh_token(&tokens)).await);
        // A password reset elsewhere bumps the credential version: the session is dead.
        let user = tokens.body["user_id"].as_str().unwrap().trim_start_matches("usr:").to_owned();
        t.store.bump_credentials(&user);
        assert_eq!(t.refresh(&next).await.body["error"], "invalid_grant");
    }

    #[tokio::test]
    async fn a_refresh_keeps_the_sessions_level_and_auth_time_and_never_raises_them() {
        // GIVEN a user signed in with the password an hour ago
        let t = TestApp::new().await;
        t.registered("+447871000003", "Grace-pass-43").await;
        let signed_in = t.sign_in("+447871000003", "Grace-pass-43").await;
        let auth_time = crate::ports::Clock::now(&*t.clock);
        t.clock.advance(3600);
        // WHEN the app refreshes
        let refreshed = t.refresh(&refresh_token(&signed_in)).await;
        // THEN both tokens say aal1 by password, authenticated at the sign-in, not at the refresh
        for (reply, minted) in [(&signed_in, auth_time), (&refreshed, auth_time + 3600)] {
            let token = reply.body["access_token"].as_str().unwrap();
            let claims = t.verifier.verify(token, minted).unwrap();
            assert_eq!(
                (claims.acr.as_deref(), claims.amr.clone(), claims.auth_time),
                (Some("aal1"), vec!["pwd".to_owned()], Some(auth_time))
            );
        }
    }
}
