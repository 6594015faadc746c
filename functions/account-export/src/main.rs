//! Lambda for `GET /v2/customer/export`: wiring only. Config, clients and keys are loaded once per cold start.

use lambda_http::{Error, run, service_fn};
use registration::config::{Environment, token_issuer};
use registration::security::access_token::AccessTokenVerifier;
use registration::{App, handlers::account_export, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let app = &App::from_env().await?;
    let verifier = &AccessTokenVerifier::new(&token_issuer(&Environment)?);
    run(service_fn(move |req| account_export::handle(app, verifier, req))).await
}
