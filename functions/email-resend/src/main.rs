//! Lambda for `POST /v2/mobile/email/verify/resend`: wiring only. Keys, clients and templates are loaded once per cold start.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::email_resend, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("email-resend", wiring::app_verifier_mailer, |(app, verifier, mailer), req| {
        email_resend::handle(app, verifier, mailer, req)
    })
    .await
}
