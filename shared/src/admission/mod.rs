//! What every request passes before a handler looks at it: the partner headers, a registered and
//! active partner, its request signature if it has a secret, and the per-IP rate limit.

pub mod directory;
pub mod rate_limit;
pub mod recipients;
pub mod signature;
pub mod sms_budget;

use std::sync::Arc;

use lambda_http::Request;
use lambda_http::RequestExt;

use crate::App;
use crate::domain::partner::Partner;
use crate::error::ApiError;
use crate::http::request::{PartnerHeaders, body_bytes};
pub use rate_limit::RateClass;

/// A request from a known, active partner.
#[derive(Debug, Clone)]
pub struct Caller {
    pub headers: PartnerHeaders,
    pub partner: Arc<Partner>,
    /// Whom the per-IP limits count: the address API Gateway saw, or, from a partner that forwards
    /// its end users' addresses, the `X-End-User-Address` its signature covers.
    pub client: String,
}

impl Caller {
    pub fn merchant_id(&self) -> &str {
        &self.partner.id
    }
}

/// The partner behind the request, with its signature checked; no rate limit yet (the token
/// endpoint picks its class from the body).
pub async fn identify(app: &App, req: &Request) -> Result<Caller, ApiError> {
    let headers = PartnerHeaders::from_request(req)?;
    let partner = app.partners.get(&headers.merchant_id).await?.ok_or(ApiError::PartnerUnknown)?;
    if !partner.is_active() {
        return Err(ApiError::PartnerDisabled);
    }
    let end_user = end_user_address(req, &partner)?;
    let end_user_sent = end_user
        .map(|_| req.headers().get(signature::END_USER_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default());
    if let Some(secret) = &partner.signing_secret {
        let header = req.headers().get(signature::HEADER).map(|v| v.to_str().unwrap_or_default());
        // The path as the client sent it: API Gateway's rawPath, which holds a named stage's segment
        // on the execute-api endpoint and no stage behind a custom domain. (The URI's path would have
        // the stage added back by lambda_http even behind a custom domain.)
        let raw = req.raw_http_path();
        let path = match req.uri().query().filter(|q| !q.is_empty()) {
            Some(query) => format!("{raw}?{query}"),
            None => raw.to_owned(),
        };
        let request = signature::Signed {
            method: req.method().as_str(),
            path_and_query: &path,
            body: body_bytes(req)?,
            end_user: end_user_sent,
        };
        signature::verify(secret, header, &request, app.clock.now())?;
    }
    let client = match end_user {
        Some(ip) => rate_limit::address_key(ip),
        None => rate_limit::client_address(req),
    };
    Ok(Caller { headers, partner, client })
}

/// `X-End-User-Address`, from a partner set to forward it (its signature then covers it); from
/// anyone else the header is refused rather than ignored, so a partner never believes its users
/// are counted apart when they are not.
fn end_user_address(req: &Request, partner: &Partner) -> Result<Option<std::net::IpAddr>, ApiError> {
    let Some(value) = req.headers().get(signature::END_USER_HEADER) else {
        return Ok(None);
    };
    if !(partner.forwards_end_user_address && partner.signing_secret.is_some()) {
        return Err(ApiError::Signature(
            "X-End-User-Address is taken only from a partner that forwards addresses under its signature",
        ));
    }
    value
        .to_str()
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .map(Some)
        .ok_or(ApiError::Signature("X-End-User-Address must be one IPv4 or IPv6 address"))
}

/// `identify`, then the per-IP limit of `class`.
pub async fn admit(app: &App, req: &Request, class: RateClass) -> Result<Caller, ApiError> {
    let caller = identify(app, req).await?;
    rate_limit::check(app, &caller.client, class).await?;
    Ok(caller)
}
