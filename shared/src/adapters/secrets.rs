//! The code pepper, read from Secrets Manager once per cold start by the functions that seal or
//! check codes, and by no other. It is never in an environment variable, a template parameter or a log.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;
use zeroize::Zeroizing;

use super::ReadError;
use crate::config::MIN_PEPPER_BYTES;
use crate::security::code::Peppers;

/// The secret's string: one pepper (the template generates it as random characters), or the
/// peppers of a rotation under way (`Peppers::from_secret`).
pub async fn code_pepper(client: &Client, secret_arn: &str) -> Result<Peppers, ReadError> {
    let text = secret_string(client, secret_arn).await?;
    Peppers::from_secret(&text, MIN_PEPPER_BYTES)
        .map_err(|why| ReadError::Unsuitable(format!("the secret {secret_arn}: {why}")))
}

/// The secret's current string (AWSCURRENT).
pub async fn secret_string(client: &Client, secret_arn: &str) -> Result<Zeroizing<String>, ReadError> {
    let answer = client
        .get_secret_value()
        .secret_id(secret_arn)
        .send()
        .await
        .map_err(|e| ReadError::Unreachable(format!("GetSecretValue {secret_arn}: {}", DisplayErrorContext(&e))))?;
    Ok(Zeroizing::new(answer.secret_string().unwrap_or_default().to_owned()))
}

/// Makes `value` the secret's current string: what `keys pepper-*` writes, never a function.
pub async fn put_secret_string(client: &Client, secret_arn: &str, value: &str) -> Result<(), ReadError> {
    client
        .put_secret_value()
        .secret_id(secret_arn)
        .secret_string(value)
        .send()
        .await
        .map_err(|e| ReadError::Unreachable(format!("PutSecretValue {secret_arn}: {}", DisplayErrorContext(&e))))?;
    Ok(())
}
