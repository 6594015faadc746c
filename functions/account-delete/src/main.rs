//! Lambda for `DELETE /v2/customer/account`: wiring only. Keys, clients and templates are loaded once per cold start.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::account_delete, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("account-delete", wiring::app_verifier_mailer, |(app, verifier, mailer), req| {
        account_delete::handle(app, verifier, mailer, req)
    })
    .await
}
