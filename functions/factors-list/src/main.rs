//! Lambda for `GET /v2/customer/factors`: wiring only. Keys, clients and templates are loaded once per cold start.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::factors_list, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("factors-list", wiring::app_verifier, |(app, verifier), req| factors_list::handle(app, verifier, req)).await
}
