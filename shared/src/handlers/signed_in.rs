//! The start of every endpoint a signed-in user calls: method, partner (registered, active, signed
//! if it signs), bearer authentication, and the account behind the token; for an operation the
//! step-up rules guard, that the token's session proved enough, recently enough (RFC 9470).

use lambda_http::Request;
use lambda_http::http::Method;

use crate::App;
use crate::admission::{Caller, identify};
use crate::auth::{Principal, authenticate};
use crate::error::ApiError;
use crate::factors::step_up::{self, Guarded};
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

/// `signed_in_account`, for `operation`: refused with 401 `insufficient_user_authentication` (and
/// what is needed) when the session's assurance does not meet the step-up rules for this account.
pub(super) async fn signed_in_for(
    app: &App,
    verifier: &AccessTokenVerifier,
    req: &Request,
    method: Method,
    operation: Guarded,
) -> Result<SignedIn, ApiError> {
    let signed_in = signed_in_account(app, verifier, req, method).await?;
    signed_in.allowed(app, operation)?;
    Ok(signed_in)
}

impl SignedIn {
    /// Whether this session may do `operation` now, by the step-up rules for its account: for a
    /// handler whose guarded step depends on the body (sending a code to a new number is guarded;
    /// entering that code, which only the guarded step could have sent, is not).
    pub(super) fn allowed(&self, app: &App, operation: Guarded) -> Result<(), ApiError> {
        let enrolled = self.account.factors.enrolled_methods();
        step_up::check(&self.principal.assurance, operation, &enrolled, app.clock.now())
            .map_err(ApiError::InsufficientAuthentication)
    }
}
