//! Lambda for `POST /v2/mobile/signup`: wiring only. Config and clients are built once per cold start.

use lambda_http::{Error, run, service_fn};
use registration::{App, handlers::signup, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let app = &App::from_env().await?;
    run(service_fn(move |req| signup::handle(app, req))).await
}
