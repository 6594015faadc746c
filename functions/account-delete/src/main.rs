//! Lambda for `DELETE /v2/customer/account`: wiring only. Keys, clients and templates are loaded once per cold start.

use lambda_http::{Error, run, service_fn};
use registration::config::{Config, Environment, token_issuer};
use registration::security::access_token::AccessTokenVerifier;
use registration::{App, handlers::account_delete, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let sdk = App::sdk_config().await?;
    let app = &App::from_sdk(&sdk, &Config::load(&Environment)?);
    let mailer = &App::mailer(&sdk, &Environment)?;
    let verifier = &AccessTokenVerifier::new(&token_issuer(&Environment)?);
    run(service_fn(move |req| account_delete::handle(app, verifier, mailer, req))).await
}
