//! Lambda for `DELETE /v2/customer/sessions/{id}`: wiring only. Keys and clients are loaded once per cold start.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::session_end, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("session-end", wiring::app_verifier, |(app, verifier), req| session_end::handle(app, verifier, req)).await
}
