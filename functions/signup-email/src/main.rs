//! Lambda for `POST /v2/mobile/signup/email`: wiring only. Config, clients, the signing key and the
//! templates are loaded once per cold start.

use lambda_http::Error;
use registration::config::Environment;
use registration::serve::serve;
use registration::{App, handlers::signup_email, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve(
        "signup-email",
        || async {
            let sdk = App::sdk_config().await?;
            let app = App::from_sdk(&sdk, &App::config(&sdk, &Environment).await?);
            let mailer = App::mailer(&sdk, &Environment)?;
            let issuer = App::token_issuer(&sdk, &Environment).await?;
            Ok((app, mailer, issuer))
        },
        |(app, mailer, issuer), req| signup_email::handle(app, issuer, mailer, req),
    )
    .await
}
