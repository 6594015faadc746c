//! Lambda for `POST /v2/mobile/phone/confirm`: wiring only. The signing key is parsed once here.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::phone_confirm, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("phone-confirm", wiring::app_issuer, |(app, issuer), req| phone_confirm::handle(app, issuer, req)).await
}
