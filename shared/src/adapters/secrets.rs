//! The code pepper, read from Secrets Manager once per cold start by the functions that seal or
//! check codes, and by no other. It is never in an environment variable, a template parameter or a log.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;
use zeroize::Zeroizing;

use super::ReadError;
use crate::config::MIN_PEPPER_BYTES;

/// The secret's string, as bytes: the template generates it as random characters.
pub async fn code_pepper(client: &Client, secret_arn: &str) -> Result<Zeroizing<Vec<u8>>, ReadError> {
    let answer = client
        .get_secret_value()
        .secret_id(secret_arn)
        .send()
        .await
        .map_err(|e| ReadError::Unreachable(format!("GetSecretValue {secret_arn}: {}", DisplayErrorContext(&e))))?;
    let pepper = Zeroizing::new(answer.secret_string().unwrap_or_default().as_bytes().to_vec());
    if pepper.len() < MIN_PEPPER_BYTES {
        return Err(ReadError::Unsuitable(format!(
            "the secret {secret_arn} must hold at least {MIN_PEPPER_BYTES} characters"
        )));
    }
    Ok(pepper)
}
