//! Lambda for the webhook dispatcher (the table's stream, event items only): wiring only.

use lambda_http::Error;
use registration::serve::serve_events;
use registration::{handlers::webhook_dispatch, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve_events("webhook-dispatch", wiring::webhooks_dispatcher, |(hooks,), batch| {
        webhook_dispatch::handle(hooks.store.as_ref(), hooks.store.as_ref(), hooks.queue.as_ref(), batch)
    })
    .await
}
