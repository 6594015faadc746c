//! Lambda for `POST /v2/mobile/password/reset`: wiring only.

use lambda_http::{Error, run, service_fn};
use registration::{App, handlers::password_reset, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let app = &App::from_env().await?;
    run(service_fn(move |req| password_reset::handle(app, req))).await
}
