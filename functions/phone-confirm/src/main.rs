//! Lambda for `POST /v2/mobile/phone/confirm`: wiring only. The signing key is parsed once here.

use lambda_http::{Error, run, service_fn};
use registration::config::{Environment, token_issuer};
use registration::{App, handlers::phone_confirm, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let app = &App::from_env().await?;
    let issuer = &token_issuer(&Environment)?;
    run(service_fn(move |req| phone_confirm::handle(app, issuer, req))).await
}
