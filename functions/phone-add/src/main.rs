//! Lambda for `PUT /v2/mobile/phone/add`: wiring only. Config, clients and keys are loaded once per cold start.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::phone_add, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("phone-add", wiring::app_verifier_mailer, |(app, verifier, mailer), req| {
        phone_add::handle(app, verifier, mailer, req)
    })
    .await
}
