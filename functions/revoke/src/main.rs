//! Lambda for `POST /oauth/revoke`: wiring only.

use lambda_http::{Error, run, service_fn};
use registration::{App, handlers::revoke, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let app = &App::from_env().await?;
    run(service_fn(move |req| revoke::handle(app, req))).await
}
