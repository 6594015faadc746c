//! Lambda for `POST /oauth/token`: wiring only. The signing keys, clients and templates are loaded once here.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::token, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("token", wiring::app_issuer_mailer, |(app, issuer, mailer), req| token::handle(app, issuer, mailer, req))
        .await
}
