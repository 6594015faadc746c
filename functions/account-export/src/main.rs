//! Lambda for `GET /v2/customer/export`: wiring only. Config, clients and keys are loaded once per cold start.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::account_export, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("account-export", wiring::app_verifier, |(app, verifier), req| account_export::handle(app, verifier, req))
        .await
}
