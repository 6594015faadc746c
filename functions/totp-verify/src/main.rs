//! Lambda for `POST /v2/customer/factors/totp/verify`: wiring only. Keys, clients and templates are loaded once per cold start.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::totp_verify, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("totp-verify", wiring::app_verifier_mailer, |(app, verifier, mailer), req| {
        totp_verify::handle(app, verifier, mailer, req)
    })
    .await
}
