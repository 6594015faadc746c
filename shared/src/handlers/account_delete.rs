//! `DELETE /v2/customer/account` (bearer) `{password}` → 204: the account and everything kept
//! about it are deleted (App Store guideline 5.1.1(v), GDPR art. 17). The password is checked again
//! under the sign-in back-off (wrong: 400 on `password`, nothing touched). Every token of the
//! account stops working at once, the phone and address are free for a new signup, the owner gets a
//! notice, and the partner a deletion record without personal data (`erasure`).

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

use super::erasure::erase;
use super::password_check::reauthenticate;
use super::signed_in::{SignedIn, signed_in_for};
use crate::App;
use crate::error::ApiError;
use crate::factors::step_up::Guarded;
use crate::http::request::json_body;
use crate::http::response::{finish, no_content};
use crate::mail::Mailer;
use crate::ports::DeletionChannel;
use crate::security::access_token::AccessTokenVerifier;

#[derive(Deserialize)]
struct DeleteRequest {
    password: String,
}

pub async fn handle(
    app: &App,
    verifier: &AccessTokenVerifier,
    mailer: &Mailer,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    finish("account-delete", &req, delete(app, verifier, mailer, &req).await)
}

async fn delete(
    app: &App,
    verifier: &AccessTokenVerifier,
    mailer: &Mailer,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let SignedIn { caller, account, .. } =
        signed_in_for(app, verifier, req, Method::DELETE, Guarded::DeleteAccount).await?;
    let body: DeleteRequest = json_body(req)?;
    reauthenticate(app, &account, body.password, "password").await?;
    erase(app, mailer, &caller.partner, &account, DeletionChannel::App).await?;
    Ok(no_content())
}
