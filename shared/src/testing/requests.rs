//! Requests from the API Gateway events in `events/`, and the answers read back.

use lambda_http::{Body, Request, Response};
use serde_json::Value;

use crate::domain::partner::{CountryCode, Partner, PartnerStatus, PolicyName};

/// The partner every event in `events/` names.
pub const MERCHANT: &str = "bece038f-2e46-49f4-b25e-89cd38d6dc16";

/// `MERCHANT` as a live partner that sends to GB.
#[allow(clippy::expect_used)]
pub fn live_partner() -> Partner {
    Partner {
        id: MERCHANT.into(),
        name: "Unit test partner".into(),
        status: PartnerStatus::Active,
        sandbox: false,
        password_policy: PolicyName::Seed000,
        sms_countries: vec![CountryCode::parse("GB").expect("a country")],
        daily_sms_budget: 100_000,
        signing_secret: None,
        email_sender: None,
        public_base_url: None,
        new_device_notices: false,
        second_factor: Default::default(),
        forwards_end_user_address: false,
        sumsub: None,
        created_at: 1,
        updated_at: 1,
    }
}

/// `event` (an `events/*.json` text) with `body` (a JSON value, or a string sent as it is) and
/// `headers` set.
#[allow(clippy::expect_used)]
pub fn request(event: &str, body: Value, headers: &[(&'static str, &str)]) -> Request {
    let mut req = lambda_http::request::from_str(event).expect("an API Gateway event");
    *req.body_mut() = Body::Text(match body {
        Value::String(raw) => raw,
        Value::Null => String::new(),
        other => other.to_string(),
    });
    for (name, value) in headers {
        req.headers_mut().insert(*name, value.parse().expect("a header value"));
    }
    req
}

/// An answer: its status and its JSON body (`Null` for an empty or HTML one).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    /// The `WWW-Authenticate` header, where a 401 carries one.
    pub www_authenticate: Option<String>,
}

impl From<Response<Body>> for Reply {
    fn from(response: Response<Body>) -> Reply {
        let body = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
        let www_authenticate = response
            .headers()
            .get(lambda_http::http::header::WWW_AUTHENTICATE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        Reply { status: response.status().as_u16(), body, www_authenticate }
    }
}
