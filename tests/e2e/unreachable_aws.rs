//! An AWS endpoint that is down or hung never holds a request past the function timeout: the call
//! gives up inside `call_limits::OPERATION` and the caller gets the 503 `UNAVAILABLE` envelope, not
//! API Gateway's bare 503 after Lambda killed the invocation.

use std::time::{Duration, Instant};

use aws_config::Region;
use aws_sdk_dynamodb::config::Credentials;
use e2e::{Endpoint, MERCHANT, VERSION, fresh_phone};
use lambda_http::Body;
use registration::App;
use registration::adapters::call_limits;
use registration::config::Config;
use registration::handlers::signup;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// The `Timeout` of every API function in template.yaml.
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(10);

/// The production wiring (`App::sdk_loader`, as every function's `main` loads it) pointed at `endpoint`.
async fn service_on(endpoint: &str) -> App {
    let sdk = App::sdk_loader()
        .unwrap()
        .endpoint_url(endpoint)
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .load()
        .await;
    let config = Config {
        table_name: "registration".into(),
        code_pepper: None,
        sms_sender_id: None,
        rate_limits: Default::default(),
        factor_key_arn: None,
    };
    App::from_sdk(&sdk, &config)
}

/// A signup as the app sends it; its first step reads the partner from the table.
async fn signup_on(app: &App) -> (u16, Value, Duration) {
    let mut req = Endpoint::Signup.event();
    let body =
        json!({ "phone": fresh_phone(), "password": "Harbour-Kestrel-42", "merchantId": MERCHANT, "version": VERSION });
    *req.body_mut() = Body::Text(body.to_string());
    let started = Instant::now();
    // A hang past the function timeout fails here instead of holding the test forever.
    let response = tokio::time::timeout(FUNCTION_TIMEOUT, signup::handle(app, req))
        .await
        .unwrap_or_else(|_| panic!("no answer within the function timeout"))
        .unwrap();
    let body = serde_json::from_slice(response.body().as_ref()).unwrap();
    (response.status().as_u16(), body, started.elapsed())
}

#[tokio::test]
async fn a_hung_aws_endpoint_answers_503_unavailable_before_the_function_timeout() {
    // GIVEN an endpoint that accepts connections and never answers
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let app = service_on(&endpoint).await;

    // WHEN a user signs up
    let (status, body, took) = signup_on(&app).await;

    // THEN the answer is the 503 envelope, given once the call's own limit ran out
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "UNAVAILABLE", "{body}");
    assert!(took >= call_limits::ATTEMPT, "gave up after {took:?}, before one attempt's limit");
    assert!(took < FUNCTION_TIMEOUT, "took {took:?}, past the function timeout");
    held.abort();
}

#[tokio::test]
async fn an_aws_endpoint_that_refuses_connections_answers_503_unavailable() {
    // GIVEN an endpoint nothing listens on
    let port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let app = service_on(&format!("http://127.0.0.1:{port}")).await;

    // WHEN a user signs up
    let (status, body, took) = signup_on(&app).await;

    // THEN the answer is the 503 envelope, well inside the function timeout
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "UNAVAILABLE", "{body}");
    assert!(took < FUNCTION_TIMEOUT, "took {took:?}");
}
