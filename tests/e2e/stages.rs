//! The API as partners reach it once deployed: on a named stage of the execute-api endpoint, where
//! the path carries the stage (`/dev/v2/...`), and behind a custom domain mapped to that stage, where
//! it does not. Routes, request signatures over the path as sent, and the links in emails work on both.

use e2e::{Endpoint, MERCHANT, TestEnv, fresh_phone};
use lambda_http::Body;
use registration::admission::signature;
use registration::domain::partner::SigningSecret;
use registration::ports::Clock;
use serde_json::json;

const NAMED_STAGE: &str = include_str!("../../events/signup-named-stage.json");
const CUSTOM_DOMAIN: &str = include_str!("../../events/signup-custom-domain.json");
const LINK_NAMED_STAGE: &str = include_str!("../../events/email-confirm-named-stage.json");
const LINK_CUSTOM_DOMAIN: &str = include_str!("../../events/email-confirm-custom-domain.json");

fn event(json: &str) -> lambda_http::Request {
    lambda_http::request::from_str(json).unwrap()
}

#[tokio::test]
async fn a_signed_request_verifies_over_the_path_as_sent_on_a_named_stage_and_behind_a_custom_domain() {
    // GIVEN a partner that signs its requests
    let env = &TestEnv::new().await;
    let secret = &SigningSecret::generate();
    let stored = secret.clone();
    env.update_partner(MERCHANT, move |p| p.signing_secret = Some(stored)).await;

    for (name, json, sent_path, other_path) in [
        ("named stage", NAMED_STAGE, "/dev/v2/mobile/signup", "/v2/mobile/signup"),
        ("custom domain", CUSTOM_DOMAIN, "/v2/mobile/signup", "/dev/v2/mobile/signup"),
    ] {
        let send = |path: &'static str| async move {
            let body = json!({ "phone": fresh_phone(), "password": "1234Qwerty" }).to_string();
            let header = signature::sign(secret, env.clock.now(), "POST", path, body.as_bytes());
            let headers = [("x-merchant-id", Some(MERCHANT)), ("x-signature", Some(header.as_str()))];
            env.call_with_event(Endpoint::Signup, event(json), None, Body::Text(body), &headers).await
        };
        // WHEN the partner signs the path it sent the request to
        let signed = send(sent_path).await;
        // THEN the request is served
        assert_eq!(signed.status, 200, "{name}: {:?}", signed.body);
        // AND a signature over the other form of the path is refused
        let other = send(other_path).await;
        assert_eq!(other.status, 401, "{name}: {:?}", other.body);
        assert_eq!(other.body["field"], "X-Signature", "{name}");
    }
}

#[tokio::test]
async fn the_link_in_the_email_confirms_on_a_named_stage_and_behind_a_custom_domain() {
    for (base, json) in [
        ("https://abcdef1234.execute-api.eu-west-1.amazonaws.com/dev", LINK_NAMED_STAGE),
        ("https://auth.example.com", LINK_CUSTOM_DOMAIN),
    ] {
        // GIVEN a stage whose public base URL is `base`, and a user who added an email address
        let env = TestEnv::with_public_base_url(base).await;
        let tokens = env.registered(&fresh_phone(), "1234Qwerty").await;
        let auth = e2e::bearer(&tokens);
        let email = e2e::fresh_email().to_lowercase();
        assert_eq!(env.as_user(Endpoint::EmailAdd, &auth, json!({ "email": email })).await.status, 200);
        let link = env.latest_link(&email).await;

        // WHEN the link is opened where it points: its path is the path API Gateway receives
        let url = lambda_http::http::Uri::try_from(link.as_str()).unwrap();
        assert_eq!(format!("https://{}", url.host().unwrap()), base.split("/dev").next().unwrap());
        let mut value: serde_json::Value = serde_json::from_str(json).unwrap();
        value["rawPath"] = json!(url.path());
        value["requestContext"]["http"]["path"] = json!(url.path());
        value["rawQueryString"] = json!(url.query().unwrap());
        let token = url.query().unwrap().strip_prefix("token=").unwrap();
        value["queryStringParameters"] = json!({ "token": token });
        let headers = [("accept", Some("application/json"))];
        let opened =
            env.call_with_event(Endpoint::EmailConfirm, event(&value.to_string()), None, Body::Empty, &headers).await;

        // THEN it confirms the address, and the profile shows it
        assert_eq!(opened.status, 200, "{base}: {:?}", opened.body);
        let profile = env.as_user(Endpoint::ProfileGet, &auth, serde_json::Value::Null).await;
        assert_eq!(profile.body["email"], email.as_str(), "{base}");
        assert_eq!(profile.body["emailVerified"], true, "{base}");
    }
}
