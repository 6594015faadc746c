//! Lambda for `GET` and `POST /v2/account/delete`, the account deletion web page: wiring only.
//! Clients and templates are loaded once per cold start.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::deletion_page, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("deletion-page", wiring::app_mailer, |(app, mailer), req| deletion_page::handle(app, mailer, req)).await
}
