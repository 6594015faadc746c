//! Lambda for `GET /v2/mobile/email/confirm`: wiring only.

use lambda_http::{Error, run, service_fn};
use registration::{App, handlers::email_confirm, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let app = &App::from_env().await?;
    run(service_fn(move |req| email_confirm::handle(app, req))).await
}
