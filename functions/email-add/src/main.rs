//! Lambda for `PUT /v2/mobile/email/add`: wiring only. Keys, clients and templates are loaded once per cold start.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::email_add, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("email-add", wiring::app_verifier_mailer, |(app, verifier, mailer), req| {
        email_add::handle(app, verifier, mailer, req)
    })
    .await
}
