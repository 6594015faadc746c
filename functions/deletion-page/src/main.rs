//! Lambda for `GET` and `POST /v2/account/delete`, the account deletion web page: wiring only.
//! Clients and templates are loaded once per cold start.

use lambda_http::Error;
use registration::config::Environment;
use registration::serve::serve;
use registration::{App, handlers::deletion_page, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve(
        "deletion-page",
        || async {
            let sdk = App::sdk_config().await?;
            let app = App::from_sdk(&sdk, &App::config(&sdk, &Environment).await?);
            let mailer = App::mailer(&sdk, &Environment)?;
            Ok((app, mailer))
        },
        |(app, mailer), req| deletion_page::handle(app, mailer, req),
    )
    .await
}
