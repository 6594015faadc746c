//! Lambda for `POST /v2/mobile/password/reset`: wiring only. Clients and templates are loaded once per cold start.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::password_reset, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("password-reset", wiring::app_mailer, |(app, mailer), req| password_reset::handle(app, mailer, req)).await
}
