//! Lambda for `POST /v2/mobile/password/reset`: wiring only. Clients and templates are loaded once per cold start.

use lambda_http::{Error, run, service_fn};
use registration::config::Environment;
use registration::{App, handlers::password_reset, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let sdk = App::sdk_config().await?;
    let app = &App::from_sdk(&sdk, &App::config(&sdk, &Environment).await?);
    let mailer = &App::mailer(&sdk, &Environment)?;
    run(service_fn(move |req| password_reset::handle(app, mailer, req))).await
}
