//! Lambda for `PUT /v2/mobile/phone/change`: wiring only. Keys, clients and templates are loaded once per cold start.

use lambda_http::Error;
use registration::config::Environment;
use registration::security::access_token::AccessTokenVerifier;
use registration::serve::serve;
use registration::{App, handlers::phone_change, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve(
        "phone-change",
        || async {
            let sdk = App::sdk_config().await?;
            let app = App::from_sdk(&sdk, &App::config(&sdk, &Environment).await?);
            let mailer = App::mailer(&sdk, &Environment)?;
            let verifier = AccessTokenVerifier::new(&App::token_keys(&sdk, &Environment).await?);
            Ok((app, mailer, verifier))
        },
        |(app, mailer, verifier), req| phone_change::handle(app, verifier, mailer, req),
    )
    .await
}
