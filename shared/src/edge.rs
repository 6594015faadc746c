//! Behind CloudFront (EdgeProtection=cloudfront-waf): a request counts only if it came through the
//! distribution, and its client is the viewer CloudFront saw.
//!
//! An HTTP API takes no resource policy and no regional WAF, so its execute-api URL stays callable
//! by anyone, around the web ACL. CloudFront adds `X-Origin-Verify` with a value generated into
//! Secrets Manager (`ORIGIN_VERIFY_SECRET_ARN`); a request without it, or with another value, is
//! refused here before any handler runs. Only then is `CloudFront-Viewer-Address` trusted: anyone can
//! send that header to the execute-api URL, so without the check a client could pick the address
//! every per-IP limit counts. Without edge protection nothing is read and every request passes as
//! API Gateway saw it.

use std::net::IpAddr;

use aws_config::SdkConfig;
use aws_lc_rs::constant_time::verify_slices_are_equal;
use lambda_http::Request;
use lambda_http::request::RequestContext;
use zeroize::Zeroizing;

use crate::App;
use crate::adapters::secrets;
use crate::config::{ConfigError, Environment, Source};
use crate::error::ApiError;

/// The header CloudFront sends to the origin with the shared secret (OriginCustomHeaders).
pub const ORIGIN_HEADER: &str = "x-origin-verify";
/// The viewer's address and port, as CloudFront saw the connection (`198.51.100.7:46532`,
/// `2001:db8::7:46532`).
pub const VIEWER_ADDRESS_HEADER: &str = "cloudfront-viewer-address";
/// Where the origin secret is, when the stack is deployed behind CloudFront.
const SECRET_ARN: &str = "ORIGIN_VERIFY_SECRET_ARN";
/// Shorter than this, a value could be guessed; the template generates 48 characters.
const MIN_SECRET_CHARS: usize = 32;

/// What admits a request: nothing (no edge protection), or the origin secret.
pub struct EdgeGuard {
    origin_secret: Option<Zeroizing<String>>,
}

impl EdgeGuard {
    /// No edge in front: every request is taken as API Gateway passed it.
    pub fn open() -> Self {
        EdgeGuard { origin_secret: None }
    }

    /// The guard the function's environment asks for: with `ORIGIN_VERIFY_SECRET_ARN`, its secret
    /// (the SDK configuration loaded for it alone); without, an open one and no AWS call.
    pub async fn from_env() -> Result<Self, ConfigError> {
        if Environment.get(SECRET_ARN).is_none_or(|arn| arn.is_empty()) {
            return Ok(EdgeGuard::open());
        }
        EdgeGuard::load(&App::sdk_config().await?, &Environment).await
    }

    /// The guard `ORIGIN_VERIFY_SECRET_ARN` in `source` asks for: its secret read from Secrets
    /// Manager, or none.
    pub async fn load(sdk: &SdkConfig, source: &impl Source) -> Result<Self, ConfigError> {
        let Some(arn) = source.get(SECRET_ARN).filter(|arn| !arn.is_empty()) else {
            return Ok(EdgeGuard::open());
        };
        let client = aws_sdk_secretsmanager::Client::new(sdk);
        let secret = secrets::secret_string(&client, &arn).await?;
        EdgeGuard::with_secret(secret)
    }

    /// A guard that admits requests carrying `secret` in `X-Origin-Verify`.
    pub fn with_secret(secret: Zeroizing<String>) -> Result<Self, ConfigError> {
        if secret.chars().count() < MIN_SECRET_CHARS {
            return Err(ConfigError::Unsuitable(format!(
                "the origin secret is shorter than {MIN_SECRET_CHARS} characters"
            )));
        }
        Ok(EdgeGuard { origin_secret: Some(secret) })
    }

    /// The request as the handlers should see it: refused (403 `NOT_THROUGH_EDGE`) without the
    /// origin secret; otherwise with the secret removed, so no handler or log ever holds it, and
    /// with the viewer's address as its source IP.
    pub fn admit(&self, req: &mut Request) -> Result<(), ApiError> {
        let Some(secret) = &self.origin_secret else {
            return Ok(());
        };
        let sent = req.headers_mut().remove(ORIGIN_HEADER);
        let matches = sent.is_some_and(|sent| verify_slices_are_equal(sent.as_bytes(), secret.as_bytes()).is_ok());
        if !matches {
            tracing::warn!("request without the origin secret: not through the CloudFront distribution");
            return Err(ApiError::NotThroughEdge);
        }
        let viewer = req.headers().get(VIEWER_ADDRESS_HEADER).and_then(|v| v.to_str().ok()).and_then(viewer_ip);
        if viewer.is_none() {
            // CloudFront always adds it under the origin request policy the template sets. Without
            // one that parses, the request is counted under one shared key ("unknown"), never under
            // CloudFront's address, which every viewer behind that edge would share.
            tracing::warn!("no CloudFront-Viewer-Address that parses, through the distribution");
        }
        if let Some(RequestContext::ApiGatewayV2(ctx)) = req.extensions_mut().get_mut::<RequestContext>() {
            ctx.http.source_ip = viewer.map(|ip| ip.to_string());
        }
        Ok(())
    }
}

/// The address of `ip:port` as CloudFront writes it (IPv6 without brackets; bracketed accepted).
/// Where API Gateway joined two values with a comma (one sent by the viewer, one added by
/// CloudFront), the last is CloudFront's.
fn viewer_ip(value: &str) -> Option<IpAddr> {
    let last = value.rsplit(',').next()?.trim();
    let (ip, port) = last.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    let ip = ip.strip_prefix('[').and_then(|ip| ip.strip_suffix(']')).unwrap_or(ip);
    ip.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::aws_lambda_events::apigw::{
        ApiGatewayV2httpRequestContext, ApiGatewayV2httpRequestContextHttpDescription,
    };
    use lambda_http::{Body, RequestExt};

    const SECRET: &str = "q0Lw8k3ZpV7nR2xT5yB9cF4hJ6mN1sD8gA3eK7uW0oP2";

    fn admitted(guard: &EdgeGuard, mut req: Request) -> Result<Request, ApiError> {
        guard.admit(&mut req).map(|()| req)
    }

    fn request(headers: &[(&'static str, &str)]) -> Request {
        let mut req = Request::new(Body::Empty);
        for (name, value) in headers {
            req.headers_mut().insert(*name, value.parse().unwrap());
        }
        let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
        http.source_ip = Some("130.176.1.1".into());
        let mut ctx = ApiGatewayV2httpRequestContext::default();
        ctx.http = http;
        req.with_request_context(RequestContext::ApiGatewayV2(ctx))
    }

    fn source_ip(req: &Request) -> Option<String> {
        match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
            _ => None,
        }
    }

    fn guard() -> EdgeGuard {
        EdgeGuard::with_secret(Zeroizing::new(SECRET.to_owned())).unwrap()
    }

    #[test]
    fn without_edge_protection_the_viewer_header_is_not_believed() {
        let req = admitted(&EdgeGuard::open(), request(&[(VIEWER_ADDRESS_HEADER, "203.0.113.9:4431")])).unwrap();
        assert_eq!(source_ip(&req).as_deref(), Some("130.176.1.1"));
    }

    #[test]
    fn a_request_around_the_distribution_is_refused_even_with_a_viewer_header() {
        for headers in [
            vec![(VIEWER_ADDRESS_HEADER, "203.0.113.9:4431")],
            vec![(ORIGIN_HEADER, "guess"), (VIEWER_ADDRESS_HEADER, "203.0.113.9:4431")],
            vec![(ORIGIN_HEADER, &SECRET[..SECRET.len() - 1])],
        ] {
            let refused = admitted(&guard(), request(&headers)).unwrap_err();
            assert_eq!((refused.status(), refused.code()), (403, "NOT_THROUGH_EDGE"));
        }
    }

    #[test]
    fn through_the_distribution_the_client_is_the_viewer_and_the_secret_is_gone() {
        let req = admitted(&guard(), request(&[(ORIGIN_HEADER, SECRET), (VIEWER_ADDRESS_HEADER, "203.0.113.9:4431")]))
            .unwrap();
        assert_eq!(source_ip(&req).as_deref(), Some("203.0.113.9"));
        assert!(req.headers().get(ORIGIN_HEADER).is_none());
        let v6 = admitted(&guard(), request(&[(ORIGIN_HEADER, SECRET), (VIEWER_ADDRESS_HEADER, "2001:db8::7:46532")]))
            .unwrap();
        assert_eq!(source_ip(&v6).as_deref(), Some("2001:db8::7"));
    }

    #[test]
    fn a_joined_bracketed_or_broken_viewer_header_is_never_counted_as_cloudfronts_address() {
        for (sent, counted) in [
            // A viewer's own header and CloudFront's, joined: CloudFront's is the last.
            ("198.51.100.66:1, 203.0.113.9:4431", Some("203.0.113.9")),
            ("[2001:db8::7]:46532", Some("2001:db8::7")),
            ("203.0.113.9", None),
            ("not an address", None),
        ] {
            let req = admitted(&guard(), request(&[(ORIGIN_HEADER, SECRET), (VIEWER_ADDRESS_HEADER, sent)])).unwrap();
            assert_eq!(source_ip(&req).as_deref(), counted, "{sent:?}");
            assert_ne!(crate::admission::rate_limit::client_address(&req), "130.176.1.1", "{sent:?}");
        }
    }

    #[test]
    fn a_short_secret_is_a_configuration_error() {
        assert!(matches!(EdgeGuard::with_secret(Zeroizing::new("short".into())), Err(ConfigError::Unsuitable(_))));
    }
}
