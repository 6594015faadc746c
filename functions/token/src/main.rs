//! Lambda for `POST /oauth/token`: wiring only. The signing keys, clients and templates are loaded once here.

use lambda_http::{Error, run, service_fn};
use registration::config::{Config, Environment, token_issuer};
use registration::{App, handlers::token, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let sdk = App::sdk_config().await?;
    let app = &App::from_sdk(&sdk, &Config::load(&Environment)?);
    let issuer = &token_issuer(&Environment)?;
    let mailer = &App::mailer(&sdk, &Environment)?;
    run(service_fn(move |req| token::handle(app, issuer, mailer, req))).await
}
