//! Lambda for `POST /v2/mobile/signup`: wiring only. Config and clients are built once per cold start.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::signup, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("signup", wiring::app, |(app,), req| signup::handle(app, req)).await
}
