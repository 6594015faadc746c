//! Lambda for `GET /v2/customer/profile`: wiring only. Keys and clients are loaded once per cold start.

use lambda_http::{Error, run, service_fn};
use registration::config::{Environment, token_issuer};
use registration::security::access_token::AccessTokenVerifier;
use registration::{App, handlers::profile_get, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let app = &App::from_env().await?;
    let verifier = &AccessTokenVerifier::new(&token_issuer(&Environment)?);
    run(service_fn(move |req| profile_get::handle(app, verifier, req))).await
}
