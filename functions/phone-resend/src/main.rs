//! Lambda for `POST /v2/mobile/phone/verify/resend`: wiring only.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::phone_resend, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("phone-resend", wiring::app, |(app,), req| phone_resend::handle(app, req)).await
}
