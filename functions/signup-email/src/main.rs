//! Lambda for `POST /v2/mobile/signup/email`: wiring only. Config, clients, the signing key and the
//! templates are loaded once per cold start.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::signup_email, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("signup-email", wiring::app_issuer_mailer, |(app, issuer, mailer), req| {
        signup_email::handle(app, issuer, mailer, req)
    })
    .await
}
