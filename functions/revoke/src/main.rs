//! Lambda for `POST /oauth/revoke`: wiring only. Keys and clients are loaded once per cold start.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::revoke, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("revoke", wiring::app_verifier, |(app, verifier), req| revoke::handle(app, verifier, req)).await
}
