//! Lambda for `POST /v2/customer/factors/sms`: wiring only. Keys, clients and templates are loaded once per cold start.

use lambda_http::Error;
use registration::serve::serve;
use registration::{handlers::sms_factor_enrol, telemetry, wiring};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    serve("sms-factor-enrol", wiring::app_verifier_mailer_sms_enrolment, |(app, verifier, mailer, switch), req| {
        sms_factor_enrol::handle(app, verifier, mailer, *switch, req)
    })
    .await
}
