//! Responses: JSON, never cached, and one log line per request with its outcome (never its body).

use std::convert::Infallible;

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use crate::error::ApiError;

pub fn json(status: u16, body: &impl Serialize) -> Response<Body> {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    // Token responses must not be cached (RFC 6749 5.1); nothing else here is worth caching either.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    response
}

/// 204 No Content.
pub fn no_content() -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A page for a person in a browser; never cached, never framed.
pub fn html(status: u16, page: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(page));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert(
        "content-security-policy",
        // form-action does not fall back to default-src: the link page's button may post only here.
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}

/// A JSON body that caches may keep for `max_age` seconds (public keys, never user data).
pub fn cacheable_json(body: &str, max_age: u32) -> Response<Body> {
    let mut response = json(200, &serde_json::Value::Null);
    *response.body_mut() = Body::Text(body.to_owned());
    response.headers_mut().remove(header::PRAGMA);
    if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}

pub fn error(err: &ApiError) -> Response<Body> {
    let mut response = json(err.status(), &err.envelope());
    if let Some(seconds) = err.retry_after()
        && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    match err {
        ApiError::MethodNotAllowed { allow } => {
            response.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        ApiError::Unauthorized(_) => {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\""));
        }
        ApiError::InsufficientAuthentication(needed) => {
            if let Ok(value) = HeaderValue::from_str(&needed.challenge()) {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
            }
        }
        _ => {}
    }
    response
}

/// Turns a handler's result into the response, logging the outcome in one line per request with
/// the Lambda and API Gateway request ids, which tie it to the API's access log and to Lambda's own
/// lines. Internal details go to the log, never to the client; nothing from the request body is logged.
pub fn finish(
    endpoint: &'static str,
    req: &Request,
    result: Result<Response<Body>, ApiError>,
) -> Result<Response<Body>, Infallible> {
    let ids = RequestIds::of(req);
    let (lambda, api) = (ids.lambda.as_deref().unwrap_or("-"), ids.api.as_deref().unwrap_or("-"));
    Ok(match result {
        Ok(response) => {
            let status = response.status().as_u16();
            tracing::info!(
                endpoint,
                status,
                outcome = "ok",
                lambdaRequestId = lambda,
                apiRequestId = api,
                "request handled"
            );
            response
        }
        Err(err) => {
            let (status, outcome) = (err.status(), err.code());
            match &err {
                ApiError::Unauthorized(why) => {
                    tracing::info!(endpoint, status, outcome, reason = %why, lambdaRequestId = lambda, apiRequestId = api, "request refused")
                }
                ApiError::Internal(detail) => {
                    tracing::error!(endpoint, status, outcome, detail = %detail, lambdaRequestId = lambda, apiRequestId = api, "request failed")
                }
                _ => tracing::info!(
                    endpoint,
                    status,
                    outcome,
                    lambdaRequestId = lambda,
                    apiRequestId = api,
                    "request refused"
                ),
            }
            error(&err)
        }
    })
}

/// The ids a request is known by: Lambda's (in its REPORT line and the runtime's span) and API
/// Gateway's (`$context.requestId` in the access log).
struct RequestIds {
    lambda: Option<String>,
    api: Option<String>,
}

impl RequestIds {
    fn of(req: &Request) -> Self {
        use lambda_http::RequestExt;
        use lambda_http::request::RequestContext;
        let lambda = req.lambda_context_ref().map(|context| context.request_id.clone());
        let api = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(context)) => context.request_id.clone(),
            _ => None,
        };
        RequestIds { lambda, api }
    }
}
