//! Lambda for `PATCH /v2/customer/profile`: wiring only. Keys and clients are loaded once per cold start.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::profile_update, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("profile-update", wiring::app_verifier, |(app, verifier), req| profile_update::handle(app, verifier, req))
        .await
}
