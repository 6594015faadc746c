//! Bearer authentication for every protected endpoint: a valid access token (see
//! `security::access_token`) for this partner, whose user is active, issued after the user's "valid
//! after" time (sign-out everywhere, password reset), from a session that is still live. Anything
//! else is one 401, whatever the reason; the reason goes to the log only.

use lambda_http::Request;
use lambda_http::http::header::AUTHORIZATION;

use crate::App;
use crate::admission::Caller;
use crate::error::ApiError;
use crate::factors::assurance::Assurance;
use crate::ports::AccountStatus;
use crate::security::access_token::AccessTokenVerifier;

/// Who is calling, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub merchant_id: String,
    pub session_id: String,
    pub scope: String,
    /// What the token says its session proved, and when (`acr`, `amr`, `auth_time`): what step-up
    /// rules are checked against.
    pub assurance: Assurance,
}

fn unauthorized(why: impl Into<String>) -> ApiError {
    ApiError::Unauthorized(why.into())
}

fn bearer_token(req: &Request) -> Result<&str, ApiError> {
    let value = req
        .headers()
        .get(AUTHORIZATION)
        .ok_or_else(|| unauthorized("no Authorization header"))?
        .to_str()
        .map_err(|_| unauthorized("Authorization header is not text"))?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(|| unauthorized("not a bearer token"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(unauthorized("not a bearer token"));
    }
    Ok(token.trim())
}

pub async fn authenticate(
    app: &App,
    verifier: &AccessTokenVerifier,
    req: &Request,
    caller: &Caller,
) -> Result<Principal, ApiError> {
    let now = app.clock.now();
    let claims = verifier.verify(bearer_token(req)?, now).map_err(|why| unauthorized(why.to_string()))?;
    if claims.mid != caller.merchant_id() {
        return Err(unauthorized("token issued to another partner"));
    }
    if claims.sandbox != caller.partner.sandbox {
        return Err(unauthorized("sandbox token under a live partner, or the other way round"));
    }
    let user_id = claims.sub.strip_prefix("usr:").ok_or_else(|| unauthorized("subject is not a user"))?;
    let (account, session) = tokio::join!(app.store.account(user_id), app.store.session(user_id, &claims.sid));
    let account = account?.ok_or_else(|| unauthorized("no such account"))?;
    if account.status != AccountStatus::Active || account.merchant_id != caller.merchant_id() {
        return Err(unauthorized("account not active"));
    }
    if claims.iat < account.valid_after {
        return Err(unauthorized("token issued before the account's valid-after time"));
    }
    let session = session?.ok_or_else(|| unauthorized("no such session"))?;
    if !session.is_live(now, account.credential_version) {
        return Err(unauthorized("session revoked, expired or made with a password since changed"));
    }
    let assurance = claims.assurance();
    Ok(Principal {
        user_id: user_id.to_owned(),
        merchant_id: claims.mid,
        session_id: claims.sid,
        scope: claims.scope,
        assurance,
    })
}
