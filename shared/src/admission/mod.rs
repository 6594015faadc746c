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
        signature::verify(secret, header, req.method().as_str(), &path, body_bytes(req)?, app.clock.now())?;
    }
    Ok(Caller { headers, partner })
}

/// `identify`, then the per-IP limit of `class`.
pub async fn admit(app: &App, req: &Request, class: RateClass) -> Result<Caller, ApiError> {
    let caller = identify(app, req).await?;
    rate_limit::check(app, req, class).await?;
    Ok(caller)
}
