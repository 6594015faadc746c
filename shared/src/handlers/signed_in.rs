//! The start of every endpoint a signed-in user calls: method, partner (registered, active, signed
//! if it signs), bearer authentication, and the account behind the token.

use lambda_http::Request;
use lambda_http::http::Method;

use crate::App;
use crate::admission::{Caller, identify};
use crate::auth::{Principal, authenticate};
use crate::error::ApiError;
use crate::http::request::require_method;
use crate::ports::AccountRecord;
use crate::security::access_token::AccessTokenVerifier;

pub(super) struct SignedIn {
    pub caller: Caller,
    pub principal: Principal,
    pub account: AccountRecord,
}

/// The caller and the principal, without reading the account again.
pub(super) async fn signed_in(
    app: &App,
    verifier: &AccessTokenVerifier,
    req: &Request,
    method: Method,
) -> Result<(Caller, Principal), ApiError> {
    require_method(req, method)?;
    let caller = identify(app, req).await?;
    let principal = authenticate(app, verifier, req, &caller).await?;
    Ok((caller, principal))
}

pub(super) async fn signed_in_account(
    app: &App,
    verifier: &AccessTokenVerifier,
    req: &Request,
    method: Method,
) -> Result<SignedIn, ApiError> {
    let (caller, principal) = signed_in(app, verifier, req, method).await?;
    let account =
        app.store.account(&principal.user_id).await?.ok_or_else(|| ApiError::Unauthorized("account gone".into()))?;
    Ok(SignedIn { caller, principal, account })
}
