//! Lambda for `POST /v2/customer/step-up/code`: wiring only. Keys, clients and templates are loaded once per cold start.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::step_up_code, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("step-up-code", wiring::app_verifier, |(app, verifier), req| step_up_code::handle(app, verifier, req)).await
}
