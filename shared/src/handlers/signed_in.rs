//! The start of every endpoint a signed-in user calls: method, partner (registered, active, signed
//! if it signs), bearer authentication, and the account behind the token; for an operation the
//! step-up rules guard, that the token's session proved enough, recently enough (RFC 9470); and
//! the partner's second-factor policy: under `required`, an account without a factor may only
//! enrol one and sign out (`signed_in_to_enrol`), and every other endpoint answers 403
//! `SECOND_FACTOR_REQUIRED`.

use lambda_http::Request;
use lambda_http::http::Method;

use crate::App;
use crate::admission::{Caller, identify};
use crate::auth::{Principal, authenticate};
use crate::error::ApiError;
use crate::factors::policy::{AfterPassword, SecondFactorPolicy};
use crate::factors::step_up::{self, Guarded};
use crate::http::request::require_method;
use crate::ports::AccountRecord;
use crate::security::access_token::AccessTokenVerifier;

pub(super) struct SignedIn {
    pub caller: Caller,
    pub principal: Principal,
    pub account: AccountRecord,
}

async fn authenticated(
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

async fn account_of(app: &App, principal: &Principal) -> Result<AccountRecord, ApiError> {
    app.store.account(&principal.user_id).await?.ok_or_else(|| ApiError::Unauthorized("account gone".into()))
}

/// The caller and the principal, without reading the account again (unless the partner requires a
/// second factor, whose presence only the account says).
pub(super) async fn signed_in(
    app: &App,
    verifier: &AccessTokenVerifier,
    req: &Request,
    method: Method,
) -> Result<(Caller, Principal), ApiError> {
    let (caller, principal) = authenticated(app, verifier, req, method).await?;
    if caller.partner.second_factor == SecondFactorPolicy::Required {
        held_back(&caller, &account_of(app, &principal).await?)?;
    }
    Ok((caller, principal))
}

pub(super) async fn signed_in_account(
    app: &App,
    verifier: &AccessTokenVerifier,
    req: &Request,
    method: Method,
) -> Result<SignedIn, ApiError> {
    let signed_in = signed_in_to_enrol(app, verifier, req, method).await?;
    held_back(&signed_in.caller, &signed_in.account)?;
    Ok(signed_in)
}

/// `signed_in_account` without the partner's `required` policy: for what an account without a
/// factor may still do under it (enrol one, list what it has, sign out).
pub(super) async fn signed_in_to_enrol(
    app: &App,
    verifier: &AccessTokenVerifier,
    req: &Request,
    method: Method,
) -> Result<SignedIn, ApiError> {
    let (caller, principal) = authenticated(app, verifier, req, method).await?;
    let account = account_of(app, &principal).await?;
    Ok(SignedIn { caller, principal, account })
}

/// Refused when the partner requires a second factor and the account has none yet: its tokens
/// only let it enrol one (`AfterPassword::EnrolFirst`).
pub(super) fn held_back(caller: &Caller, account: &AccountRecord) -> Result<(), ApiError> {
    match caller.partner.second_factor.after_password(account.factors.has_second_factor()) {
        AfterPassword::EnrolFirst => Err(ApiError::SecondFactorRequired),
        AfterPassword::Session | AfterPassword::SecondFactor => Ok(()),
    }
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

/// `signed_in_to_enrol`, for `operation` (the step-up rules apply; the partner's `required`
/// policy does not, since enrolling is what it asks for).
pub(super) async fn signed_in_to_enrol_for(
    app: &App,
    verifier: &AccessTokenVerifier,
    req: &Request,
    method: Method,
    operation: Guarded,
) -> Result<SignedIn, ApiError> {
    let signed_in = signed_in_to_enrol(app, verifier, req, method).await?;
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
