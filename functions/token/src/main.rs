//! Lambda for `POST /oauth/token`: wiring only. The signing keys are parsed once here.

use lambda_http::{Error, run, service_fn};
use registration::config::{Environment, token_issuer};
use registration::{App, handlers::token, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let app = &App::from_env().await?;
    let issuer = &token_issuer(&Environment)?;
    run(service_fn(move |req| token::handle(app, issuer, req))).await
}
