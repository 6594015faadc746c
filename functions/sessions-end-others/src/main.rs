//! Lambda for `DELETE /v2/customer/sessions`: wiring only. Keys and clients are loaded once per cold start.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::sessions_end_others, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("sessions-end-others", wiring::app_verifier, |(app, verifier), req| {
        sessions_end_others::handle(app, verifier, req)
    })
    .await
}
