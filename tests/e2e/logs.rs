//! No password, code or token appears in any log line.

use e2e::{TestEnv, fresh_phone, logs};
use serde_json::json;

#[tokio::test]
async fn secrets_never_reach_the_logs() {
    // GIVEN a full signup, a wrong code, a resend and a confirm
    let env = TestEnv::new().await;
    let phone = fresh_phone();
    let password = "Log-Canary-8271";
    assert_eq!(env.signup(json!({ "phone": phone, "password": password })).await.status, 200);
    let first = env.latest_code(&phone).await;
    let wrong = format!("{:06}", (first.parse::<u32>().unwrap() + 7) % 1_000_000);
    assert_eq!(env.confirm(&phone, &wrong).await.status, 400);
    env.clock.advance(60);
    assert_eq!(env.resend(&phone).await.status, 200);
    let code = env.latest_code(&phone).await;
    let tokens = env.confirm(&phone, &code).await;
    assert_eq!(tokens.status, 200);
    // AND a refused signup whose password is logged nowhere either
    assert_eq!(env.signup(json!({ "phone": phone, "password": "short1" })).await.status, 400);

    // THEN the logs record the requests (timestamps dropped: their microseconds could look like a code)
    let text = logs::text_without_timestamps();
    assert!(text.contains("\"endpoint\":\"phone-confirm\""), "nothing was logged");
    // AND none of the secrets
    let access = tokens.body["access_token"].as_str().unwrap();
    let refresh = tokens.body["refresh_token"].as_str().unwrap();
    let signature = access.rsplit('.').next().unwrap();
    for secret in [password, "short1", first.as_str(), code.as_str(), wrong.as_str(), refresh, signature] {
        assert!(!logs::contains_word(&text, secret), "a secret reached the logs");
    }
    assert!(!text.contains(&phone), "a full phone number reached the logs");
}

#[tokio::test]
async fn each_request_line_carries_the_lambda_and_api_gateway_request_ids() {
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;
    // GIVEN a request as Lambda hands it over, with both ids
    let env = TestEnv::new().await;
    let api_id = uuid::Uuid::new_v4().to_string();
    let lambda_id = uuid::Uuid::new_v4().to_string();
    let mut req = e2e::Endpoint::Jwks.event();
    let mut context = req.request_context();
    if let RequestContext::ApiGatewayV2(ctx) = &mut context {
        ctx.request_id = Some(api_id.clone());
    }
    let mut lambda = lambda_http::Context::default();
    lambda.request_id = lambda_id.clone();
    req = req.with_request_context(context).with_lambda_context(lambda);

    // WHEN it is handled
    let response = registration::handlers::jwks::handle(&env.jwks_document, req).await.unwrap();
    assert_eq!(response.status(), 200);

    // THEN its one request line names both, so it joins the access log and Lambda's REPORT line
    let line = logs::text()
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .find(|line| line["apiRequestId"] == api_id.as_str())
        .expect("a line with the API request id");
    assert_eq!(line["lambdaRequestId"], lambda_id.as_str());
    assert_eq!(line["endpoint"], "jwks");
    assert_eq!(line["status"], 200);
}
