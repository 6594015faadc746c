//! Lambda for `POST /v2/mobile/phone/verify/resend`: wiring only.

use lambda_http::{Error, run, service_fn};
use registration::{App, handlers::phone_resend, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let app = &App::from_env().await?;
    run(service_fn(move |req| phone_resend::handle(app, req))).await
}
