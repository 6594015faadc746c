//! Lambda for the webhook deliverer (the delivery queue): wiring only.

use lambda_http::Error;
use registration::serve::serve_events;
use registration::{handlers::webhook_deliver, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve_events("webhook-deliver", wiring::webhooks_deliverer, |(hooks,), batch| async move {
        webhook_deliver::handle(&hooks.deliverer(), batch).await
    })
    .await
}
