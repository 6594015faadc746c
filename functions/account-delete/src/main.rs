//! Lambda for `DELETE /v2/customer/account`: wiring only. Keys, clients and templates are loaded once per cold start.

use lambda_http::Error;
use registration::config::Environment;
use registration::security::access_token::AccessTokenVerifier;
use registration::serve::serve;
use registration::{App, handlers::account_delete, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve(
        "account-delete",
        || async {
            let sdk = App::sdk_config().await?;
            let app = App::from_sdk(&sdk, &App::config(&sdk, &Environment).await?);
            let mailer = App::mailer(&sdk, &Environment)?;
            let verifier = AccessTokenVerifier::new(&App::token_keys(&sdk, &Environment).await?);
            Ok((app, mailer, verifier))
        },
        |(app, mailer, verifier), req| account_delete::handle(app, verifier, mailer, req),
    )
    .await
}
