//! `devstack`: the local stack's helper, used by `make dev`.
//!
//!   devstack setup   create the table (as template.yaml declares it) and the SES sender identity
//!                    on the emulator named by AWS_ENDPOINT_URL; TABLE_NAME and SES_SENDER name them
//!   devstack env     create a token signing key (KMS) and the code pepper's secret (Secrets Manager)
//!                    on the emulator and print their ARNs as a local env file's lines
//!   devstack sms     print the SMS the emulator captured, newest last
//!   devstack webhooks
//!                    run the webhook pipeline on the emulator until stopped, as Lambda runs it:
//!                    the table's stream to the dispatcher, the FIFO queue to the deliverer, which
//!                    posts to partners' endpoints (public HTTPS only, as deployed) and to a local
//!                    receiver (`e2e::dev_receiver`); prints the queue's URL
//!                    (`partners webhooks replay|test --queue-url`) and the receiver's base URL
//!                    first, then a line for each delivery the receiver gets

use e2e::stack::{
    TableSpec, create_email_identity, create_pepper_secret, create_signing_key, create_table, template_path,
};
use registration::security::random;

const USAGE: &str = "usage: devstack setup | env | sms | webhooks\n\
  setup  create the table and SES sender on the emulator at AWS_ENDPOINT_URL (TABLE_NAME, SES_SENDER)\n\
  env    create the signing key and pepper secret on the emulator; print SIGNING_KEY_ARN, TOKEN_PUBLIC_KEYS, CODE_PEPPER_SECRET_ARN, FACTOR_KEY_ARN\n\
  sms    print the SMS the emulator captured\n\
  webhooks  run the webhook pipeline and a local receiver (TABLE_NAME, FACTOR_KEY_ARN, SES_SENDER) until stopped";

#[tokio::main]
async fn main() {
    let command = std::env::args().nth(1).unwrap_or_default();
    let result = match command.as_str() {
        "setup" => setup().await,
        "env" => print_env().await,
        "sms" => sms().await,
        "webhooks" => webhooks().await,
        _ => Err(USAGE.to_owned()),
    };
    if let Err(message) = result {
        eprintln!("devstack: {message}");
        std::process::exit(2);
    }
}

fn var(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

async fn setup() -> Result<(), String> {
    let endpoint = var("AWS_ENDPOINT_URL")?;
    let table = var("TABLE_NAME")?;
    let sender = std::env::var("SES_SENDER").unwrap_or_else(|_| "no-reply@registration.local".into());
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let spec = TableSpec::from_file(template_path())?;
    create_table(&aws_sdk_dynamodb::Client::new(&sdk), &table, &spec).await?;
    create_email_identity(&aws_sdk_sesv2::Client::new(&sdk), &sender).await?;
    println!("devstack: table {table} and SES sender {sender} ready on {endpoint}");
    Ok(())
}

/// The emulator forgets everything when it stops, so each start makes a new key and secret.
async fn print_env() -> Result<(), String> {
    var("AWS_ENDPOINT_URL")?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let key = create_signing_key(&kms).await?;
    let public_keys = e2e::stack::published_public_key(&kms, &key).await?;
    let name = format!("registration-code-pepper-{}", &random::id()[..8]);
    let secret = create_pepper_secret(&aws_sdk_secretsmanager::Client::new(&sdk), &name).await?;
    println!("SIGNING_KEY_ARN={key}");
    println!("TOKEN_PUBLIC_KEYS={public_keys}");
    println!("CODE_PEPPER_SECRET_ARN={secret}");
    println!("FACTOR_KEY_ARN={}", e2e::stack::create_factor_key(&kms).await?);
    Ok(())
}

async fn sms() -> Result<(), String> {
    let endpoint = var("AWS_ENDPOINT_URL")?;
    let data: serde_json::Value = reqwest::get(format!("{endpoint}/moto-api/data.json?service=sns"))
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    for sms in data["sns"]["SMS"].as_array().into_iter().flatten() {
        println!("{}  {}", sms["phone_number"].as_str().unwrap_or("?"), sms["message"].as_str().unwrap_or(""));
    }
    Ok(())
}

/// The queue `make dev`'s pipeline delivers from.
const DEV_QUEUE: &str = "registration-local-deliveries.fifo";

/// The webhook pipeline, polled once a second; a retry waits its real backoff (the queue's
/// visibility), as deployed.
async fn webhooks() -> Result<(), String> {
    use registration::adapters::dynamodb::DynamoStore;
    use registration::adapters::factor_sealer::KmsSecretSealer;
    use registration::adapters::ses::SesEmailSender;
    use registration::handlers::webhook_deliver::Deliverer;
    use registration::ports::{Clock, SystemClock};

    use futures::FutureExt;

    var("AWS_ENDPOINT_URL")?;
    let table = var("TABLE_NAME")?;
    let factor_key = var("FACTOR_KEY_ARN")?;
    // The handlers' own log lines (deliveries, disabled endpoints, notices not sent) to the log file.
    tracing_subscriber::fmt().with_ansi(false).init();
    let sender = std::env::var("SES_SENDER").unwrap_or_else(|_| "no-reply@registration.local".into());
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let pipeline = e2e::webhook_pipeline::Pipeline::on(&sdk, &dynamodb, &table, DEV_QUEUE).await;
    let mut receiver = e2e::dev_receiver::DevReceiver::start();
    // The receiver's line first: `make dev` reads both once the queue's is there.
    println!("WEBHOOK_RECEIVER={}", receiver.url());
    println!("WEBHOOK_QUEUE_URL={}", pipeline.queue_url);
    let store = DynamoStore::new(dynamodb, table);
    let sealer = KmsSecretSealer::for_webhooks(aws_sdk_kms::Client::new(&sdk), &factor_key);
    let poster = receiver.poster()?;
    let notices = SesEmailSender::new(aws_sdk_sesv2::Client::new(&sdk), sender);
    let queue = pipeline.queue();
    let deliverer = Deliverer {
        outbox: &store,
        accounts: &store,
        endpoints: &store,
        log: &store,
        queue: &queue,
        sealer: &sealer,
        poster: &poster,
        notices: Some(&notices),
        clock: &SystemClock,
    };
    loop {
        // The harness's pollers stop at an emulator error; here one pass fails, is logged, and the
        // next one a second later starts again from where the last one got to.
        let pass = async {
            pipeline.dispatch(&store, &store, &queue).await;
            // After the dispatch, so an endpoint added since the last pass is known before its
            // first delivery.
            if let Err(error) = receiver.learn_secrets(&store, &store, &sealer, SystemClock.now()).await {
                eprintln!("devstack: the local receiver's secrets: {error}");
            }
            while pipeline.deliver(&deliverer).await > 0 {}
        };
        if std::panic::AssertUnwindSafe(pass).catch_unwind().await.is_err() {
            eprintln!("devstack: a pipeline pass failed (above); trying again");
        }
        for line in receiver.new_deliveries() {
            println!("{line}");
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}
