//! Lambda for `GET` and `POST /v2/mobile/email/confirm`: wiring only. Clients and templates are loaded once per cold start.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::email_confirm, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("email-confirm", wiring::app_mailer, |(app, mailer), req| email_confirm::handle(app, mailer, req)).await
}
