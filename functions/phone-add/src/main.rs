//! Lambda for `PUT /v2/mobile/phone/add`: wiring only. Config, clients and keys are loaded once per cold start.

use lambda_http::Error;
use registration::config::Environment;
use registration::security::access_token::AccessTokenVerifier;
use registration::serve::serve;
use registration::{App, handlers::phone_add, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve(
        "phone-add",
        || async {
            let sdk = App::sdk_config().await?;
            let app = App::from_sdk(&sdk, &App::config(&sdk, &Environment).await?);
            let verifier = AccessTokenVerifier::new(&App::token_keys(&sdk, &Environment).await?);
            Ok((app, verifier))
        },
        |(app, verifier), req| phone_add::handle(app, verifier, req),
    )
    .await
}
