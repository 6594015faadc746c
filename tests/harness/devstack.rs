//! `devstack`: the local stack's helper, used by `make dev`.
//!
//!   devstack setup   create the table (as template.yaml declares it) and the SES sender identity
//!                    on the emulator named by AWS_ENDPOINT_URL; TABLE_NAME and SES_SENDER name them
//!   devstack env     print a fresh CODE_PEPPER, SIGNING_KEY and SIGNING_KEY_ID for a local env file
//!   devstack sms     print the SMS the emulator captured, newest last

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use e2e::stack::{TableSpec, create_email_identity, create_table, template_path};
use registration::security::random;
use registration::security::tokens::SigningKey;

const USAGE: &str = "usage: devstack setup | env | sms\n\
  setup  create the table and SES sender on the emulator at AWS_ENDPOINT_URL (TABLE_NAME, SES_SENDER)\n\
  env    print fresh local secrets (CODE_PEPPER, SIGNING_KEY, SIGNING_KEY_ID) as KEY=VALUE lines\n\
  sms    print the SMS the emulator captured";

#[tokio::main]
async fn main() {
    let command = std::env::args().nth(1).unwrap_or_default();
    let result = match command.as_str() {
        "setup" => setup().await,
        "env" => {
            print_env();
            Ok(())
        }
        "sms" => sms().await,
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

fn print_env() {
    println!("CODE_PEPPER={}", STANDARD.encode(random::bytes::<32>()));
    println!("SIGNING_KEY={}", STANDARD.encode(SigningKey::generate_pkcs8()));
    println!("SIGNING_KEY_ID=dev-{}", &random::id()[..8]);
}

async fn sms() -> Result<(), String> {
    let endpoint = var("AWS_ENDPOINT_URL")?;
    let data: serde_json::Value = reqwest::get(format!("{endpoint}/moto-api/data.json"))
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
