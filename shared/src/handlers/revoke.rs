//! `POST /oauth/revoke` (RFC 7009) `token=<refresh or access token>`: revokes the token's whole
//! session family, so its refresh tokens and its access tokens stop working here. An access token
//! (RFC 7009 section 2.1 says servers should accept one) revokes the session it was issued for;
//! `token_type_hint` is not needed, the form of the token tells. 200 whether or not the token was
//! known, so the endpoint tells nothing; 400 only when no token is given at all.

use std::convert::Infallible;

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

use crate::App;
use crate::admission::{RateClass, admit};
use crate::error::ApiError;
use crate::http::request::{json_or_form_body, require_method};
use crate::http::response::{finish, json};
use crate::security::access_token::AccessTokenVerifier;
use crate::security::tokens::RefreshToken;

#[derive(Deserialize)]
struct RevokeRequest {
    token: Option<String>,
}

pub async fn handle(app: &App, verifier: &AccessTokenVerifier, req: Request) -> Result<Response<Body>, Infallible> {
    finish("revoke", &req, revoke(app, verifier, &req).await)
}

async fn revoke(app: &App, verifier: &AccessTokenVerifier, req: &Request) -> Result<Response<Body>, ApiError> {
    require_method(req, Method::POST)?;
    let caller = admit(app, req, RateClass::Refresh).await?;
    let body: RevokeRequest = json_or_form_body(req).map_err(|err| match err {
        ApiError::MalformedBody { .. } => ApiError::invalid_request("The body must be JSON or a form with token."),
        other => other,
    })?;
    let token = body.token.filter(|t| !t.is_empty()).ok_or_else(|| ApiError::invalid_request("token is required."))?;
    let now = app.clock.now();
    // A JWT has two dots; a refresh token is base64url, which has none.
    let session = if token.contains('.') {
        verifier
            .verify(&token, now)
            .ok()
            .filter(|claims| claims.mid == caller.merchant_id())
            .and_then(|claims| Some((claims.sub.strip_prefix("usr:")?.to_owned(), claims.sid)))
    } else {
        let hash = RefreshToken::from_client(token).digest();
        app.store
            .refresh_token(&hash)
            .await?
            .filter(|record| record.merchant_id == caller.merchant_id())
            .map(|record| (record.user_id, record.session_id))
    };
    if let Some((user_id, session_id)) = session {
        app.store.revoke_session(&user_id, &session_id, now).await?;
        tracing::info!(user_id = %user_id, session_id = %session_id, "session revoked");
    }
    Ok(json(200, &json!({})))
}
