//! Lambda for `POST /v2/mobile/password/forgot`: wiring only. Clients and templates are loaded once per cold start.

use lambda_http::Error;
use registration::config::Environment;
use registration::serve::serve;
use registration::{App, handlers::password_forgot, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve(
        "password-forgot",
        || async {
            let sdk = App::sdk_config().await?;
            let app = App::from_sdk(&sdk, &App::config(&sdk, &Environment).await?);
            let mailer = App::mailer(&sdk, &Environment)?;
            Ok((app, mailer))
        },
        |(app, mailer), req| password_forgot::handle(app, mailer, req),
    )
    .await
}
