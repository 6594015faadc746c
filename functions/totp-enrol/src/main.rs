//! Lambda for `POST /v2/customer/factors/totp`: wiring only. Keys, clients and templates are loaded once per cold start.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::totp_enrol, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("totp-enrol", wiring::app_verifier, |(app, verifier), req| totp_enrol::handle(app, verifier, req)).await
}
