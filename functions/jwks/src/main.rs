//! Lambda for `GET /.well-known/jwks.json`: wiring only. The document is rendered once per cold
//! start; this function touches no table.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::jwks, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("jwks", wiring::jwks_document, |(document,), req| jwks::handle(document, req)).await
}
