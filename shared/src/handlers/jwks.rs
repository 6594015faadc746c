//! `GET /.well-known/jwks.json`: the public keys that verify access tokens, current and previous.
//! Partners fetch it without our headers, so none are required; caches may keep it five minutes.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};

use crate::http::request::require_method;
use crate::http::response::{cacheable_json, finish};

pub const MAX_AGE_SECS: u32 = 300;

/// `document` is the JWKS rendered once at cold start.
pub async fn handle(document: &str, req: Request) -> Result<Response<Body>, Infallible> {
    finish("jwks", &req, require_method(&req, Method::GET).map(|()| cacheable_json(document, MAX_AGE_SECS)))
}
