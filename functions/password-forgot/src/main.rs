//! Lambda for `POST /v2/mobile/password/forgot`: wiring only. Clients and templates are loaded once per cold start.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::password_forgot, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("password-forgot", wiring::app_mailer, |(app, mailer), req| password_forgot::handle(app, mailer, req)).await
}
