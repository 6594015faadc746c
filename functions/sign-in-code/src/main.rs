//! Lambda for `POST /v2/mobile/sign-in/code`: wiring only. Keys, clients and templates are loaded once per cold start.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::sign_in_code, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("sign-in-code", wiring::app, |(app,), req| sign_in_code::handle(app, req)).await
}
