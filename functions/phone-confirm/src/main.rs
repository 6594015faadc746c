//! Lambda for `POST /v2/mobile/phone/confirm`: wiring only. The signing key is parsed once here.

use lambda_http::Error;
use registration::config::Environment;
use registration::serve::serve;
use registration::{App, handlers::phone_confirm, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve(
        "phone-confirm",
        || async {
            let sdk = App::sdk_config().await?;
            let app = App::from_sdk(&sdk, &App::config(&sdk, &Environment).await?);
            let issuer = App::token_issuer(&sdk, &Environment).await?;
            Ok((app, issuer))
        },
        |(app, issuer), req| phone_confirm::handle(app, issuer, req),
    )
    .await
}
