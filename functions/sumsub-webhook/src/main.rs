//! Lambda for `POST /v2/webhooks/sumsub/{partnerId}`: wiring only. Clients are loaded once per cold
//! start; a partner's webhook secret when its first webhook arrives.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::sumsub_webhook, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("sumsub-webhook", wiring::app_sumsub, |(app, sumsub), req| sumsub_webhook::handle(app, sumsub, req)).await
}
