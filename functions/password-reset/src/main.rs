//! Lambda for `POST /v2/mobile/password/reset`: wiring only. Clients and templates are loaded once per cold start.

use lambda_http::Error;
use registration::config::Environment;
use registration::serve::serve;
use registration::{App, handlers::password_reset, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve(
        "password-reset",
        || async {
            let sdk = App::sdk_config().await?;
            let app = App::from_sdk(&sdk, &App::config(&sdk, &Environment).await?);
            let mailer = App::mailer(&sdk, &Environment)?;
            Ok((app, mailer))
        },
        |(app, mailer), req| password_reset::handle(app, mailer, req),
    )
    .await
}
