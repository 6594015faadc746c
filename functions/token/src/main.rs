//! Lambda for `POST /oauth/token`: wiring only. The signing keys, clients and templates are loaded once here.

use lambda_http::Error;
use registration::config::Environment;
use registration::serve::serve;
use registration::{App, handlers::token, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve(
        "token",
        || async {
            let sdk = App::sdk_config().await?;
            let app = App::from_sdk(&sdk, &App::config(&sdk, &Environment).await?);
            let issuer = App::token_issuer(&sdk, &Environment).await?;
            let mailer = App::mailer(&sdk, &Environment)?;
            Ok((app, issuer, mailer))
        },
        |(app, issuer, mailer), req| token::handle(app, issuer, mailer, req),
    )
    .await
}
