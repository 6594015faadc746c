//! Lambda for `POST /v2/customer/factors/recovery-codes`: wiring only. Keys, clients and templates are loaded once per cold start.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::recovery_codes_regenerate, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("recovery-codes-regenerate", wiring::app_verifier_mailer, |(app, verifier, mailer), req| {
        recovery_codes_regenerate::handle(app, verifier, mailer, req)
    })
    .await
}
