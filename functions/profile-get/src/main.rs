//! Lambda for `GET /v2/customer/profile`: wiring only. Keys and clients are loaded once per cold start.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::profile_get, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("profile-get", wiring::app_verifier, |(app, verifier), req| profile_get::handle(app, verifier, req)).await
}
