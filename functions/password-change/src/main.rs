//! Lambda for `PUT /v2/mobile/password`: wiring only. Keys, clients and templates are loaded once per cold start.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::password_change, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("password-change", wiring::app_verifier_mailer, |(app, verifier, mailer), req| {
        password_change::handle(app, verifier, mailer, req)
    })
    .await
}
