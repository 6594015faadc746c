//! Lambda for `DELETE /v2/customer/sessions`: wiring only. Keys and clients are loaded once per cold start.

use lambda_http::{Error, run, service_fn};
use registration::config::{Environment, token_issuer};
use registration::security::access_token::AccessTokenVerifier;
use registration::{App, handlers::sessions_end_others, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let app = &App::from_env().await?;
    let verifier = &AccessTokenVerifier::new(&token_issuer(&Environment)?);
    run(service_fn(move |req| sessions_end_others::handle(app, verifier, req))).await
}
