//! Lambda for `PUT /v2/mobile/password`: wiring only. Keys, clients and templates are loaded once per cold start.

use lambda_http::Error;
use registration::config::Environment;
use registration::security::access_token::AccessTokenVerifier;
use registration::serve::serve;
use registration::{App, handlers::password_change, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve(
        "password-change",
        || async {
            let sdk = App::sdk_config().await?;
            let app = App::from_sdk(&sdk, &App::config(&sdk, &Environment).await?);
            let mailer = App::mailer(&sdk, &Environment)?;
            let verifier = AccessTokenVerifier::new(&App::token_keys(&sdk, &Environment).await?);
            Ok((app, mailer, verifier))
        },
        |(app, mailer, verifier), req| password_change::handle(app, verifier, mailer, req),
    )
    .await
}
