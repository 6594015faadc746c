//! Lambda for `DELETE /v2/customer/factors/{id}`: wiring only. Keys, clients and templates are loaded once per cold start.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::factor_remove, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("factor-remove", wiring::app_verifier_mailer, |(app, verifier, mailer), req| {
        factor_remove::handle(app, verifier, mailer, req)
    })
    .await
}
