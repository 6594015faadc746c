//! Lambda for `POST /v2/mobile/phone/verify/resend`: wiring only.

use lambda_http::Error;
use registration::serve::serve;
use registration::{App, handlers::phone_resend, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve(
        "phone-resend",
        || async {
            let app = App::from_env().await?;
            Ok((app,))
        },
        |(app,), req| phone_resend::handle(app, req),
    )
    .await
}
