//! Lambda for `POST /oauth/revoke`: wiring only. Keys and clients are loaded once per cold start.

use lambda_http::Error;
use registration::config::Environment;
use registration::security::access_token::AccessTokenVerifier;
use registration::serve::serve;
use registration::{App, handlers::revoke, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve(
        "revoke",
        || async {
            let sdk = App::sdk_config().await?;
            let app = App::from_sdk(&sdk, &App::config(&sdk, &Environment).await?);
            let verifier = AccessTokenVerifier::new(&App::token_keys(&sdk, &Environment).await?);
            Ok((app, verifier))
        },
        |(app, verifier), req| revoke::handle(app, verifier, req),
    )
    .await
}
