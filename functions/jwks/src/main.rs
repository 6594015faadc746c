//! Lambda for `GET /.well-known/jwks.json`: wiring only. The document is rendered once per cold
//! start; this function touches no table.

use lambda_http::Error;
use registration::config::Environment;
use registration::serve::serve;
use registration::{App, handlers::jwks, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve(
        "jwks",
        || async {
            let sdk = App::sdk_config().await?;
            let document = App::token_keys(&sdk, &Environment).await?.jwks().to_string();
            Ok((document,))
        },
        |(document,), req| jwks::handle(document, req),
    )
    .await
}
