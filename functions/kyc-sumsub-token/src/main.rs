//! Lambda for `POST /v2/customer/kyc/sumsub/token`: wiring only. Keys and clients are loaded once per
//! cold start; a partner's Sumsub credentials when a request first needs them.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::kyc_sumsub_token, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("kyc-sumsub-token", wiring::app_verifier_sumsub, |(app, verifier, sumsub), req| {
        kyc_sumsub_token::handle(app, verifier, sumsub, req)
    })
    .await
}
