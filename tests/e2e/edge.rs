//! Behind CloudFront (EdgeProtection=cloudfront-waf): the origin secret is read from Secrets Manager
//! as a function reads it at cold start; a request that did not come through the distribution is
//! refused whatever it claims, and one that did is counted by its viewer's address.

use e2e::{Endpoint, TestEnv};
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;
use registration::admission::rate_limit::client_address;
use registration::config::ConfigError;
use registration::edge::{EdgeGuard, ORIGIN_HEADER, VIEWER_ADDRESS_HEADER};

/// A CloudFront edge address, as API Gateway sees every request through the distribution.
const CLOUDFRONT: &str = "130.176.88.1";

fn through(headers: &[(&'static str, &str)]) -> lambda_http::Request {
    let mut req = Endpoint::Signup.event();
    let mut context = req.request_context();
    if let RequestContext::ApiGatewayV2(ctx) = &mut context {
        ctx.http.source_ip = Some(CLOUDFRONT.to_owned());
    }
    req = req.with_request_context(context);
    for (name, value) in headers {
        req.headers_mut().insert(*name, value.parse().unwrap());
    }
    req
}

#[tokio::test]
async fn behind_cloudfront_only_requests_through_it_are_served_and_each_viewer_is_counted_apart() {
    // GIVEN the origin secret in Secrets Manager, and a function started with its ARN
    let env = TestEnv::new().await;
    let sdk = env.moto.sdk_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let value = "Zq4Lw8k3ZpV7nR2xT5yB9cF4hJ6mN1sD8gA3eK7uW0oP2Rt";
    let made = secrets.create_secret().name(format!("origin-{}", env.table)).secret_string(value).send().await;
    let arn = made.unwrap().arn().unwrap().to_owned();
    let guard = EdgeGuard::load(&sdk, &[("ORIGIN_VERIFY_SECRET_ARN", arn.as_str())]).await.unwrap();

    // WHEN a caller goes to the execute-api URL directly, naming any viewer it likes
    let mut direct = through(&[(VIEWER_ADDRESS_HEADER, "203.0.113.50:443")]);
    let refused = guard.admit(&mut direct).unwrap_err();
    // THEN it is refused before any handler runs
    assert_eq!((refused.status(), refused.code()), (403, "NOT_THROUGH_EDGE"));

    // WHEN two viewers come through the same CloudFront edge
    let mut first = through(&[(ORIGIN_HEADER, value), (VIEWER_ADDRESS_HEADER, "198.51.100.7:50123")]);
    let mut second = through(&[(ORIGIN_HEADER, value), (VIEWER_ADDRESS_HEADER, "2001:db8:aa:bb:1::9:443")]);
    guard.admit(&mut first).unwrap();
    guard.admit(&mut second).unwrap();
    // THEN each is counted by its own address (an IPv6 one by its /64), not by CloudFront's,
    // and the secret is gone from what the handler sees
    assert_eq!(client_address(&first), "198.51.100.7");
    assert_eq!(client_address(&second), "2001:db8:aa:bb::/64");
    assert!(first.headers().get(ORIGIN_HEADER).is_none());

    // AND an origin secret too short to be unguessable stops the function at init
    let short = secrets.create_secret().name(format!("origin-short-{}", env.table)).secret_string("abc").send().await;
    let short = short.unwrap().arn().unwrap().to_owned();
    let refused = EdgeGuard::load(&sdk, &[("ORIGIN_VERIFY_SECRET_ARN", short.as_str())]).await.err().unwrap();
    assert!(matches!(refused, ConfigError::Unsuitable(_)), "{refused:?}");
}
