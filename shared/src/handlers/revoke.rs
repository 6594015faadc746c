//! `POST /oauth/revoke` (RFC 7009) `token=<refresh token>`: revokes the token's whole session family,
//! so its refresh tokens and its access tokens stop working here. 200 whether or not the token was
//! known, so the endpoint tells nothing; 400 only when no token is given at all.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

use super::token::invalid_request;
use crate::App;
use crate::admission::{RateClass, admit};
use crate::error::ApiError;
use crate::http::request::{json_or_form_body, require_method};
use crate::http::response::{finish, json};
use crate::security::tokens::RefreshToken;

#[derive(Deserialize)]
struct RevokeRequest {
    token: Option<String>,
}

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, Infallible> {
    finish("revoke", revoke(app, &req).await)
}

async fn revoke(app: &App, req: &Request) -> Result<Response<Body>, ApiError> {
    require_method(req, Method::POST)?;
    let caller = admit(app, req, RateClass::Refresh).await?;
    let body: RevokeRequest = json_or_form_body(req).map_err(|err| match err {
        ApiError::MalformedBody { .. } => invalid_request("The body must be JSON or a form with token."),
        other => other,
    })?;
    let token = body.token.filter(|t| !t.is_empty()).ok_or_else(|| invalid_request("token is required."))?;
    let hash = RefreshToken::from_client(token).digest();
    if let Some(record) = app.store.refresh_token(&hash).await?
        && record.merchant_id == caller.merchant_id()
    {
        app.store.revoke_session(&record.user_id, &record.session_id, app.clock.now()).await?;
        tracing::info!(user_id = %record.user_id, session_id = %record.session_id, "session revoked");
    }
    Ok(json(200, &json!({})))
}
