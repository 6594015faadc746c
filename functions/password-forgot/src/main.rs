//! Lambda for `POST /v2/mobile/password/forgot`: wiring only.

use lambda_http::{Error, run, service_fn};
use registration::{App, handlers::password_forgot, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let app = &App::from_env().await?;
    run(service_fn(move |req| password_forgot::handle(app, req))).await
}
