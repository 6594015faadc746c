//! The start of every endpoint a signed-in user calls: method, partner headers, bearer
//! authentication, and the account behind the token.

use lambda_http::Request;
use lambda_http::http::Method;

use crate::App;
use crate::auth::{Principal, authenticate};
use crate::error::ApiError;
use crate::http::request::{PartnerHeaders, require_method};
use crate::ports::AccountRecord;
use crate::security::access_token::AccessTokenVerifier;

pub(super) async fn signed_in_account(
    app: &App,
    verifier: &AccessTokenVerifier,
    req: &Request,
    method: Method,
) -> Result<(Principal, AccountRecord), ApiError> {
    require_method(req, method)?;
    let partner = PartnerHeaders::from_request(req)?;
    let principal = authenticate(app, verifier, req, &partner).await?;
    let account =
        app.store.account(&principal.user_id).await?.ok_or_else(|| ApiError::Unauthorized("account gone".into()))?;
    Ok((principal, account))
}
