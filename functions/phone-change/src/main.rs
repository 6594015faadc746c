//! Lambda for `PUT /v2/mobile/phone/change`: wiring only. Keys, clients and templates are loaded once per cold start.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::phone_change, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("phone-change", wiring::app_verifier_mailer, |(app, verifier, mailer), req| {
        phone_change::handle(app, verifier, mailer, req)
    })
    .await
}
