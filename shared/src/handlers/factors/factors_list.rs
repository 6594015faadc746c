//! `GET /v2/customer/factors` (bearer): the account's second factors (`{"factors": [...]}`), each
//! with its id, type, when it was made and last used (recovery codes: how many are left), never a
//! secret. Reading them needs no step-up: it changes nothing and shows nothing that opens anything.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use super::super::signed_in::{SignedIn, signed_in_to_enrol};
use super::factors_shown;
use crate::App;
use crate::error::ApiError;
use crate::http::response::{finish, json};
use crate::security::access_token::AccessTokenVerifier;

pub async fn handle(app: &App, verifier: &AccessTokenVerifier, req: Request) -> Result<Response<Body>, Infallible> {
    finish("factors-list", &req, list(app, verifier, &req).await)
}

async fn list(app: &App, verifier: &AccessTokenVerifier, req: &Request) -> Result<Response<Body>, ApiError> {
    let SignedIn { account, .. } = signed_in_to_enrol(app, verifier, req, Method::GET).await?;
    Ok(json(200, &json!({ "factors": factors_shown(&account.factors) })))
}
